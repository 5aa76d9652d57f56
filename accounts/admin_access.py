"""Admin pages of team-owned objects: team roles decide (accounts/access.py), never model perms.

Every model admin and inline of a team-owned model mixes one of these in. Lists hold what the
viewer may read; a page opens read-only unless they may configure the object; the team and
parent choices hold only what they manage; a list filter picks a team.
"""

from django.contrib import admin
from django.db.models import Model

from accounts import access
from accounts.models import Team


def _user(request):
    return request.user


def may_use_admin(user) -> bool:
    """Return whether `user` may open admin at all: active staff and active team managers."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_staff or user.is_superuser or access.manages_any(user)


def may_add_anything(user) -> bool:
    """Return whether `user` may add team-owned objects (a team to put them in)."""
    return access.is_site_admin(user) or access.manages_any(user)


class TeamChoices:
    """Limit foreign keys to teams and team-owned parents to what the viewer may use.

    `team` and the fields in `parent_fields` offer only what they manage (a new object joins
    one of their teams); other team-owned targets offer what they may read.
    """

    parent_fields: tuple[str, ...] = ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        user = _user(request)
        target = db_field.related_model
        if target is Team:
            managed = access.managed_teams(user)
            kwargs["queryset"] = managed
            only = list(managed[:2])
            if len(only) == 1:
                kwargs["initial"] = only[0].pk
        elif access.team_path(target) is not None:
            found = target._default_manager.all()
            if db_field.name in self.parent_fields:
                kwargs["queryset"] = access.configurable(user, found)
            else:
                kwargs["queryset"] = access.readable(user, found)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TeamRoles(TeamChoices):
    """What a model admin and an inline of team-owned rows share: team roles decide.

    `secret`: only those who may configure a row see it at all. Whoever may configure it changes
    and deletes it; with no row, anyone who may add team-owned objects.
    """

    secret = False

    def may_see(self, user, obj: Model) -> bool:
        return access.may_configure(user, obj) if self.secret else access.may_read(user, obj)

    def has_change_permission(self, request, obj: Model | None = None) -> bool:
        if obj is None:
            return may_add_anything(_user(request))
        return access.may_configure(_user(request), obj)

    def has_delete_permission(self, request, obj: Model | None = None) -> bool:
        return self.has_change_permission(request, obj)


class TeamOwnedAdmin(TeamRoles, admin.ModelAdmin):
    """A model admin of a team-owned model.

    `secret`: only the owning team's managers see the rows at all (integrations: their URLs
    page people).
    """

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if self.secret:
            return access.configurable(_user(request), rows)
        return access.readable(_user(request), rows)

    def get_list_filter(self, request):
        team = (access.team_path(self.model), admin.RelatedOnlyFieldListFilter)
        return (*super().get_list_filter(request), team)

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj: Model | None = None) -> bool:
        user = _user(request)
        if obj is None:
            return may_add_anything(user) if self.secret else may_use_admin(user)
        return self.may_see(user, obj)

    def has_add_permission(self, request) -> bool:
        return may_add_anything(_user(request))

    def get_deleted_objects(self, objs, request):
        """Refuse to delete (one or a selection) when any of `objs` is not the viewer's to."""
        deleted, counts, refused, protected = super().get_deleted_objects(objs, request)
        if any(not self.has_delete_permission(request, obj) for obj in objs):
            refused = {*refused, str(self.model._meta.verbose_name)}
        return deleted, counts, refused, protected


class TeamOwnedInline(TeamRoles):
    """An inline of a team-owned parent: whoever may configure the parent edits its rows.

    Mix in before admin.TabularInline. `secret`: only they see the rows at all.
    """

    def has_view_permission(self, request, obj: Model | None = None) -> bool:
        user = _user(request)
        return may_add_anything(user) if obj is None else self.may_see(user, obj)

    def has_add_permission(self, request, obj: Model | None = None) -> bool:
        return self.has_change_permission(request, obj)


class PersonalAdmin(admin.ModelAdmin):
    """A model admin of people's own rows (contact methods, rules, tokens): per person.

    Their own, a site administrator anyone's, a manager those of the people in their teams
    (access.may_manage_person). `person_field` names the row's person.
    """

    person_field = "user"

    def get_queryset(self, request):
        people = access.manageable_people(_user(request))
        return super().get_queryset(request).filter(**{f"{self.person_field}__in": people})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == self.person_field:
            kwargs["queryset"] = access.manageable_people(_user(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _person_of(self, obj: Model):
        return getattr(obj, self.person_field)

    def has_module_permission(self, request) -> bool:
        return may_use_admin(_user(request))

    def has_view_permission(self, request, obj: Model | None = None) -> bool:
        if obj is None:
            return may_use_admin(_user(request))
        return access.may_manage_person(_user(request), self._person_of(obj))

    def has_add_permission(self, request) -> bool:
        return may_use_admin(_user(request))

    def has_change_permission(self, request, obj: Model | None = None) -> bool:
        return self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj: Model | None = None) -> bool:
        return self.has_view_permission(request, obj)


class SiteAdminsOnly:
    """Only site administrators see these pages (sign-in records: names and addresses)."""

    def has_module_permission(self, request) -> bool:
        return access.is_site_admin(_user(request))

    def has_view_permission(self, request, obj: Model | None = None) -> bool:
        return access.is_site_admin(_user(request))

    def has_add_permission(self, request) -> bool:
        return access.is_site_admin(_user(request)) and super().has_add_permission(request)

    def has_change_permission(self, request, obj: Model | None = None) -> bool:
        return access.is_site_admin(_user(request)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj: Model | None = None) -> bool:
        return access.is_site_admin(_user(request)) and super().has_delete_permission(request, obj)


def for_site_admins_only(app_label: str) -> None:
    """Give the registered pages of another app's models to site administrators only."""
    for model, model_admin in list(admin.site._registry.items()):
        if model._meta.app_label == app_label:
            kind = type(model_admin)
            admin.site.unregister(model)
            admin.site.register(model, type(kind.__name__, (SiteAdminsOnly, kind), {}))
