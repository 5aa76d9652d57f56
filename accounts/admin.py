from importlib import import_module

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from accounts import access
from accounts.admin_access import PersonalAdmin, for_site_admins_only, may_use_admin
from accounts.models import ApiToken, Membership, Role, Team, User, tokens_revoke
from accounts.roles import PRIVILEGES, may_change_person, may_grant_privileges

# Roles come from team memberships (accounts/access.py); groups are unused.
admin.site.unregister(Group)
# Sign-in records (django-axes registers their pages on import): site administrators only.
import_module("axes.admin")
for_site_admins_only("axes")


class MembershipInline(admin.TabularInline):
    """People in a team with their role, or a person's teams: site administrators change them."""

    model = Membership
    extra = 0

    def has_view_permission(self, request, obj=None) -> bool:
        return may_use_admin(request.user)  # the page it is on decided who sees it

    def has_add_permission(self, request, obj=None) -> bool:
        return access.is_site_admin(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return access.is_site_admin(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return access.is_site_admin(request.user)


class TeamMemberInline(MembershipInline):
    autocomplete_fields = ["user"]
    verbose_name_plural = "members (a manager changes the team's configuration)"


class PersonTeamInline(MembershipInline):
    verbose_name_plural = "teams"


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Teams and their members: site administrators manage them; managers see their own."""

    list_display = ("name", "slug", "member_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [TeamMemberInline]

    def get_queryset(self, request):
        # Counted in the list's one query, not one more query per team (member_count).
        rows = super().get_queryset(request).annotate(member_total=Count("memberships"))
        if access.is_site_admin(request.user):
            return rows
        return rows.filter(pk__in=access.teams_where(request.user, Role.MANAGER))

    def has_module_permission(self, request) -> bool:
        return access.is_site_admin(request.user) or access.manages_any(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        if obj is None:
            return self.has_module_permission(request)
        return access.may_configure_team(request.user, obj)

    def has_add_permission(self, request) -> bool:
        return access.is_site_admin(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return access.is_site_admin(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return access.is_site_admin(request.user)

    @admin.display(description="members")
    def member_count(self, team: Team) -> int:
        return team.member_total


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """People: who manages a person (access.may_manage_person) sees and changes their details.

    Only a site administrator adds, deletes or deactivates people, changes a password other
    than their own, puts people in teams, or changes staff status and permissions; only a
    superuser changes a superuser (accounts/roles.py).
    """

    fieldsets = (*BaseUserAdmin.fieldsets, ("On call", {"fields": ("time_zone",)}))
    list_display = ("username", "first_name", "last_name", "email", "time_zone", "is_staff")

    def get_queryset(self, request):
        people = access.manageable_people(request.user)
        return super().get_queryset(request).filter(pk__in=people.values("pk"))

    def has_module_permission(self, request) -> bool:
        return may_use_admin(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        if obj is None:
            return may_use_admin(request.user)
        return access.may_manage_person(request.user, obj)

    def has_add_permission(self, request) -> bool:
        return access.is_site_admin(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is None:
            return may_use_admin(request.user)
        return self.has_view_permission(request, obj) and may_change_person(request.user, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = access.is_site_admin(request.user)
        return allowed and (obj is None or may_change_person(request.user, obj))

    def user_change_password(self, request, id, form_url=""):
        """Change a password: one's own, or anyone's as a site administrator."""
        if not (access.is_site_admin(request.user) or str(request.user.pk) == id):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not may_grant_privileges(request.user):
            fields = (*fields, *PRIVILEGES)
        if not access.is_site_admin(request.user):
            fields = (*fields, "is_active", "team_roles")
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or access.is_site_admin(request.user):
            return fieldsets  # site administrators edit the teams below
        return (*fieldsets, ("Teams", {"fields": ("team_roles",)}))

    def get_inlines(self, request, obj):
        return [PersonTeamInline] if obj is not None and access.is_site_admin(request.user) else []

    @admin.display(description="teams and roles")
    def team_roles(self, person: User) -> str:
        rows = person.memberships.select_related("team")
        return "; ".join(f"{m.team} ({m.role})" for m in rows) or "in no team"


@admin.register(ApiToken)
class ApiTokenAdmin(PersonalAdmin):
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
