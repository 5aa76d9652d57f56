"""Who may see, change and act on what: the one place that decides, for every face.

Admin, the API, `oncall apply`, SMS/call/e-mail actions and the responder app all ask here.

- Site administrators (active superusers) may do everything.
- Objects that belong to a team say how to reach it: a model's `team_path` is the lookup from
  the model to its team ("team" on a service, "service__team" on an integration or incident).
- Reading: the owning team's members. Where `TEAMS_OPEN_READ` is on (the default), everyone
  signed in also reads the kinds whose model sets `open_read = True` (incidents and schedules,
  as incident work is often cross-team), never integrations or anyone's contact details.
- Changing configuration: the owning team's managers.
- Acting on an incident: its team's responders and managers, and anyone it paged.
- Overrides: a team's responders cover shifts for themselves; managers for anyone.

A deactivated person may do nothing at all. Roles are read once per person and request (they
are kept on the user object), so checking a list of rows costs no query per row.
"""

from collections.abc import Iterable

from django.conf import settings
from django.db.models import Model, Q, QuerySet

from accounts.models import AT_LEAST, Membership, Role, Team, User, default_team_id


def is_site_admin(user: User) -> bool:
    """Return whether `user` is an active superuser: they manage teams and everything else."""
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def _signed_in(user: User | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def team_roles(user: User) -> dict[int, str]:
    """Return {team id: role} for every team `user` is in (read once per user object)."""
    if not _signed_in(user):
        return {}
    cached = getattr(user, "_team_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("team_id", "role"))
        user._team_roles = cached
    return cached


def forget_roles(user: User) -> None:
    """Drop the roles read for `user` (after their memberships changed)."""
    user.__dict__.pop("_team_roles", None)


def teams_where(user: User, at_least: str) -> set[int]:
    """Return the ids of the teams where `user` holds `at_least` or a higher role."""
    wanted = AT_LEAST[Role(at_least)]
    return {team for team, role in team_roles(user).items() if role in wanted}


def role_in(user: User, team_id: int | None) -> str | None:
    """Return `user`'s role in the team, or None when they are not in it."""
    return team_roles(user).get(team_id) if team_id is not None else None


def holds_role(user: User, team_id: int | None, at_least: str) -> bool:
    """Return whether `user` holds `at_least` (or higher) in the team."""
    return role_in(user, team_id) in AT_LEAST[Role(at_least)]


def manages_any(user: User) -> bool:
    """Return whether `user` manages at least one team (they may use admin for it)."""
    return bool(teams_where(user, Role.MANAGER))


# --- What a model belongs to ------------------------------------------------------------------


def team_path(model: type[Model]) -> str | None:
    """Return the lookup from `model` to its owning team, or None when no team owns it."""
    return getattr(model, "team_path", None)


def team_id_of(obj: Model) -> int | None:
    """Return the id of the team that owns `obj` (following its model's `team_path`)."""
    path = team_path(type(obj))
    return None if path is None else team_id_along(obj, path)


def team_id_along(obj: Model, path: str) -> int | None:
    """Return the id of the team that the lookup `path` ("tier__policy__team") reaches."""
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


def open_read(model: type[Model]) -> bool:
    """Return whether everyone signed in may read `model`'s rows of every team."""
    return getattr(model, "open_read", False) and settings.TEAMS_OPEN_READ


# --- Reading ----------------------------------------------------------------------------------


def may_read(user: User, obj: Model) -> bool:
    """Return whether `user` may see `obj` (an object some team owns)."""
    if not _signed_in(user):
        return False
    if is_site_admin(user) or open_read(type(obj)):
        return True
    return holds_role(user, team_id_of(obj), Role.OBSERVER) or _was_paged(user, obj)


def readable(user: User, queryset: QuerySet) -> QuerySet:
    """Return the rows of `queryset` that `user` may see (one query, whatever the length)."""
    model = queryset.model
    if not _signed_in(user):
        return queryset.none()
    if is_site_admin(user) or open_read(model):
        return queryset
    path = team_path(model)
    if path is None:
        return queryset
    seen = Q(**{f"{path}__in": teams_where(user, Role.OBSERVER)})
    paged = getattr(model, "paged_lookup", None)
    if paged:
        seen |= Q(**{paged: user.pk})
    return queryset.filter(seen).distinct() if paged else queryset.filter(seen)


def _was_paged(user: User, obj: Model) -> bool:
    was_paged = getattr(obj, "was_paged", None)
    return bool(was_paged and was_paged(user))


# --- Changing configuration -------------------------------------------------------------------


def may_configure(user: User, obj: Model) -> bool:
    """Return whether `user` may change or delete `obj` (its team's managers; site admins)."""
    return may_configure_team(user, team_id_of(obj))


def may_configure_team(user: User, team: Team | int | None) -> bool:
    """Return whether `user` may add or change objects of `team`."""
    if is_site_admin(user):
        return True
    team_id = team.pk if isinstance(team, Team) else team
    return _signed_in(user) and holds_role(user, team_id, Role.MANAGER)


def configurable(user: User, queryset: QuerySet) -> QuerySet:
    """Return the rows of `queryset` that `user` may change."""
    if is_site_admin(user):
        return queryset
    path = team_path(queryset.model)
    if not _signed_in(user) or path is None:
        return queryset.none()
    return queryset.filter(**{f"{path}__in": teams_where(user, Role.MANAGER)})


def managed_teams(user: User) -> QuerySet:
    """Return the teams whose objects `user` may add and change."""
    if is_site_admin(user):
        return Team.objects.all()
    return Team.objects.filter(pk__in=teams_where(user, Role.MANAGER))


def team_for_new(user: User, team: Team | None) -> Team:
    """Return the team a new object of `user`'s joins, or raise PermissionError saying why.

    Named: it must be one they manage. Not named: the one team they manage, or (for a site
    administrator, or a manager of it) the Default team, so scripts written before teams work.
    """
    if team is not None:
        if may_configure_team(user, team):
            return team
        raise PermissionError(f"you are not a manager of {team.name}")
    managed = list(managed_teams(user)[:2])
    if len(managed) == 1:
        return managed[0]
    default = Team.objects.get(pk=default_team_id())
    if may_configure_team(user, default):
        return default
    if not managed:
        raise PermissionError("you are not a manager of any team")
    raise PermissionError("name the team: you manage more than one")


# --- Acting on incidents and shifts -----------------------------------------------------------


def may_act(user: User, incident: Model) -> bool:
    """Return whether `user` may acknowledge, resolve or escalate `incident`.

    Its team's responders and managers, and anyone it paged: a person paged through another
    team's policy can always act on what paged them.
    """
    if not _signed_in(user):
        return False
    if is_site_admin(user) or holds_role(user, team_id_of(incident), Role.RESPONDER):
        return True
    return _was_paged(user, incident)


def may_cover(user: User, schedule: Model, for_user: User | None) -> bool:
    """Return whether `user` may put `for_user` on call in `schedule` (an override).

    A team's responders cover for themselves; its managers for anyone; site admins anywhere.
    """
    if may_configure(user, schedule):
        return True
    return (
        _signed_in(user)
        and for_user is not None
        and for_user.pk == user.pk
        and holds_role(user, team_id_of(schedule), Role.RESPONDER)
    )


def may_uncover(user: User, schedule: Model, holder: User | None) -> bool:
    """Return whether `user` may remove `holder`'s override in `schedule`.

    Whoever may cover for the holder there (managers, site admins), and the holder themselves,
    even after leaving the team: taking themselves off call never needs a role.
    """
    if may_cover(user, schedule, holder):
        return True
    return _signed_in(user) and holder is not None and holder.pk == user.pk


def coverable(user: User, queryset: QuerySet) -> QuerySet:
    """Return the schedules of `queryset` where `user` may cover shifts (at least their own)."""
    if is_site_admin(user):
        return queryset
    if not _signed_in(user):
        return queryset.none()
    return queryset.filter(
        **{f"{team_path(queryset.model)}__in": teams_where(user, Role.RESPONDER)}
    )


def members_with(team_ids: Iterable[int], at_least: str) -> QuerySet:
    """Return the active people holding `at_least` (or higher) in any of the teams."""
    return User.objects.filter(
        is_active=True,
        memberships__team_id__in=list(team_ids),
        memberships__role__in=AT_LEAST[Role(at_least)],
    ).distinct()


# --- People's own rows (contact methods, notification rules, feeds) ---------------------------


def may_manage_person(user: User, person: User) -> bool:
    """Return whether `user` may see and change `person`'s contact methods and rules.

    Their own; a site administrator anyone's; a manager those of the people in their teams.
    Never anyone else: contact details do not cross teams.
    """
    if not _signed_in(user):
        return False
    if user.pk == person.pk or is_site_admin(user):
        return True
    managed = teams_where(user, Role.MANAGER)
    return bool(managed) and Membership.objects.filter(user=person, team_id__in=managed).exists()


def manageable_people(user: User) -> QuerySet:
    """Return the people whose own rows `user` may see and change (see may_manage_person)."""
    if not _signed_in(user):
        return User.objects.none()
    if is_site_admin(user):
        return User.objects.all()
    managed = teams_where(user, Role.MANAGER)
    mine = Q(pk=user.pk)
    if managed:
        mine |= Q(pk__in=Membership.objects.filter(team_id__in=managed).values("user_id"))
    return User.objects.filter(mine)


# --- Teams themselves -------------------------------------------------------------------------


def readable_teams(user: User) -> QuerySet:
    """Return the teams `user` may see: their own; every team's name with TEAMS_OPEN_READ."""
    if not _signed_in(user):
        return Team.objects.none()
    if is_site_admin(user) or settings.TEAMS_OPEN_READ:
        return Team.objects.all()
    return Team.objects.filter(pk__in=teams_where(user, Role.OBSERVER))


def may_see_members(user: User, team: Team) -> bool:
    """Return whether `user` may see who is in `team` and their roles (its members; admins)."""
    return is_site_admin(user) or holds_role(user, team.pk, Role.OBSERVER)
