"""One team's part of a file: `oncall apply --team payments`, as its manager or as the operator.

Schedules, escalation policies and services of other teams are refused, by name, whether the
file gives them another team or they already belong to one (a file must not move another team's
object into this one). Pruning deletes only this team's objects. A person applying with a token
changes teams and memberships only as a site administrator, and people only where
`accounts.access.may_manage_person` allows. Pure but for those questions to accounts.access.
"""

from dataclasses import dataclass

from django.utils import timezone

from accounts.access import is_site_admin, may_configure_team, may_manage_person
from accounts.models import ApiToken, Team, User, token_digest
from config.plan import KINDS, Change
from oncall.apibase import closest

# The sections whose objects belong to a team.
OWNED_SECTIONS = ("schedules", "escalation_policies", "services")


@dataclass(frozen=True)
class Scope:
    """Which team's part of a file applies, and who applies it (None: the operator)."""

    team: str  # a team's slug
    actor: User | None = None


def active_token(raw: str) -> ApiToken | None:
    """Return the API token `raw` is, with its person, unless it is revoked."""
    found = ApiToken.objects.select_related("user").filter(digest=token_digest(raw.strip()))
    return found.filter(revoked_at__isnull=True).first()


def token_person(raw: str) -> User | None:
    """Return the active person an API token (not revoked) belongs to, noting its use."""
    token = active_token(raw)
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


def scope_for(team: str, actor: User | None) -> Scope:
    """Return the scope of `team` for `actor`; raise PermissionError saying why it is refused."""
    found = Team.objects.filter(slug=team).first()
    if found is None:
        match = closest(team, Team.objects.values_list("slug", flat=True))
        hint = f'; did you mean "{match}"?' if match else ""
        raise PermissionError(f'no team named "{team}"{hint}')
    if actor is not None and not may_configure_team(actor, found):
        raise PermissionError(f"{actor.username} is not a manager of {team}")
    return Scope(team=team, actor=actor)


def within(changes: list[Change], scope: Scope) -> list[Change]:
    """Return the changes without the deletions outside the team's part (it prunes only its own)."""
    return [c for c in changes if c.action != "deleted" or _prunable(c, scope)]


def _prunable(change: Change, scope: Scope) -> bool:
    return change.section in OWNED_SECTIONS and change.old.team == scope.team


def refusals(changes: list[Change], scope: Scope) -> list[tuple[str, str]]:
    """Return a problem for each change the scope does not allow, naming the object."""
    problems = []
    for change in changes:
        path = f"{change.section}[{change.index}]"
        reason = _refusal(change, scope)
        if reason:
            problems.append((path, reason))
    return problems


def _refusal(change: Change, scope: Scope) -> str | None:
    if change.action == "deleted":
        return None
    what = f"{KINDS[change.section]} {change.name}"
    if change.section in OWNED_SECTIONS:
        for team in (change.spec.team, change.old.team if change.old else scope.team):
            if team != scope.team:
                return f"{what} belongs to team {team}: you may change only {scope.team}"
        return None
    if change.action == "unchanged":
        return None
    if change.section == "teams":
        return _team_refusal(change, scope)
    return _person_refusal(change, scope)


def _team_refusal(change: Change, scope: Scope) -> str | None:
    if scope.actor is not None and not is_site_admin(scope.actor):
        return f"team {change.name}: only a site administrator may change teams and their members"
    if change.name != scope.team:
        return f"team {change.name} is not {scope.team}: you may change only {scope.team}"
    return None


def _person_refusal(change: Change, scope: Scope) -> str | None:
    if scope.actor is None or is_site_admin(scope.actor):
        return None
    person = User.objects.filter(username=change.name).first()
    if person is None:
        return f"user {change.name} is new: only a site administrator may add people"
    if not may_manage_person(scope.actor, person):
        return f"user {change.name}: you may change only yourself and the people of your teams"
    if "staff" in change.fields:
        return f"user {change.name}: only a site administrator may change who is staff"
    return None
