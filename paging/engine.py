"""The escalation engine: advance due incidents and sweep lost work (delivery: `delivery.py`).

Each function claims its row first (`SELECT … FOR UPDATE SKIP LOCKED` or a conditional UPDATE),
so any number of workers, retried tasks and sweepers can race without paging anyone twice.
The policy, its tiers, schedules and people's rules are read afresh at every step, so an edit
applies from the next step on; what was already written is never written again.
"""

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.people import unpageable_reason
from escalation.models import Tier
from escalation.planner import Exhausted, Position, State, Step, decide
from oncall import metrics
from paging.actions import incident_ack_expire, incident_auto_resolve, timeline_add
from paging.ingest.heartbeats import heartbeats_check
from paging.maintenance import maintenance_until
from paging.models import (
    OPEN_STATUSES,
    ContactKind,
    ContactMethod,
    Incident,
    IncidentStatus,
    Notification,
    NotificationRule,
    NotificationStatus,
    Service,
)
from paging.notify.callbacks import early_callbacks_expire
from paging.notify.channels import sending_stale_after
from paging.notify.contacts import unusable_reason
from paging.notify.delivery import notification_abandon, notification_body, notification_deliver
from paging.queue import deliver_later, enqueue_on_commit
from paging.rotation import team_targets
from schedules.resolver import oncall_at

log = logging.getLogger(__name__)

# Tasks with an eta normally run steps and send pages on time; the sweeper takes a due step or
# notification over only once it is this late, so that it rarely races a task about to run
# anyway (a race is harmless: the claim lets one through). Small, so a dead worker's pages are
# late by little more than the sweep interval.
SWEEP_GRACE = dt.timedelta(milliseconds=500)
# An escalation task sends this many of the step's pages due at once itself (the rest, and all
# later ones, go through the broker so that other workers share them).
SEND_NOW = 3
# At most this many rows of each kind per sweep, so one sweep stays short.
SWEEP_BATCH = 200

Rule = tuple[str, ContactMethod, dt.timedelta]


@dataclass
class Targets:
    """A tier's people at an instant (each once, in target order) and why others are missing."""

    people: list[tuple[User, list[Rule]]]
    missing: list[str]
    refused: list[str] = field(default_factory=list)  # contact methods that must not be used
    why: dict[int, str] = field(default_factory=dict)  # by user id: reached through a team


# Which firing of a level is being resolved: round-robin team targets pick (and store) for it.
Firing = tuple[Incident, Position]


def _people_of(
    tier: Tier, now: dt.datetime, firing: Firing | None = None
) -> tuple[list[User], list[str], dict[int, str]]:
    """Return the tier's people at `now` who may be paged (each once), why others are not, and
    how each reached through a team was chosen."""
    ids: list[int] = [u.pk for u in tier.users.all()]
    empty = []
    for schedule in tier.schedules.all():
        oncall = oncall_at(schedule.snapshot(now, now + dt.timedelta(seconds=1)), now)
        ids.extend(oncall)
        if not oncall:
            empty.append(f"nobody on call in {schedule}")
    known = {u.pk: u for u in tier.users.all()}
    teams, nobody = team_targets(tier, firing, _unreachable)
    why = {}
    for person, reason in teams:
        known.setdefault(person.pk, person)
        if person.pk not in ids:
            ids.append(person.pk)
            why[person.pk] = reason
    if unknown := [i for i in ids if i not in known]:
        known |= User.objects.in_bulk(unknown)
    people, missing = _pageable([known[i] for i in dict.fromkeys(ids) if i in known], empty)
    return people, missing + nobody, why


def _pageable(people: list[User], missing: list[str]) -> tuple[list[User], list[str]]:
    """Keep the people who may be paged; add why each other one is not to `missing`."""
    allowed = []
    for person in people:
        if reason := unpageable_reason(person):
            missing.append(f"{person} {reason}")
        else:
            allowed.append(person)
    return allowed, missing


def tier_people(tier: Tier, now: dt.datetime) -> list[User]:
    """Return the tier's people at `now`, schedules resolved, each once, in target order."""
    return _people_of(tier, now)[0]  # round-robin teams: the next in turn, nothing moved


def rules_for(people: list[User]) -> dict[int, list[Rule]]:
    """Return each person's (rule key, contact method, delay) list, by user id.

    A person with no rules of their own gets the site default (`PAGING_DEFAULT_RULES`).
    """
    found: dict[int, list[Rule]] = {p.pk: [] for p in people}
    rules = NotificationRule.objects.filter(user__in=people).select_related("contact_method")
    for r in rules:
        found[r.user_id].append((f"r{r.pk}", r.contact_method, r.delay))
    if ruleless := [pk for pk, own in found.items() if not own]:
        for c in ContactMethod.objects.filter(user__in=ruleless):
            found[c.user_id] += [
                (f"c{c.pk}+{int(delay.total_seconds())}", c, delay)
                for kind, delay in settings.PAGING_DEFAULT_RULES
                if c.kind == kind
            ]
    for own in found.values():
        own.sort(key=lambda rule: rule[2])
    return found


def _unreachable(people: list[User]) -> dict[int, str]:
    """Return, by user id, why each of `people` whom no rule may page cannot be reached.

    The same test `tier_targets` makes: round-robin passes over these people.
    """
    found = {}
    for pk, rules in rules_for(people).items():
        methods = [method for _, method, _ in rules]
        if not methods:
            found[pk] = "no contact methods"
        elif not any(method.verified for method in methods):
            found[pk] = "no verified contact method"
        elif all(unusable_reason(method) for method in methods):
            found[pk] = "no usable contact method"
    return found


def person_rules(user: User) -> list[Rule]:
    """Return (rule key, contact method, delay) for each way to reach `user`."""
    return rules_for([user])[user.pk]


def tier_targets(tier: Tier, now: dt.datetime, firing: Firing | None = None) -> Targets:
    """Return whom the tier pages at `now` with their rules, and why anyone is left out.

    With a firing, round-robin team targets pick for it (once: a retry reuses the pick).
    """
    if not tier.users.all() and not tier.schedules.all() and not tier.team_links.all():
        return Targets(people=[], missing=["the level has no targets"])
    people, empty, why = _people_of(tier, now, firing)
    rules = rules_for(people) if people else {}
    targets = Targets(people=[], missing=empty, why=why)
    for person in people:
        usable = [rule for rule in rules[person.pk] if not _refused(targets, person, rule[1])]
        if usable:
            targets.people.append((person, usable))
        elif rules[person.pk]:
            targets.missing.append(f"{person} has no usable contact method")
        else:
            targets.missing.append(f"{person} has no contact methods")
    return targets


def _refused(targets: Targets, person: User, method: ContactMethod) -> bool:
    """Note and return whether `method` must not be paged (unverified, or STOPped)."""
    reason = unusable_reason(method)
    if reason:
        what = f"{method.get_kind_display()} ({method.name})"
        targets.refused.append(f"{person} not paged by {what}: {reason}")
    return bool(reason)


def _notifications(
    incident: Incident, targets: Targets, position: Position, now: dt.datetime
) -> list[Notification]:
    """Write every notification of this step in one INSERT.

    The incident's row lock makes each step run once; should anything still write the same
    (incident, round, tier, loop, person, rule) twice, the unique key fails the whole step and
    nobody is paged twice.
    """
    rows = [
        Notification(
            incident=incident,
            round=incident.escalation_round,
            tier=position.tier,
            loop=position.loop,
            user=person,
            rule_key=key,
            kind=method.kind,
            address=method.address,
            due_at=now + delay,
            body=notification_body(incident, method),
        )
        for person, rules in targets.people
        for key, method, delay in rules
    ]
    return Notification.objects.bulk_create(rows)


def _label(position: Position) -> str:
    return f"Level {position.level}" + (f" (loop {position.loop + 1})" if position.loop else "")


def _page_step(incident: Incident, tier: Tier, step: Step, now: dt.datetime) -> list | None:
    """Page the step's tier; return its new notifications, or None when it had nobody."""
    label = _label(step.position)
    targets = tier_targets(tier, now, (incident, step.position))
    for message in targets.refused:
        timeline_add(incident=incident, kind="skipped", message=message)
    if not targets.people:
        why = "; ".join(targets.missing)
        timeline_add(incident=incident, kind="skipped", message=f"{label} skipped: {why}")
        return None
    created = _notifications(incident, targets, step.position, now)
    names = ", ".join(_named(p, targets.why) for p, _ in targets.people)
    note = f" ({'; '.join(targets.missing)})" if targets.missing else ""
    timeline_add(incident=incident, kind="escalated", message=f"{label} paged: {names}{note}")
    return created


def _named(person: User, why: dict[int, str]) -> str:
    """Return the person as the timeline names them: "Carol Cole (round-robin in Payments)"."""
    return f"{person} ({why[person.pk]})" if person.pk in why else str(person)


def _state(incident: Incident) -> State:
    tier = incident.escalation_tier
    position = None if tier is None else Position(tier=tier, loop=incident.escalation_loop)
    return State(position=position, due_at=incident.escalation_due_at)


def _advance(incident: Incident, tiers: list[Tier], now: dt.datetime) -> list[Notification]:
    """Page the next tier that has anyone to page; record the position and when it is due.

    Tiers with nobody to page are skipped at once; past the last step, say so and stop.
    """
    shape = incident.service.escalation_policy.shape(tiers)
    while isinstance(step := decide(shape, _state(incident), now), Step):
        incident.escalation_tier, incident.escalation_loop = step.position.tier, step.position.loop
        incident.escalation_due_at = step.next_due
        if step.position.tier == 0 and step.position.loop:
            timeline_add(
                incident=incident,
                kind="loop",
                message=f"Nobody acknowledged: back to Level 1 (loop {step.position.loop + 1})",
            )
        created = _page_step(incident, tiers[step.position.tier], step, now)
        if created is not None:
            return created
        incident.escalation_due_at = now  # skipped: the next step is due at once
    if isinstance(step, Exhausted):
        incident.escalation_due_at = None
        timeline_add(
            incident=incident, kind="exhausted", message="Escalation exhausted; nobody acknowledged"
        )
    return []


def _hold(incident: Incident, until: dt.datetime) -> None:
    """Put off the incident's next step to the end of its service's maintenance."""
    incident.escalation_due_at = until
    when = f"{until:%Y-%m-%d %H:%M:%S} UTC"
    timeline_add(
        incident=incident,
        kind="maintenance",
        message=f"Service in maintenance until {when}: nobody paged; escalation goes on then",
    )


# Timeline kinds the engine writes when it moves an incident's escalation on (or holds it).
_STEP_KINDS = ("maintenance", "escalated", "skipped", "loop", "exhausted", "ack_expired")


@transaction.atomic
def maintenance_changed(*, service_id: int) -> int:
    """Re-time what a service's maintenance holds (incidents and pages), after its windows changed.

    Admin, the API and `oncall apply` call this after any window of the service is created,
    changed or deleted. A window ended early (or deleted) lets them go on at once; a longer one
    holds them on. Returns how many incidents and notifications were re-timed.
    """
    now = timezone.now()
    due = maintenance_until(service_id, now) or now
    eta = due if due > now else None
    retimed = 0
    waiting = Incident.objects.filter(
        service_id=service_id, status=IncidentStatus.TRIGGERED, escalation_due_at__gt=now
    )
    for incident in waiting:
        last = incident.timeline.filter(kind__in=_STEP_KINDS).order_by("-at", "-id").first()
        if last is None or last.kind != "maintenance" or incident.escalation_due_at == due:
            continue
        moved = Incident.objects.filter(
            pk=incident.pk, escalation_due_at=incident.escalation_due_at
        ).update(escalation_due_at=due)
        if moved:
            enqueue_on_commit("paging.escalate", incident.pk, eta=eta)
            retimed += 1
    return retimed + _held_pages_retime(service_id, due, eta)


def _held_pages_retime(service_id: int, due: dt.datetime, eta: dt.datetime | None) -> int:
    """Move the service's pages held for maintenance to when it now ends (or to now)."""
    held = Notification.objects.filter(
        incident__service_id=service_id,
        incident__status=IncidentStatus.TRIGGERED,
        status=NotificationStatus.PENDING,
        held_until__isnull=False,
    ).exclude(due_at=due)
    rows = list(held.only("pk", "kind"))
    Notification.objects.filter(
        pk__in=[row.pk for row in rows], status=NotificationStatus.PENDING
    ).update(due_at=due, held_until=due)
    for row in rows:
        deliver_later(row, eta=eta, on_commit=True)
    return len(rows)


def _claim(incident_id: int, now: dt.datetime) -> Incident | None:
    """Lock the incident if it is triggered and its step is due; None if not, or held elsewhere."""
    return (
        Incident.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("service__escalation_policy")
        .filter(pk=incident_id, status=IncidentStatus.TRIGGERED, escalation_due_at__lte=now)
        .first()
    )


def _step(incident: Incident, now: dt.datetime) -> list[Notification]:
    """Run the claimed incident's due step and save its new state."""
    policy = incident.service.escalation_policy
    related = ("users", "schedules", "team_links__team")
    tiers = list(policy.tiers.prefetch_related(*related)) if policy else []
    if not tiers:
        incident.escalation_due_at = None
        timeline_add(incident=incident, kind="not_paged", message="Policy has no levels to page")
        notifications = []
    elif (until := maintenance_until(incident.service_id, now)) is not None:
        _hold(incident, until)
        notifications = []
    else:
        notifications = _advance(incident, tiers, now)
    incident.save(update_fields=["escalation_tier", "escalation_loop", "escalation_due_at"])
    return notifications


def incident_escalate(incident_id: int, *, send_now: int = 0) -> list[int]:
    """Run the incident's escalation step if it is due; return the notifications written.

    Each notification gets a delivery task after commit, except the first `send_now` that are
    due at once: the caller's own process sends those straight after commit, saving a trip
    through the broker (and the queue behind other work). Should it die first, they are
    pending rows the sweeper sends.
    """
    now = timezone.now()
    with transaction.atomic():
        incident = _claim(incident_id, now)
        if incident is None:
            return []  # not due, not triggered, gone, or another worker holds it
        metrics.escalation_ran(now - incident.escalation_due_at)
        notifications = _step(incident, now)
        # Phone pages only: an e-mail waits on its own queue, so a slow SMTP server never holds
        # up the escalation worker (and the SMS and calls behind it).
        here = [n.pk for n in notifications if n.due_at <= now and n.kind != ContactKind.EMAIL]
        here = here[:send_now]
        for n in notifications:
            if n.pk not in here:
                deliver_later(n, eta=n.due_at if n.due_at > now else None, on_commit=True)
        if incident.escalation_due_at is not None:
            enqueue_on_commit("paging.escalate", incident.pk, eta=incident.escalation_due_at)
    for pk in here:
        notification_deliver(pk)
    return [n.pk for n in notifications]


def _expiry(field: str, duration: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(field) + F(duration), output_field=DateTimeField())


def _ack_expired(now: dt.datetime) -> int:
    """Re-trigger acknowledged incidents whose service's ack timeout has run out."""
    due = (
        Incident.objects.filter(status=IncidentStatus.ACKNOWLEDGED)
        .filter(service__ack_timeout__isnull=False)
        .alias(expires=_expiry("acknowledged_at", "service__ack_timeout"))
        .filter(expires__lte=now)
    )
    ids = list(due.values_list("pk", flat=True)[:SWEEP_BATCH])
    return sum(incident_ack_expire(incident_id=pk, now=now) for pk in ids)


def _auto_resolved(now: dt.datetime) -> int:
    """Resolve open incidents whose service auto-resolves them after a quiet spell."""
    due = (
        Incident.objects.filter(status__in=OPEN_STATUSES)
        .filter(service__auto_resolve_after__isnull=False)
        .alias(last=Coalesce("last_alert_at", "created_at"))
        .alias(expires=_expiry("last", "service__auto_resolve_after"))
        .filter(expires__lte=now)
    )
    ids = list(due.values_list("pk", flat=True)[:SWEEP_BATCH])
    return sum(incident_auto_resolve(incident_id=pk, now=now) for pk in ids)


def _escalated(now: dt.datetime) -> int:
    """Run the due steps whose task is lost (or well behind)."""
    due = Incident.objects.filter(
        status=IncidentStatus.TRIGGERED, escalation_due_at__lte=now - SWEEP_GRACE
    )
    ids = list(due.order_by("escalation_due_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    for pk in ids:
        incident_escalate(pk)
    return len(ids)


def _revived(now: dt.datetime) -> int:
    """Put back to pending the notifications whose sending worker died mid-send.

    The provider may have taken the send before the worker died: the next attempt asks it first.
    One that has used its attempts fails instead, and the person's next contact method goes out.
    """
    stale = Q()
    for kind in ContactKind.values:  # each channel has its own bound
        stale |= Q(kind=kind, sent_at__lt=now - sending_stale_after(kind))
    dead = Notification.objects.filter(stale, status=NotificationStatus.SENDING)
    last = settings.PAGING_DELIVERY_MAX_ATTEMPTS
    for pk in dead.filter(attempts__gte=last).values_list("pk", flat=True)[:SWEEP_BATCH]:
        notification_abandon(pk)
    return dead.filter(attempts__lt=last).update(
        status=NotificationStatus.PENDING, unsure_since=F("sent_at")
    )


def _late(now: dt.datetime) -> int:
    """Send the pending notifications whose task is lost (or well behind), here and now.

    Sending here rather than enqueueing keeps a backlog from growing: sweeps re-find the same
    late rows until they are sent, and would otherwise queue them again every time.
    """
    late = Notification.objects.filter(
        status=NotificationStatus.PENDING, due_at__lte=now - SWEEP_GRACE
    )
    rows = list(late.order_by("due_at").only("pk", "kind")[:SWEEP_BATCH])
    # E-mail goes back to its queue: a slow SMTP server must not stall the sweep of phone pages.
    for row in rows:
        if row.kind == ContactKind.EMAIL:
            deliver_later(row)
    phone = [row.pk for row in rows if row.kind != ContactKind.EMAIL]
    return sum(notification_deliver(pk) != "skipped" for pk in phone)


def sweep() -> dict[str, int]:
    """Re-find due work whose task was lost; run the timers (ack expiry, auto-resolve).

    Sweeps may overlap (a slow one, two beats): every row is claimed, so they share the work.
    """
    now = timezone.now()
    counts = {
        "escalated": _escalated(now),
        "revived": _revived(now),
        "late": _late(now),
        "missed": heartbeats_check(),
        "ack_expired": _ack_expired(now),
        "auto_resolved": _auto_resolved(now),
    }
    early_callbacks_expire(now)  # housekeeping, not lost work: no count
    if any(counts.values()):
        log.info("sweep: %s", ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
    return counts


TEST_SERVICE = "Test pages"


@transaction.atomic
def person_test_page(*, user: User, by: User | None) -> Incident | None:
    """Page `user` through their notification rules with a clearly marked test incident.

    The incident belongs to the "Test pages" service (no policy: nobody else is paged; it
    resolves itself after an hour). Only usable methods are paged, as in a real page (a number
    not yet verified may be a stranger's). Returns None when no way to reach the person is left.
    """
    rules = [rule for rule in rules_for([user])[user.pk] if unusable_reason(rule[1]) is None]
    if not rules:
        return None
    service, _ = Service.objects.get_or_create(
        name=TEST_SERVICE,
        defaults={
            "description": "Test pages sent from admin; nobody but the tested person is paged.",
            "auto_resolve_after": dt.timedelta(hours=1),
        },
    )
    sender = f" from {by}" if by else ""
    incident = Incident.objects.create(
        service=service,
        dedup_key=f"test-page-{uuid.uuid4().hex}",
        summary=f"TEST PAGE for {user}{sender}: no action needed",
        severity="info",
        urgency="low",
        escalation_tier=0,
    )
    timeline_add(
        incident=incident, kind="test_page", message=f"Test page to {user}{sender}", actor=by
    )
    now = timezone.now()
    targets = Targets(people=[(user, rules)], missing=[])
    for n in _notifications(incident, targets, Position(tier=0), now):
        deliver_later(n, eta=n.due_at if n.due_at > now else None, on_commit=True)
    return incident
