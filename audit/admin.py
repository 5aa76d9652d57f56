"""The audit log in admin: auditlog's read-only entry pages, narrowed to the viewer's teams."""

from auditlog.admin import LogEntryAdmin
from django.contrib import admin
from django.http import HttpRequest

from audit.api import may_read_entry, may_read_log, visible
from audit.models import AuditEntry

if admin.site.is_registered(AuditEntry):  # auditlog registers its own on import
    admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class AuditEntryAdmin(LogEntryAdmin):
    """Site administrators read every entry, managers their teams'; nobody edits or deletes."""

    list_display = ["created", "resource_url", "action", "msg_short", "user_url", "via", "team"]
    list_select_related = ["content_type", "actor", "team"]
    list_filter = ["action", "via", "team"]
    readonly_fields = [*LogEntryAdmin.readonly_fields, "team", "via", "token_label", "os_user"]
    fieldsets = [
        (None, {"fields": ["created", "user_url", "via", "token_label", "os_user", "team"]}),
        ("Object", {"fields": ["resource_url"]}),
        ("Changes", {"fields": ["action", "msg"]}),
    ]

    def get_queryset(self, request: HttpRequest):
        return visible(request.user, super().get_queryset(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_read_log(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if not self.has_module_permission(request):
            return False
        return obj is None or may_read_entry(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
