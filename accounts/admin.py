from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from accounts.models import ApiToken, User, tokens_revoke
from accounts.roles import PRIVILEGES, may_change_person, may_grant_privileges

# Roles come from staff status and per-person permissions (accounts/roles.py); groups are unused.
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """People; only a superuser changes a superuser or anyone's staff status and permissions."""

    fieldsets = (*BaseUserAdmin.fieldsets, ("On call", {"fields": ("time_zone",)}))
    list_display = ("username", "first_name", "last_name", "email", "time_zone", "is_staff")

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or may_change_person(request.user, obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or may_change_person(request.user, obj))

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if may_grant_privileges(request.user) else (*fields, *PRIVILEGES)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created here and shown once; afterwards only their first characters are.

    A token acts as its owner, so whoever creates one owns it: nobody mints one for someone else.
    """

    list_display = ("name", "user", "hint", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("user",)
    search_fields = ("name", "user__username")
    fields = ("user", "name", "hint", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("hint", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "user")

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.user = request.user
        token, raw = ApiToken.issue(user=obj.user, name=obj.name)
        obj.pk, obj.digest, obj.hint = token.pk, token.digest, token.hint
        # Kept on this in-memory object only, for response_add to show once.
        obj.raw_token = raw

    def response_add(self, request, obj, post_url_continue=None):
        """Show the new token on this response itself: never in messages, session or cookies."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "raw": obj.raw_token,
            "title": "Copy the new API token",
            "changelist_url": reverse("admin:accounts_apitoken_changelist"),
        }
        response = TemplateResponse(request, "admin/accounts/apitoken/issued.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset) -> None:
        done = tokens_revoke(queryset)
        self.message_user(request, f"{done} token(s) revoked.", messages.SUCCESS)
