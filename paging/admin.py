from django.contrib import admin, messages

from paging.actions import incident_acknowledge, incident_resolve
from paging.models import (
    ContactMethod,
    HandoffNotice,
    Incident,
    Integration,
    Notification,
    NotificationRule,
    Service,
    TimelineEntry,
)


class IntegrationInline(admin.TabularInline):
    model = Integration
    extra = 0
    fields = ("name", "kind", "enabled", "url")
    readonly_fields = ("url",)
    show_change_link = True


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("name", "service", "kind", "enabled", "last_ping_at")
    list_filter = ("kind", "enabled")
    list_select_related = ("service",)
    search_fields = ("name", "service__name")
    readonly_fields = ("url", "routing_key", "last_ping_at", "created_at")
    fieldsets = [
        (None, {"fields": ["service", "name", "kind", "url", "routing_key"]}),
        ("State", {"fields": ["enabled", "disabled_reason", "created_at"]}),
        ("Alertmanager and Grafana", {"fields": ["grouping"]}),
        ("Grafana signature (optional)", {"fields": ["signing_secret", "signing_header"]}),
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


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "escalation_policy")
    list_select_related = ("escalation_policy",)
    search_fields = ("name",)
    inlines = [IntegrationInline]


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    fields = ("at", "message", "actor")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class NotificationInline(admin.TabularInline):
    model = Notification
    extra = 0
    fields = ("user", "kind", "tier", "loop", "due_at", "status", "body", "provider_id", "error")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("id", "summary", "service", "severity", "status", "alert_count", "created_at")
    list_filter = ("status", "severity", "service")
    list_select_related = ("service",)
    search_fields = ("summary", "dedup_key")
    readonly_fields = [f.name for f in Incident._meta.fields]
    inlines = [TimelineInline, NotificationInline]
    actions = ["acknowledge", "resolve"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Acknowledge selected incidents")
    def acknowledge(self, request, queryset) -> None:
        done = sum(incident_acknowledge(incident=i, by=request.user, via="admin") for i in queryset)
        self.message_user(request, f"{done} incident(s) acknowledged.", messages.SUCCESS)

    @admin.action(description="Resolve selected incidents")
    def resolve(self, request, queryset) -> None:
        done = sum(incident_resolve(incident=i, by=request.user, via="admin") for i in queryset)
        self.message_user(request, f"{done} incident(s) resolved.", messages.SUCCESS)


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "kind", "address")
    list_select_related = ("user",)
    list_filter = ("kind",)


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ("user", "contact_method", "delay")
    list_select_related = ("user", "contact_method__user")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "incident", "user", "kind", "status", "due_at", "sent_at", "provider_id")
    list_filter = ("status", "kind")
    list_select_related = ("incident", "user")
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(HandoffNotice)
class HandoffNoticeAdmin(admin.ModelAdmin):
    """What was sent to whom at the start of each shift (schedules with handoff notices on)."""

    list_display = ("schedule", "user", "shift_start", "shift_end", "status", "created_at")
    list_filter = ("status", "schedule")
    list_select_related = ("schedule", "user")
    readonly_fields = ("schedule", "user", "shift_start", "shift_end", "status", "sent_to")

    def has_add_permission(self, request) -> bool:
        return False
