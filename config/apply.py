"""Make the database match a configuration, all or nothing, validating like admin does."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts.models import DEFAULT_TEAM_SLUG, Membership, Team, User, default_team_id
from config.fields import ConfigError
from config.plan import Change, plan
from config.read import read_document, unique_names
from config.scope import Scope, refusals, within
from config.spec import (
    Document,
    LayerSpec,
    PolicySpec,
    ScheduleSpec,
    ServiceSpec,
    TeamSpec,
    UserSpec,
)
from escalation.models import EscalationPolicy, Tier
from paging.engine import maintenance_changed
from paging.models import ContactMethod, Integration, MaintenanceWindow, NotificationRule, Service
from paging.notify.verification import contact_method_verification_send
from schedules.layers import schedule_set_layers
from schedules.models import Override, Schedule


def known_names(*, prune: bool, team: str | None = None) -> dict[str, set[str]]:
    """Return the names a file may refer to without defining them (kept by the apply).

    With `team`, pruning deletes only that team's schedules, policies and services.
    """
    superusers = set(User.objects.filter(is_superuser=True).values_list("username", flat=True))
    if prune and team is None:
        return {"users": superusers, "teams": {DEFAULT_TEAM_SLUG}}
    pruned = {"team__slug": team} if prune else {"pk__in": []}
    return {
        "users": set(User.objects.values_list("username", flat=True)),
        "teams": set(Team.objects.values_list("slug", flat=True)),
        "schedules": set(Schedule.objects.exclude(**pruned).values_list("name", flat=True)),
        "escalation_policies": set(
            EscalationPolicy.objects.exclude(**pruned).values_list("name", flat=True)
        ),
    }


def apply_document(
    document: Document, *, prune: bool = False, dry_run: bool = False, scope: Scope | None = None
) -> list[Change]:
    """Make the database match `document`; return what changed. Nothing changes on an error.

    With `scope`, only one team's part: the rest of the file is refused, naming each object.
    """
    with transaction.atomic():
        keep = frozenset(User.objects.filter(is_superuser=True).values_list("username", flat=True))
        changes = plan(document, read_document(), prune=prune, keep=keep)
        if scope is not None:
            changes = within(changes, scope)
            problems = refusals(changes, scope)
            if problems:
                raise ConfigError(problems)
        for change in changes:
            WRITERS[change.action](change)
        if dry_run:
            transaction.set_rollback(True)
    return changes


def _check(instance: models.Model, path: str, rename: dict[str, str] | None = None) -> None:
    """Validate like admin (field, model and constraint rules); raise naming the file's place."""
    try:
        instance.full_clean()
    except ValidationError as error:
        problems = []
        for field, messages in error.message_dict.items():
            key = (rename or {}).get(field, field)
            where = path if field == NON_FIELD_ERRORS or key is None else f"{path}.{key}"
            problems += [(where, message) for message in messages]
        raise ConfigError(problems) from None


def _users_named(names: tuple[str, ...] | list[str]) -> list[User]:
    """Return the users with these usernames, in the same order (checked to exist by parse)."""
    found = User.objects.in_bulk(set(names), field_name="username")
    return [found[n] for n in names]


def _write(change: Change) -> None:
    SECTION_WRITERS[change.section](change.spec, change.old, f"{change.section}[{change.index}]")


def _write_user(spec: UserSpec, old: UserSpec | None, path: str) -> None:
    user = User.objects.filter(username=spec.username).first()
    if user is None:
        user = User(username=spec.username)
        user.set_unusable_password()  # they sign in once staff give them a password
    user.first_name, user.last_name, user.email = spec.first_name, spec.last_name, spec.email
    user.time_zone, user.is_staff = spec.time_zone, spec.staff
    _check(user, path, {"first_name": "name", "last_name": "name", "password": None})
    user.save()
    if old is None or old.contact_methods != spec.contact_methods:
        _sync_methods(user, spec, path)
    if old is None or old.notification_rules != spec.notification_rules:
        _replace_rules(user, spec, path)


def _sync_methods(user: User, spec: UserSpec, path: str) -> None:
    """Change contact methods in place by name (pages in flight keep theirs), add, remove."""
    rows = list(user.contact_methods.all())
    names = unique_names(rows)
    by_name = {names[row.pk]: row for row in rows}
    wanted = {m.name for m in spec.contact_methods}
    for name, row in by_name.items():
        if name not in wanted:
            row.delete()
    for method in spec.contact_methods:
        row = by_name.get(method.name) or ContactMethod(user=user)
        moved = row.pk is None or (row.kind, row.address) != (method.kind, method.address)
        row.name, row.kind, row.address = method.name, method.kind, method.address
        if row.verified != method.verified:
            row.verified = method.verified
            row.verified_at = timezone.now() if method.verified else None
        _check(row, method.at or f"{path}.contact_methods", {"kind": "type", "user": None})
        row.save()
        if moved and not row.verified:
            _send_code_after_commit(row)


def _send_code_after_commit(method: ContactMethod) -> None:
    """Send a new number or address its verification code, as admin does, once committed."""
    transaction.on_commit(lambda: contact_method_verification_send(method=method), robust=True)


def _replace_rules(user: User, spec: UserSpec, path: str) -> None:
    NotificationRule.objects.filter(user=user).delete()
    rows = list(user.contact_methods.all())
    names = unique_names(rows)  # as export names them: two called "mobile" are "mobile", "mobile-2"
    methods = {names[row.pk]: row for row in rows}
    for rule in spec.notification_rules:
        row = NotificationRule(
            user=user, contact_method=methods[rule.contact_method], delay=rule.after
        )
        _check(row, f"{path}.notification_rules", {"delay": "after"})
        row.save()


def _write_team(spec: TeamSpec, old: TeamSpec | None, path: str) -> None:
    team = Team.objects.filter(slug=spec.slug).first() or Team(slug=spec.slug)
    team.name = spec.name
    _check(team, path)
    team.save()
    if old is not None and old.members == spec.members:
        return
    roles = {m.user: m.role for m in spec.members}
    team.memberships.exclude(user__username__in=roles).delete()
    for user in _users_named(list(roles)):
        Membership.objects.update_or_create(
            team=team, user=user, defaults={"role": roles[user.username]}
        )


def _team_named(slug: str) -> Team:
    """Return the team with this slug (the Default team is made again if it is gone)."""
    if slug == DEFAULT_TEAM_SLUG:
        return Team.objects.get(pk=default_team_id())
    return Team.objects.get(slug=slug)


def _write_schedule(spec: ScheduleSpec, old: ScheduleSpec | None, path: str) -> None:
    schedule = Schedule.objects.filter(name=spec.name).first() or Schedule(name=spec.name)
    schedule.team = _team_named(spec.team)
    schedule.description, schedule.time_zone = spec.description, spec.time_zone
    schedule.handoff_notice = spec.handoff_notice
    _check(schedule, path)
    schedule.save()
    if old is None or old.layers != spec.layers:
        layers = [_layer_fields(layer) for layer in spec.layers]
        where = [layer.at or f"{path}.layers" for layer in spec.layers]
        schedule_set_layers(
            schedule=schedule,
            layers=layers,
            check=lambda layer, n: _check(layer, where[n], LAYER_FIELDS),
        )
    if old is None or old.overrides != spec.overrides:
        schedule.overrides.all().delete()
        for override in spec.overrides:
            who = _users_named([override.user, *filter(None, [override.replaces])])
            row = Override(
                schedule=schedule,
                user=who[0],
                replaces=who[1] if override.replaces else None,
                start=override.start,
                end=override.end,
            )
            _check(row, override.at or f"{path}.overrides")
            row.save()


LAYER_FIELDS = {
    "shift_count": "shift",
    "shift_unit": "shift",
    "handoff_date": "start",
    "handoff_time": "start",
    "calendar_url": "calendar",
    "calendar_body": "ics",
    "schedule": None,
}


def _layer_fields(spec: LayerSpec) -> dict:
    """Return what `schedule_set_layers` takes for one layer."""
    fields = {
        "level": spec.level,
        "name": spec.name,
        "kind": spec.kind,
        "shift_count": spec.shift_count,
        "shift_unit": spec.shift_unit,
        "calendar_url": spec.calendar_url,
        "members": _users_named(spec.participants),
        "restrictions": [
            {
                "kind": r.kind,
                "start_day": r.start_day,
                "start_time": r.start_time,
                "end_day": r.end_day,
                "end_time": r.end_time,
            }
            for r in spec.restrictions
        ],
    }
    if spec.handoff is not None:
        fields |= {"handoff_date": spec.handoff.date(), "handoff_time": spec.handoff.time()}
    if spec.ics:
        fields["calendar_body"] = spec.ics  # a fetched feed's stored copy is left alone
    return fields


def _write_policy(spec: PolicySpec, old: PolicySpec | None, path: str) -> None:
    policy = EscalationPolicy.objects.filter(name=spec.name).first()
    policy = policy or EscalationPolicy(name=spec.name)
    policy.team = _team_named(spec.team)
    policy.description, policy.repeat = spec.description, spec.repeat
    _check(policy, path)
    policy.save()
    if old is not None and old.tiers == spec.tiers:
        return
    policy.tiers.all().delete()
    for position, tier in enumerate(spec.tiers):
        row = Tier(policy=policy, position=position, ack_timeout=tier.ack_timeout)
        _check(row, tier.at or f"{path}.tiers")
        row.save()
        row.users.set(_users_named(tier.users))
        row.schedules.set(Schedule.objects.filter(name__in=tier.schedules))


def _write_service(spec: ServiceSpec, old: ServiceSpec | None, path: str) -> None:
    service = Service.objects.filter(name=spec.name).first() or Service(name=spec.name)
    service.team = _team_named(spec.team)
    service.description, service.urgency = spec.description, spec.urgency
    service.escalation_policy = (
        EscalationPolicy.objects.get(name=spec.escalation_policy)
        if spec.escalation_policy
        else None
    )
    service.ack_timeout, service.auto_resolve_after = spec.ack_timeout, spec.auto_resolve
    service.storm_cap, service.storm_window = spec.storm_cap, spec.storm_window
    _check(service, path, {"auto_resolve_after": "auto_resolve"})
    service.save()
    if old is None or old.integrations != spec.integrations:
        _sync_integrations(service, spec, path)
    if old is None or old.maintenance_windows != spec.maintenance_windows:
        service.maintenance_windows.all().delete()
        for w in spec.maintenance_windows:
            row = MaintenanceWindow(
                service=service, starts_at=w.start, ends_at=w.end, reason=w.reason
            )
            _check(
                row, w.at or f"{path}.maintenance_windows", {"starts_at": "start", "ends_at": "end"}
            )
            row.save()
        maintenance_changed(service_id=service.pk)


INTEGRATION_FIELDS = {"heartbeat_interval": "interval", "heartbeat_grace": "grace", "service": None}


def _sync_integrations(service: Service, spec: ServiceSpec, path: str) -> None:
    """Change integrations in place by name, so their alerts and (unless given) keys stay."""
    rows = list(service.integrations.all())
    names = unique_names(rows)
    by_name = {names[row.pk]: row for row in rows}
    wanted = {i.name for i in spec.integrations}
    for name, row in by_name.items():
        if name not in wanted:
            row.delete()
    for hook in spec.integrations:
        row = by_name.get(hook.name) or Integration(service=service)
        row.name, row.kind, row.enabled = hook.name, hook.kind, hook.enabled
        row.disabled_reason, row.grouping = hook.disabled_reason, hook.grouping
        row.heartbeat_interval, row.heartbeat_grace = hook.interval, hook.grace
        row.signing_secret, row.signing_header = hook.signing_secret, hook.signing_header
        row.signing_timestamp_header = hook.signing_timestamp_header
        row.signing_timestamp_required = hook.signing_timestamp_required
        if hook.key:
            row.key = hook.key
        where = hook.at or f"{path}.integrations"
        _check(row, where, INTEGRATION_FIELDS)
        row.save()


def _delete(change: Change) -> None:
    model, field = DELETABLE[change.section]
    row = model.objects.get(**{field: change.name})
    if isinstance(row, Service) and row.incidents.exists():
        message = f'"{change.name}" is not in the file but has incidents, which are never deleted'
        raise ConfigError([(change.section, message)])
    if isinstance(row, Team):
        _refuse_if_owning(row)
    row.delete()


def _refuse_if_owning(team: Team) -> None:
    """Raise naming what still belongs to `team` (an object never loses its team)."""
    owned = [
        f"{kind} {name}"
        for model, kind in OWNED.items()
        for name in model.objects.filter(team=team).order_by("name").values_list("name", flat=True)
    ]
    if owned:
        message = f'"{team.slug}" is not in the file but still owns {", ".join(owned)}'
        raise ConfigError([("teams", message)])


SECTION_WRITERS = {
    "users": _write_user,
    "teams": _write_team,
    "schedules": _write_schedule,
    "escalation_policies": _write_policy,
    "services": _write_service,
}
OWNED = {Schedule: "schedule", EscalationPolicy: "escalation policy", Service: "service"}
DELETABLE = {
    "users": (User, "username"),
    "teams": (Team, "slug"),
    "schedules": (Schedule, "name"),
    "escalation_policies": (EscalationPolicy, "name"),
    "services": (Service, "name"),
}
WRITERS = {"created": _write, "updated": _write, "deleted": _delete, "unchanged": lambda c: None}
