"""The audit log in admin: auditlog's read-only entry pages, narrowed to the viewer's teams."""

from auditlog.admin import LogEntryAdmin
from django.contrib import admin
from django.http import HttpRequest

from accounts import access
from audit.api import visible
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
        return access.is_site_admin(request.user) or access.manages_any(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if not self.has_module_permission(request):
            return False
        return obj is None or visible(request.user, AuditEntry.objects.filter(pk=obj.pk)).exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
