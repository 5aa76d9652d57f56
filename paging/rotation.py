"""Team targets of a level: all of a team's responders, or the next one in turn (round-robin).

A team's responders are its active responders and managers (`accounts.access.members_with`),
in a stable order: by username, then id. Round-robin picks the first of them after the one
the level-team link picked last, wrapping round; someone deactivated or gone from the team is
simply not in the list, so the turn passes to the next one. Someone who cannot be reached (the
engine says who: no verified contact method, every method unusable) is passed over too, and the
timeline names them and why; when nobody can be reached the pointer stays where it was.

The pick is stored per firing (incident, round, tier, loop, link), in the transaction that
claimed the incident and pages: a retried step finds it and reuses it, so the pointer moves
once per firing. The pointer moves under a row lock on the link, so incidents firing the same
level at once get consecutive people.
"""

from collections.abc import Callable

from accounts.access import members_with
from accounts.models import Role, User
from escalation.models import TeamMode, Tier, TierTeam
from escalation.planner import Position
from paging.models import Incident, RoundRobinPick

# Given people, return why each one who cannot be reached cannot be, by user id (the engine's
# rules: no contact methods, none verified, every one unusable). Passed in: the engine is above.
Unreachable = Callable[[list[User]], dict[int, str]]


def team_responders(team_id: int) -> list[User]:
    """Return the team's people who may be paged for it, in rotation order."""
    return list(members_with([team_id], Role.RESPONDER).order_by("username", "id"))


def _in_turn(people: list[User], last: User | None) -> list[User]:
    """Return `people` in turn: from the first after `last` in rotation order, wrapping round."""
    if last is None:
        return people
    key = (last.username, last.pk)
    start = next((i for i, p in enumerate(people) if (p.username, p.pk) > key), 0)
    return people[start:] + people[:start]


def _next_reachable(
    people: list[User], last: User | None, unreachable: Unreachable
) -> tuple[User | None, list[tuple[User, str]]]:
    """Return the first reachable person in turn after `last`, and who was passed over and why.

    None when nobody is reachable: then the list says why for everyone.
    """
    reasons = unreachable(people) if people else {}
    passed = []
    for person in _in_turn(people, last):
        if person.pk not in reasons:
            return person, passed
        passed.append((person, reasons[person.pk]))
    return None, passed


def _firing(incident: Incident, position: Position, link: TierTeam) -> dict:
    return {
        "incident": incident,
        "round": incident.escalation_round,
        "tier": position.tier,
        "loop": position.loop,
        "link": link,
    }


def round_robin_pick(
    *, incident: Incident, position: Position, link: TierTeam, unreachable: Unreachable
) -> tuple[User | None, list[tuple[User, str]]]:
    """Return whom this firing of the link pages (the stored pick, else the next reachable one
    in turn) and who was passed over and why (for a stored pick: nobody, it was said then).

    Call inside the transaction that holds the incident's claim. None: nobody to pick.
    """
    firing = _firing(incident, position, link)
    found = RoundRobinPick.objects.filter(**firing).select_related("user").first()
    if found is not None:
        return found.user, []
    # Lock the link alone (no join): the row read after the wait is the one another worker wrote.
    locked = TierTeam.objects.select_for_update(of=("self",)).get(pk=link.pk)
    last = User.objects.filter(pk=locked.last_picked_id).first() if locked.last_picked_id else None
    person, passed = _next_reachable(team_responders(locked.team_id), last, unreachable)
    if person is not None:
        TierTeam.objects.filter(pk=locked.pk).update(last_picked=person)
        RoundRobinPick.objects.create(**firing, user=person)
    return person, passed


def team_targets(
    tier: Tier, firing: tuple[Incident, Position] | None, unreachable: Unreachable
) -> tuple[list[tuple[User, str]], list[str]]:
    """Return the people the level's teams page (each with why) and what left a team empty.

    Without a firing (a preview), round-robin shows the next in turn and moves nothing.
    """
    people: list[tuple[User, str]] = []
    empty: list[str] = []
    for link in tier.team_links.all():
        if link.mode != TeamMode.ROUND_ROBIN:
            chosen = team_responders(link.team_id)
            if not chosen:
                empty.append(f"nobody to page in team {link.team}")
            people += [(person, link.why) for person in chosen]
            continue
        person, passed = _next_of(link, firing, unreachable)
        if person is not None:
            passed_over = [f"{p} passed over: {reason}" for p, reason in passed]
            people.append((person, "; ".join([link.why, *passed_over])))
        elif passed:
            everyone = ", ".join(f"{p}: {reason}" for p, reason in passed)
            empty.append(f"nobody reachable in team {link.team} ({everyone})")
        else:
            empty.append(f"nobody to page in team {link.team}")
    return people, empty


def _next_of(
    link: TierTeam, firing: tuple[Incident, Position] | None, unreachable: Unreachable
) -> tuple[User | None, list[tuple[User, str]]]:
    if firing is not None:
        incident, position = firing
        return round_robin_pick(
            incident=incident, position=position, link=link, unreachable=unreachable
        )
    return _next_reachable(team_responders(link.team_id), link.last_picked, unreachable)
