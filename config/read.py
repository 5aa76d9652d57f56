"""Read the configuration the database holds into specs (the same form a file is read into)."""

import datetime as dt

from django.db.models import Prefetch

from accounts.models import Membership, Team, User
from config.spec import (
    ContactMethodSpec,
    Document,
    IntegrationSpec,
    LayerSpec,
    MemberSpec,
    OverrideSpec,
    PolicySpec,
    RestrictionSpec,
    RuleSpec,
    ScheduleSpec,
    ServiceSpec,
    TeamSpec,
    TierSpec,
    UserSpec,
    WindowSpec,
)
from escalation.models import EscalationPolicy
from paging.models import NotificationRule, Service
from schedules.models import CALENDAR_KINDS, LayerKind, Schedule


def read_document(team: str | None = None) -> Document:
    """Return everything the configuration file manages, as it is now (a fixed few queries).

    With `team` (a slug): that team, its schedules, policies and services, and the people they
    use (its members, rotations, overrides and escalation targets).
    """
    document = Document(
        users=tuple(_user(u) for u in _users()),
        teams=tuple(_team(t) for t in _teams()),
        schedules=tuple(_schedule(s) for s in _schedules()),
        escalation_policies=tuple(_policy(p) for p in _policies()),
        services=tuple(_service(s) for s in _services()),
    )
    return document if team is None else team_part(document, team)


def team_part(document: Document, team: str) -> Document:
    """Return the part of `document` that belongs to `team`, with the people it uses."""
    teams = tuple(t for t in document.teams if t.slug == team)
    schedules = tuple(s for s in document.schedules if s.team == team)
    policies = tuple(p for p in document.escalation_policies if p.team == team)
    people = {m.user for t in teams for m in t.members or ()}
    for schedule in schedules:
        people |= {u for la in schedule.layers for u in la.participants}
        people |= {u for o in schedule.overrides or () for u in (o.user, o.replaces) if u}
    people |= {u for p in policies for t in p.tiers for u in t.users}
    return Document(
        users=tuple(u for u in document.users if u.username in people),
        teams=teams,
        schedules=schedules,
        escalation_policies=policies,
        services=tuple(s for s in document.services if s.team == team),
    )


def _users():
    rules = NotificationRule.objects.select_related("contact_method")
    return User.objects.order_by("username").prefetch_related(
        "contact_methods", Prefetch("notification_rules", rules)
    )


def unique_names(rows) -> dict[int, str]:
    """Name each row by its name; names given twice get `-2`, `-3` (the file needs them unique)."""
    names: dict[int, str] = {}
    for row in sorted(rows, key=lambda r: r.pk):
        taken, candidate, n = set(names.values()), row.name, 1
        while candidate in taken:
            n += 1
            candidate = f"{row.name}-{n}"
        names[row.pk] = candidate
    return names


def _teams():
    members = Membership.objects.select_related("user")
    return Team.objects.order_by("slug").prefetch_related(Prefetch("memberships", members))


def _team(team: Team) -> TeamSpec:
    members = (MemberSpec(user=m.user.username, role=m.role) for m in team.memberships.all())
    return TeamSpec(slug=team.slug, name=team.name, members=tuple(sorted(members)))


def _user(user: User) -> UserSpec:
    names = unique_names(user.contact_methods.all())
    methods = [
        ContactMethodSpec(name=names[m.pk], kind=m.kind, address=m.address, verified=m.verified)
        for m in user.contact_methods.all()
    ]
    rules = [
        RuleSpec(contact_method=names[r.contact_method_id], after=r.delay)
        for r in user.notification_rules.all()  # always their own methods (the database says so)
    ]
    return UserSpec(
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        time_zone=user.time_zone,
        staff=user.is_staff,
        contact_methods=tuple(sorted(methods, key=lambda m: m.name)),
        notification_rules=tuple(sorted(rules, key=lambda r: (r.after, r.contact_method))),
    )


def _schedules():
    return (
        Schedule.objects.order_by("name")
        .select_related("team")
        .prefetch_related(
            "layers__members__user",
            "layers__restrictions",
            "overrides__user",
            "overrides__replaces",
        )
    )


def _schedule(schedule: Schedule) -> ScheduleSpec:
    layers = sorted(schedule.layers.all(), key=lambda la: la.level)
    return ScheduleSpec(
        name=schedule.name,
        team=schedule.team.slug,
        description=schedule.description,
        time_zone=schedule.time_zone,
        handoff_notice=schedule.handoff_notice,
        layers=tuple(_layer(la) for la in layers),
        overrides=tuple(
            OverrideSpec(
                user=o.user.username,
                start=o.start.astimezone(dt.UTC),
                end=o.end.astimezone(dt.UTC),
                replaces=o.replaces.username if o.replaces_id else None,
            )
            for o in schedule.overrides.all()
        ),
    )


def _layer(layer) -> LayerSpec:
    if layer.kind in CALENDAR_KINDS:
        return LayerSpec(
            name=layer.name,
            level=layer.level,
            restrictions=_restrictions(layer),
            calendar_url=layer.calendar_url if layer.kind == LayerKind.ICAL_URL else "",
            ics=layer.calendar_body if layer.kind == LayerKind.ICAL_FILE else "",
        )
    return LayerSpec(
        name=layer.name,
        level=layer.level,
        shift_count=layer.shift_count,
        shift_unit=layer.shift_unit,
        handoff=dt.datetime.combine(layer.handoff_date, layer.handoff_time),
        participants=tuple(m.user.username for m in layer.members.all()),
        restrictions=_restrictions(layer),
    )


def _restrictions(layer) -> tuple[RestrictionSpec, ...]:
    restrictions = [
        RestrictionSpec(
            kind=r.kind,
            start_day=r.start_day if r.kind == "weekly" else 0,
            start_time=r.start_time,
            end_day=r.end_day if r.kind == "weekly" else 0,
            end_time=r.end_time,
        )
        for r in layer.restrictions.all()
    ]
    return tuple(sorted(restrictions))


def _policies():
    return (
        EscalationPolicy.objects.order_by("name")
        .select_related("team")
        .prefetch_related("tiers__users", "tiers__schedules")
    )


def _policy(policy: EscalationPolicy) -> PolicySpec:
    return PolicySpec(
        name=policy.name,
        team=policy.team.slug,
        description=policy.description,
        repeat=policy.repeat,
        tiers=tuple(
            TierSpec(
                ack_timeout=t.ack_timeout,
                users=tuple(sorted(u.username for u in t.users.all())),
                schedules=tuple(sorted(s.name for s in t.schedules.all())),
            )
            for t in policy.tiers.all()
        ),
    )


def _services():
    return (
        Service.objects.order_by("name")
        .select_related("escalation_policy", "team")
        .prefetch_related("integrations", "maintenance_windows")
    )


def _service(service: Service) -> ServiceSpec:
    return ServiceSpec(
        name=service.name,
        team=service.team.slug,
        description=service.description,
        escalation_policy=service.escalation_policy.name if service.escalation_policy else None,
        urgency=service.urgency,
        ack_timeout=service.ack_timeout,
        auto_resolve=service.auto_resolve_after,
        storm_cap=service.storm_cap,
        storm_window=service.storm_window,
        integrations=tuple(sorted(_integrations(service), key=lambda i: i.name)),
        maintenance_windows=tuple(
            sorted(
                WindowSpec(
                    start=w.starts_at.astimezone(dt.UTC),
                    end=w.ends_at.astimezone(dt.UTC),
                    reason=w.reason,
                )
                for w in service.maintenance_windows.all()
            )
        ),
    )


def _integrations(service: Service) -> list[IntegrationSpec]:
    names = unique_names(service.integrations.all())
    return [_integration(hook, names[hook.pk]) for hook in service.integrations.all()]


def _integration(hook, name: str) -> IntegrationSpec:
    return IntegrationSpec(
        name=name,
        kind=hook.kind,
        key=hook.key,
        enabled=hook.enabled,
        disabled_reason=hook.disabled_reason,
        grouping=hook.grouping,
        interval=hook.heartbeat_interval,
        grace=hook.heartbeat_grace,
        signing_secret=hook.signing_secret,
        signing_header=hook.signing_header,
        signing_timestamp_header=hook.signing_timestamp_header,
        signing_timestamp_required=hook.signing_timestamp_required,
    )
