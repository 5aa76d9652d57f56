"""Admin for escalation policies: levels inline, one row each with people, schedules, teams and
timeout."""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count

from accounts.admin_access import TeamOwnedAdmin, TeamOwnedInline
from accounts.models import Team
from escalation.checks import policy_warnings
from escalation.models import EscalationPolicy, TeamMode, Tier, tier_set_teams
from oncall.durations import DurationFormField

# Where a level without a number goes: after every numbered one (then renumbered 1, 2, 3 …).
LAST = 32767
# The level form's team fields and the mode each one pages its teams in.
TEAM_FIELDS = {"teams_all": TeamMode.ALL, "teams_round_robin": TeamMode.ROUND_ROBIN}


class TierForm(forms.ModelForm):
    """A level's number, targets, and acknowledgement timeout (`5m`; a bare number is minutes)."""

    # Shown and read 1-based, as "Level 1" reads everywhere; stored 0-based.
    position = forms.IntegerField(
        label="Level",
        min_value=1,
        max_value=LAST,
        required=False,
        help_text="Level 1 is paged first; change the numbers to reorder (blank: last).",
        widget=forms.NumberInput(attrs={"class": "level-number"}),
    )
    # A bare number stays minutes, as this field read before durations were written `5m`.
    ack_timeout = DurationFormField(
        label="Acknowledge within",
        bare_unit=60,
        initial=dt.timedelta(minutes=5),
        help_text="Without an acknowledgement by then, the next level is paged "
        "(e.g. 30s, 5m, 1h30m; a bare number is minutes).",
    )

    # A level's team targets, one list per mode (each link keeps its own round-robin pointer).
    teams_all = forms.ModelMultipleChoiceField(
        Team.objects.all(),
        required=False,
        label="Teams: all responders",
        help_text="Every responder and manager of these teams is paged.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    teams_round_robin = forms.ModelMultipleChoiceField(
        Team.objects.all(),
        required=False,
        label="Teams: round-robin",
        help_text="The next responder of each of these teams, in turn, each time the level fires.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )

    class Meta:
        model = Tier
        fields = ["position", "ack_timeout", "users", "schedules"]
        labels = {"users": "People", "schedules": "Schedules"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["position"] = self.instance.position + 1
            links = list(self.instance.team_links.all())
            for field, mode in TEAM_FIELDS.items():
                self.initial[field] = [link.team_id for link in links if link.mode == mode]

    def clean_ack_timeout(self) -> dt.timedelta:
        timeout = self.cleaned_data["ack_timeout"]
        if timeout < dt.timedelta(seconds=1):
            raise ValidationError("The timeout must be more than 0 (at least 1 second).")
        return timeout

    def clean(self) -> dict:
        data = super().clean()
        if data.get("DELETE"):
            return data
        teams = [*data.get("teams_all", []), *data.get("teams_round_robin", [])]
        if not data.get("users") and not data.get("schedules") and not teams:
            raise ValidationError(
                "Each level needs someone to page: add a person, a schedule or a team."
            )
        if both := set(data.get("teams_all", [])) & set(data.get("teams_round_robin", [])):
            names = ", ".join(sorted(str(team) for team in both))
            self.add_error(
                "teams_round_robin", f"A team is paged one way per level: {names} is in both lists."
            )
        return data

    def _save_m2m(self) -> None:
        super()._save_m2m()
        teams = [
            (team.pk, mode)
            for field, mode in TEAM_FIELDS.items()
            for team in self.cleaned_data.get(field, [])
        ]
        tier_set_teams(self.instance, teams)

    def save(self, commit: bool = True) -> Tier:
        number = self.cleaned_data.get("position")
        self.instance.position = LAST if number is None else number - 1
        return super().save(commit)


class TierFormSet(forms.BaseInlineFormSet):
    def get_form_kwargs(self, index: int | None) -> dict:
        """Number each new row after the saved levels, so a row left as it came is skipped."""
        kwargs = super().get_form_kwargs(index)
        if index is not None and index >= self.initial_form_count():
            kwargs["initial"] = {"position": index + 1}
        return kwargs

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


class TierInline(TeamOwnedInline, admin.TabularInline):
    """One compact row per level: number, timeout, and short lists of people and schedules."""

    model = Tier
    form = TierForm
    formset = TierFormSet
    extra = 0
    min_num = 1
    verbose_name_plural = "levels (Level 1 is paged first)"

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        """Edit the targets as plain many-to-many fields, in a short multi-select.

        The admin hides fields with explicit link models (escalation/models.py has them only to
        PROTECT the targets; they hold nothing else) and refuses filter_horizontal for them.
        """
        kwargs.setdefault("widget", forms.SelectMultiple(attrs={"size": 4}))
        return db_field.formfield(**kwargs)


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(TeamOwnedAdmin):
    list_display = ("name", "team", "levels", "repeat")
    list_select_related = ("team",)
    search_fields = ("name",)
    inlines = [TierInline]

    def save_related(self, request, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        for warning in policy_warnings(form.instance):
            self.message_user(request, warning, messages.WARNING)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(level_count=Count("tiers"))

    @admin.display(description="levels")
    def levels(self, policy: EscalationPolicy) -> int:
        return policy.level_count  # counted in the list's one query, not one per row
