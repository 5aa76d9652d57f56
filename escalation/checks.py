"""Warnings about a saved policy that would page nobody, in words an admin can act on."""

from accounts.access import members_with
from accounts.models import Role, User
from accounts.people import unpageable_reason
from escalation.models import EscalationPolicy, Tier
from schedules.models import ImportedEvent, LayerMember, Schedule

NOBODY_AT_ALL = "This policy pages nobody at all: no level reaches a verified contact method."


def reachable_ids(people) -> set[int]:
    """Return the ids of `people` who can be paged: may be paged at all, and have a verified
    contact method (one query, however many people)."""
    ids = {p.pk for p in people if unpageable_reason(p) is None}
    if not ids:
        return set()
    found = User.objects.filter(pk__in=ids, contact_methods__verified=True)
    return set(found.values_list("pk", flat=True))


def schedule_people(schedule: Schedule) -> set:
    """Return everyone the schedule's layers name: rotation participants and calendar people."""
    members = LayerMember.objects.filter(layer__schedule=schedule).select_related("user")
    events = ImportedEvent.objects.filter(layer__schedule=schedule).select_related("user")
    return {m.user for m in members} | {e.user for e in events}


def level_warning(number: int, tier: Tier) -> tuple[str | None, bool]:
    """Return (the warning about Level `number` if it pages nobody, whether it reaches anyone)."""
    # Each target: its people, why it pages nobody when it has none, and when none is reachable.
    targets = [([user], "", f"{user} has no verified contact method") for user in tier.users.all()]
    for schedule in tier.schedules.all():
        targets.append(
            (
                schedule_people(schedule),
                f"schedule {schedule} has nobody in its layers",
                f"nobody in schedule {schedule} has a verified contact method",
            )
        )
    for link in tier.team_links.all():
        targets.append(
            (
                list(members_with([link.team_id], Role.RESPONDER)),
                f"team {link.team} has no active responders or managers",
                f"no responder in team {link.team} has a verified contact method",
            )
        )
    reachable = reachable_ids([p for people, _, _ in targets for p in people])
    reasons, reached = [], False
    for people, empty, unreached in targets:
        if not people:
            reasons.append(empty)
        elif any(p.pk in reachable for p in people):
            reached = True
        else:
            reasons.append(unreached)
    if reached:
        return None, True
    return f"Level {number} pages nobody: {'; '.join(reasons)}.", False


def policy_warnings(policy: EscalationPolicy) -> list[str]:
    """Return what is wrong with `policy`'s levels, most specific first; [] when all page."""
    warnings, anyone = [], False
    tiers = policy.tiers.order_by("position", "id").prefetch_related(
        "users", "schedules", "team_links__team"
    )
    for number, tier in enumerate(tiers, 1):
        warning, reached = level_warning(number, tier)
        anyone = anyone or reached
        if warning:
            warnings.append(warning)
    if not anyone:
        warnings.append(NOBODY_AT_ALL)
    return warnings
