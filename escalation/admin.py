"""Admin for escalation policies: levels inline, each with its people, schedules and timeout."""

import datetime as dt

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import ValidationError

from escalation.models import EscalationPolicy, Tier
from oncall.durations import DurationFormField


class TierForm(forms.ModelForm):
    """A level's targets, and its acknowledgement timeout (`5m`; a bare number is minutes)."""

    # A bare number stays minutes, as this field read before durations were written `5m`.
    ack_timeout = DurationFormField(
        label="Acknowledge within",
        bare_unit=60,
        initial=dt.timedelta(minutes=5),
        help_text="Without an acknowledgement by then, the next level is paged "
        "(e.g. 30s, 5m, 1h30m; a bare number is minutes).",
    )

    class Meta:
        model = Tier
        fields = ["position", "ack_timeout", "users", "schedules"]
        labels = {"position": "Order"}

    def clean_ack_timeout(self) -> dt.timedelta:
        timeout = self.cleaned_data["ack_timeout"]
        if timeout < dt.timedelta(seconds=1):
            raise ValidationError("The timeout must be more than 0 (at least 1 second).")
        return timeout

    def clean(self) -> dict:
        data = super().clean()
        if data.get("DELETE"):
            return data
        if not data.get("users") and not data.get("schedules"):
            raise ValidationError("Each level needs someone to page: add a person or a schedule.")
        return data


class TierFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept:
            raise ValidationError("A policy needs at least one level.")

    def save(self, commit: bool = True) -> list[Tier]:
        saved = super().save(commit)
        if commit:
            _renumber(self.instance)
        return saved


def _renumber(policy: EscalationPolicy) -> None:
    """Number the levels 0, 1, 2 … in their order, so they read as Level 1, 2, 3 …."""
    for position, tier in enumerate(policy.tiers.order_by("position", "id")):
        if tier.position != position:
            Tier.objects.filter(pk=tier.pk).update(position=position)


class TierInline(admin.StackedInline):
    model = Tier
    form = TierForm
    formset = TierFormSet
    extra = 0
    min_num = 1
    verbose_name = "level"

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        """Edit the targets as plain many-to-many fields, with the admin's two-box widget.

        The admin hides fields with explicit link models (escalation/models.py has them only to
        PROTECT the targets; they hold nothing else) and refuses filter_horizontal for them.
        """
        kwargs.setdefault("widget", FilteredSelectMultiple(db_field.verbose_name, False))
        return db_field.formfield(**kwargs)

    verbose_name_plural = "levels (Level 1 is paged first; order them with the Order field)"


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "levels", "repeat")
    search_fields = ("name",)
    inlines = [TierInline]

    @admin.display(description="levels")
    def levels(self, policy: EscalationPolicy) -> int:
        return policy.tiers.count()
