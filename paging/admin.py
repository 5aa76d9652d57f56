import smtplib

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from accounts import access
from accounts.admin import UserAdmin
from accounts.admin_access import (
    PersonalAdmin,
    TeamOwnedAdmin,
    TeamOwnedInline,
    may_use_admin,
)
from accounts.models import User
from accounts.people import may_act, unpageable_reason
from escalation.admin import EscalationPolicyAdmin
from escalation.models import EscalationPolicy
from oncall.limits import Limited
from paging.actions import (
    REFUSALS,
    incident_acknowledge,
    incident_actions_allowed,
    incident_escalate_now,
    incident_resolve,
)
from paging.admin_incident import (
    detail_rows,
    level_words,
    notification_rows,
    page_links,
    state_words,
)
from paging.engine import maintenance_changed, person_test_page
from paging.models import (
    EXHAUSTED,
    ContactMethod,
    HandoffNotice,
    Incident,
    IncidentStatus,
    Integration,
    MaintenanceWindow,
    Notification,
    NotificationRule,
    Service,
)
from paging.notify.channels import DeliveryError
from paging.notify.verification import (
    contact_method_mark_verified,
    contact_method_verification_send,
)
from paging.rules import rules_sentence, rules_sentences


class IntegrationInline(TeamOwnedInline, admin.TabularInline):
    model = Integration
    secret = True
    extra = 0
    fields = ("name", "kind", "enabled", "url")
    readonly_fields = ("url",)
    show_change_link = True


@admin.register(Integration)
class IntegrationAdmin(TeamOwnedAdmin):
    """Integrations: only the owning team's managers see them (their URLs page people)."""

    secret = True
    parent_fields = ("service",)
    list_display = ("name", "service", "kind", "enabled", "last_ping_at")
    list_filter = ("kind", "enabled")
    list_select_related = ("service",)
    search_fields = ("name", "service__name")
    readonly_fields = ("url", "routing_key", "last_ping_at", "created_at")
    fieldsets = [
        (None, {"fields": ["service", "name", "kind", "url", "routing_key"]}),
        ("State", {"fields": ["enabled", "disabled_reason", "created_at"]}),
        ("Alertmanager and Grafana", {"fields": ["grouping"]}),
        (
            "Grafana signature (optional)",
            {
                "fields": [
                    "signing_secret",
                    "signing_header",
                    "signing_timestamp_header",
                    "signing_timestamp_required",
                ]
            },
        ),
        ("Heartbeat", {"fields": ["heartbeat_interval", "heartbeat_grace", "last_ping_at"]}),
    ]
    actions = ["rotate_keys"]

    @admin.display(description="Webhook URL")
    def url(self, integration: Integration) -> str:
        return integration.url if integration.pk else "(shown once saved)"

    @admin.display(description="Routing key (PagerDuty Events v2)")
    def routing_key(self, integration: Integration) -> str:
        return integration.key if integration.kind == "pagerduty_v2" else "-"

    @admin.action(description="Rotate keys of selected integrations (old URLs stop working)")
    def rotate_keys(self, request, queryset) -> None:
        for integration in queryset:
            integration.rotate_key()
        self.message_user(
            request,
            f"{len(queryset)} key(s) rotated; paste the new URLs into the monitoring tools.",
            messages.WARNING,
        )


class MaintenanceInline(TeamOwnedInline, admin.TabularInline):
    model = MaintenanceWindow
    extra = 0
    fields = ("starts_at", "ends_at", "reason", "created_by")
    readonly_fields = ("created_by",)
    verbose_name_plural = "maintenance windows (incidents are recorded, nobody is paged)"


@admin.register(Service)
class ServiceAdmin(TeamOwnedAdmin):
    list_display = ("name", "team", "escalation_policy", "ack_timeout", "auto_resolve_after")
    list_select_related = ("team", "escalation_policy")
    search_fields = ("name",)
    fieldsets = [
        (None, {"fields": ["name", "team", "description", "escalation_policy", "urgency"]}),
        ("Timers", {"fields": ["ack_timeout", "auto_resolve_after"]}),
        ("Alert storms", {"fields": ["storm_cap", "storm_window"]}),
    ]
    inlines = [IntegrationInline, MaintenanceInline]

    def save_formset(self, request, form, formset, change) -> None:
        for obj in formset.save(commit=False):
            if isinstance(obj, MaintenanceWindow) and obj.created_by_id is None:
                obj.created_by = request.user
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()
        if formset.model is MaintenanceWindow and formset.has_changed():
            maintenance_changed(service_id=form.instance.pk)


class TestPageForm(forms.Form):
    person = forms.ModelChoiceField(
        queryset=User.objects.none(),
        help_text="Paged through their own notification rules (or the site default).",
    )

    def __init__(self, *args, viewer: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        people = access.manageable_people(viewer).filter(may_act(), contact_methods__isnull=False)
        self.fields["person"].queryset = people.distinct().order_by("username")


admin.site.unregister(EscalationPolicy)


@admin.register(EscalationPolicy)
class PolicyAdmin(EscalationPolicyAdmin):
    """The policy admin, with a test page (paging sits above escalation, so it adds that)."""

    actions = ["test_page"]

    @admin.action(description="Send a test page to a person…")
    def test_page(self, request, queryset):
        form = TestPageForm(request.POST if "person" in request.POST else None, viewer=request.user)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Send a test page",
                "form": form,
                "queryset": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/paging/test_page.html", context)
        person = form.cleaned_data["person"]
        incident = person_test_page(user=person, by=request.user)
        if incident is None:
            self.message_user(request, f"{person} has no verified contact methods.", messages.ERROR)
            return None
        self.message_user(
            request, f"Test page sent to {person} as incident #{incident.pk}.", messages.SUCCESS
        )
        return None


class IncidentStateFilter(admin.SimpleListFilter):
    """Filter by state, telling exhausted escalation apart from incidents still escalating."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("escalating", "Triggered, escalating"),
            ("exhausted", "Exhausted: nobody acknowledged"),
            ("acknowledged", "Acknowledged"),
            ("resolved", "Resolved"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "exhausted":
                return queryset.filter(EXHAUSTED)
            case "escalating":
                return queryset.filter(status=IncidentStatus.TRIGGERED).exclude(EXHAUSTED)
            case "acknowledged" | "resolved":
                return queryset.filter(status=self.value())
        return queryset


# The page's buttons: the action each calls (the API's own) and the word its message uses.
INCIDENT_ACTIONS = {
    "acknowledge": (incident_acknowledge, "acknowledged"),
    "resolve": (incident_resolve, "resolved"),
    "escalate": (incident_escalate_now, "escalated"),
}


@admin.register(Incident)
class IncidentAdmin(TeamOwnedAdmin):
    """Incidents, read-only but for the buttons that acknowledge, resolve and escalate them.

    Who may press them is access.may_act's answer: its team's responders and managers, and
    anyone it paged.
    """

    list_display = (
        "id",
        "state",
        "summary",
        "service",
        "current_level",
        "severity",
        "created_at",
        "escalation_due_at",
        "alert_count",
    )
    list_filter = (IncidentStateFilter, "severity", "service")
    list_select_related = ("service",)
    search_fields = ("summary", "dedup_key")
    readonly_fields = ["current_level", *(f.name for f in Incident._meta.fields)]
    fieldsets = [
        (None, {"fields": ["service", "severity", "urgency", "dedup_key"]}),
        ("Alerts", {"fields": ["created_at", "last_alert_at", "alert_count"]}),
        (
            "Acknowledged and resolved",
            {
                "fields": [
                    "acknowledged_at",
                    "acknowledged_by",
                    "acknowledged_via",
                    "resolved_at",
                    "resolved_by",
                    "resolved_via",
                ]
            },
        ),
    ]
    actions = ["acknowledge", "resolve", "escalate"]

    class Media:
        css = {"all": ["paging/admin/incident.css"]}

    def get_queryset(self, request):
        levels = Count("service__escalation_policy__tiers", distinct=True)
        return super().get_queryset(request).annotate(level_count=levels)

    def has_delete_permission(self, request, obj=None) -> bool:
        """Refuse: an incident is the record of who was paged and who answered; resolve it."""
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        """Return whether the viewer may act on `obj` (the page's only change: its buttons)."""
        if obj is None:
            return may_use_admin(request.user)
        return access.may_act(request.user, obj)

    def _actionable(self, request, queryset) -> list[Incident]:
        """Return the selected incidents the viewer may act on; say how many were left alone."""
        allowed = [i for i in queryset if access.may_act(request.user, i)]
        refused = len(queryset) - len(allowed)
        if refused:
            message = f"{refused} incident(s) left alone: you may not act on them."
            self.message_user(request, message, messages.ERROR)
        return allowed

    @admin.display(description="state", ordering="status")
    def state(self, incident: Incident) -> str:
        return state_words(incident)

    @admin.display(description="current level")
    def current_level(self, incident: Incident) -> str:
        return level_words(incident, incident.level_count)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Show the incident with its buttons; a POST runs the button pressed, never a save."""
        incident = self.get_object(request, object_id)
        if incident is None:
            return super().change_view(request, object_id, form_url, extra_context)
        if request.method == "POST":
            return self._press(request, incident)
        context = {**self._page_context(request, incident), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    def _page_context(self, request, incident: Incident) -> dict:
        may_act = self.has_change_permission(request, incident)
        return {
            "title": f"Incident #{incident.pk}",
            "subtitle": None,
            "incident": incident,
            "incident_state": state_words(incident),
            "incident_level": level_words(incident, incident.level_count),
            "incident_actions": incident_actions_allowed(incident) if may_act else (),
            "timeline": incident.timeline.select_related("actor"),
            "notifications": notification_rows(incident),
            "details": detail_rows(incident.details),
            "links": page_links(incident.links),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }

    def _press(self, request, incident: Incident) -> HttpResponseRedirect:
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        pressed = INCIDENT_ACTIONS.get(request.POST.get("_incident_action", ""))
        if pressed is None:
            message = "Incidents are read-only here: use Acknowledge, Resolve or Escalate."
            self.message_user(request, message, messages.WARNING)
        else:
            self._run(request, incident, *pressed)
        return HttpResponseRedirect(request.path)

    def _run(self, request, incident: Incident, action, done: str) -> None:
        what = request.POST["_incident_action"]
        try:
            changed = action(incident=incident, by=request.user, via="admin")
        except Limited as error:
            self.message_user(request, f"Not {done}: {_too_soon(error, incident)}", messages.ERROR)
            return
        if changed:
            self.message_user(request, f"#{incident.pk} {done}.", messages.SUCCESS)
        else:
            refusal = REFUSALS[what].format(status=incident.status)
            self.message_user(request, f"Not {done}: the {refusal}", messages.ERROR)

    @admin.action(description="Escalate selected incidents (page the next level now)")
    def escalate(self, request, queryset) -> None:
        self._run_all(request, queryset, *INCIDENT_ACTIONS["escalate"])

    @admin.action(description="Acknowledge selected incidents")
    def acknowledge(self, request, queryset) -> None:
        self._run_all(request, queryset, *INCIDENT_ACTIONS["acknowledge"])

    @admin.action(description="Resolve selected incidents")
    def resolve(self, request, queryset) -> None:
        self._run_all(request, queryset, *INCIDENT_ACTIONS["resolve"])

    def _run_all(self, request, queryset, action, done: str) -> None:
        """Run a list action on the selected incidents the viewer may act on; say how many."""
        count = 0
        for incident in self._actionable(request, queryset):
            try:
                count += action(incident=incident, by=request.user, via="admin")
            except Limited as error:
                message = f"#{incident.pk} not {done}: {_too_soon(error, incident)}"
                self.message_user(request, message, messages.ERROR)
        self.message_user(request, f"{count} incident(s) {done}.", messages.SUCCESS)


def _too_soon(error: Limited, incident: Incident) -> str:
    """Word a refused escalation after "Not escalated: ": "it was escalated by hand less ..."."""
    return "it was " + str(error).removeprefix(f"#{incident.pk} was ")


# --- Contact methods and delivery (channels) -----------------------------------------------------


@admin.register(ContactMethod)
class ContactMethodAdmin(PersonalAdmin):
    list_display = ("user", "name", "kind", "address", "verified", "sms_stopped_at")
    list_select_related = ("user",)
    list_filter = ("kind", "verified")
    search_fields = ("address", "user__username", "user__first_name", "user__last_name")
    readonly_fields = ("verified_at", "sms_stopped_at", "verify_sent_at")
    actions = ["mark_verified", "send_verification"]

    def save_model(self, request, obj, form, change) -> None:
        """Save; a new unverified method gets its verification code at once."""
        super().save_model(request, obj, form, change)
        if obj.verified and obj.verified_at is None:
            contact_method_mark_verified(method=obj)
        elif not change and not obj.verified:
            self._send(request, obj)

    def _send(self, request, method: ContactMethod) -> bool:
        try:
            contact_method_verification_send(method=method)
        except (Limited, DeliveryError, OSError, smtplib.SMTPException) as exc:
            self.message_user(request, f"{method}: code not sent: {exc}", messages.ERROR)
            return False
        return True

    @admin.action(description="Mark selected contact methods verified")
    def mark_verified(self, request, queryset) -> None:
        for method in queryset:
            contact_method_mark_verified(method=method)
        self.message_user(request, f"{len(queryset)} contact method(s) verified.", messages.SUCCESS)

    @admin.action(description="Send a verification code to selected contact methods")
    def send_verification(self, request, queryset) -> None:
        sent = sum(self._send(request, m) for m in queryset.filter(verified=False))
        self.message_user(request, f"{sent} verification code(s) sent.", messages.SUCCESS)


@admin.register(NotificationRule)
class NotificationRuleAdmin(PersonalAdmin):
    list_display = ("user", "contact_method", "delay", "person_paged")
    list_select_related = ("user", "contact_method__user")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "contact_method":  # addresses: only of the people they manage
            people = access.manageable_people(request.user)
            kwargs["queryset"] = ContactMethod.objects.filter(user__in=people)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changelist_instance(self, request):
        """Word every listed person's rules from one read of them (not a read per row)."""
        changelist = super().get_changelist_instance(request)
        people = list({rule.user_id: rule.user for rule in changelist.result_list}.values())
        sentences = rules_sentences(people)
        for rule in changelist.result_list:
            rule.paged_sentence = sentences[rule.user_id]
        return changelist

    @admin.display(description="how this person is paged")
    def person_paged(self, rule: NotificationRule) -> str:
        return getattr(rule, "paged_sentence", None) or rules_sentence(rule.user)


admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    """People, with how each is paged and a test page (paging sits above accounts: added here)."""

    actions = ["test_page"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets  # the add form: no rules yet
        return (*fieldsets, ("Paging", {"fields": ("paged_as",)}))

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "paged_as")

    @admin.display(description="Notification rules")
    def paged_as(self, person: User) -> str:
        return rules_sentence(person)

    @admin.action(description="Send a test page to selected people")
    def test_page(self, request, queryset) -> None:
        for person in queryset:
            self._test_page(request, person)

    def _test_page(self, request, person: User) -> None:
        """Page `person` with a test page and say what was sent, or why nothing was."""
        why = unpageable_reason(person)
        incident = None if why else person_test_page(user=person, by=request.user)
        if incident is None:
            why = why or "no verified contact methods"
            self.message_user(request, f"Not sent to {person}: {why}.", messages.ERROR)
            return
        self.message_user(
            request,
            f"Test page sent to {person} as incident #{incident.pk}: {rules_sentence(person)}.",
            messages.SUCCESS,
        )


@admin.register(Notification)
class NotificationAdmin(PersonalAdmin):
    """Messages sent: each holds an address, so only who manages its person sees it."""

    list_display = (
        "id",
        "incident",
        "user",
        "kind",
        "status",
        "provider_status",
        "due_at",
        "sent_at",
        "provider_id",
    )
    list_filter = ("status", "kind")
    list_select_related = ("incident", "user")
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return access.is_site_admin(request.user)


class NoticeMessageInline(admin.TabularInline):
    """A handoff notice's messages, where each is now (retries and sweeps update them)."""

    model = Notification
    fk_name = "handoff"
    fields = ("kind", "address", "status", "provider_status", "sent_at", "provider_id", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "messages"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return may_use_admin(request.user)  # the notice's page decided who sees it

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(HandoffNotice)
class HandoffNoticeAdmin(PersonalAdmin):
    """What was sent to whom at the start of each shift (schedules with handoff notices on).

    A notice lists its person's addresses: only who manages that person sees it.
    """

    list_display = ("schedule", "user", "shift_start", "shift_end", "status", "created_at")
    list_filter = ("status", "schedule")
    list_select_related = ("schedule", "user")
    readonly_fields = ("schedule", "user", "shift_start", "shift_end", "status", "sent_to")
    inlines = [NoticeMessageInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return access.is_site_admin(request.user)
