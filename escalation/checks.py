"""Warnings about a saved policy that would page nobody, in words an admin can act on."""

from accounts.access import members_with
from accounts.models import Role
from accounts.people import unpageable_reason
from escalation.models import EscalationPolicy, Tier
from schedules.models import ImportedEvent, LayerMember, Schedule

NOBODY_AT_ALL = "This policy pages nobody at all: no level reaches a verified contact method."


def reachable(user) -> bool:
    """Return whether `user` can be paged: may be paged at all, and has a verified method."""
    return unpageable_reason(user) is None and user.contact_methods.filter(verified=True).exists()


def schedule_people(schedule: Schedule) -> set:
    """Return everyone the schedule's layers name: rotation participants and calendar people."""
    members = LayerMember.objects.filter(layer__schedule=schedule).select_related("user")
    events = ImportedEvent.objects.filter(layer__schedule=schedule).select_related("user")
    return {m.user for m in members} | {e.user for e in events}


def level_warning(number: int, tier: Tier) -> tuple[str | None, bool]:
    """Return (the warning about Level `number` if it pages nobody, whether it reaches anyone)."""
    reasons, reached = [], False
    for user in tier.users.all():
        if reachable(user):
            reached = True
        else:
            reasons.append(f"{user} has no verified contact method")
    for schedule in tier.schedules.all():
        people = schedule_people(schedule)
        if not people:
            reasons.append(f"schedule {schedule} has nobody in its layers")
        elif any(reachable(p) for p in people):
            reached = True
        else:
            reasons.append(f"nobody in schedule {schedule} has a verified contact method")
    for link in tier.team_links.all():
        people = members_with([link.team_id], Role.RESPONDER)
        if not people:
            reasons.append(f"team {link.team} has no active responders or managers")
        elif any(reachable(p) for p in people):
            reached = True
        else:
            reasons.append(f"no responder in team {link.team} has a verified contact method")
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
