"""Which incidents the pages list, in which order, with each row's facts in a fixed number of
queries whatever the number of rows."""

from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from accounts import access
from accounts.models import Role, User
from escalation.models import Tier
from paging.actions import incident_actions_allowed
from paging.admin_incident import level_words, state_words
from paging.models import OPEN_STATUSES, Incident, IncidentStatus, Notification, Severity


def paged_me(user: User) -> Q:
    """Match the incidents that paged `user`."""
    paged = Incident.objects.filter(**{Incident.paged_lookup: user.pk}).values("pk")
    return Q(pk__in=paged)


def my_teams(user: User) -> Q:
    """Match the incidents of the teams `user` is in (any role)."""
    return Q(**{f"{Incident.team_path}__in": access.teams_where(user, Role.OBSERVER)})


def readable(user: User) -> QuerySet[Incident]:
    """Return every incident `user` may read."""
    return access.readable(user, Incident.objects.all())


def urgent_first(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """Order triggered before acknowledged, then by severity (critical first), newest first."""
    severities = [When(severity=s, then=Value(i)) for i, s in enumerate(Severity.values)]
    return incidents.annotate(
        status_rank=Case(
            When(status=IncidentStatus.TRIGGERED, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        severity_rank=Case(
            *severities, default=Value(len(severities)), output_field=IntegerField()
        ),
    ).order_by("status_rank", "severity_rank", "-created_at", "-pk")


def needs_me(user: User) -> QuerySet[Incident]:
    """Return the open incidents that paged `user` or belong to their teams, most urgent first."""
    found = readable(user).filter(my_teams(user) | paged_me(user), status__in=OPEN_STATUSES)
    return urgent_first(found)


@dataclass(frozen=True)
class Row:
    """One incident as a list shows it: its state and level in words, and what I may press."""

    incident: Incident
    state: str
    level: str
    actions: tuple[str, ...]
    may_act: bool


def rows(user: User, incidents) -> list[Row]:
    """Return the incidents as rows: two queries for all of them, none per row."""
    found = list(incidents)
    paged = set(
        Notification.objects.filter(incident__in=found, user_id=user.pk).values_list(
            "incident_id", flat=True
        )
    )
    policies = {i.service.escalation_policy_id for i in found} - {None}
    levels = dict(
        Tier.objects.filter(policy_id__in=policies)
        .values("policy_id")
        .annotate(n=Count("pk"))
        .values_list("policy_id", "n")
    )
    return [
        _row(user, i, i.pk in paged, levels.get(i.service.escalation_policy_id, 0)) for i in found
    ]


def _row(user: User, incident: Incident, paged: bool, levels: int) -> Row:
    incident.paged_known = {user.pk: paged}
    may_act = access.may_act(user, incident)
    actions = incident_actions_allowed(incident) if may_act else ()
    return Row(incident, state_words(incident), level_words(incident, levels), actions, may_act)


def row_of(user: User, incident: Incident) -> Row:
    """Return one incident as a row (after an action changed it)."""
    return rows(user, [incident])[0]


def with_people(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """Read each incident's service and the people who acknowledged and resolved it at once."""
    return incidents.select_related("service__team", "acknowledged_by", "resolved_by")


def my_teams_any(user: User) -> bool:
    """Return whether `user` is in any team."""
    return bool(access.teams_where(user, Role.OBSERVER))
