"""Team targets of a level: all of a team's responders, or the next one in turn (round-robin).

A team's responders are its active responders and managers (`accounts.access.members_with`),
in a stable order: by username, then id. Round-robin picks the first of them after the one
the level-team link picked last, wrapping round; someone deactivated or gone from the team is
simply not in the list, so the turn passes to the next one.

The pick is stored per firing (incident, round, tier, loop, link), in the transaction that
claimed the incident and pages: a retried step finds it and reuses it, so the pointer moves
once per firing. The pointer moves under a row lock on the link, so incidents firing the same
level at once get consecutive people.
"""

from accounts.access import members_with
from accounts.models import Role, User
from escalation.models import TeamMode, Tier, TierTeam
from escalation.planner import Position
from paging.models import Incident, RoundRobinPick


def team_responders(team_id: int) -> list[User]:
    """Return the team's people who may be paged for it, in rotation order."""
    return list(members_with([team_id], Role.RESPONDER).order_by("username", "id"))


def _after(people: list[User], last: User | None) -> User:
    """Return the first of `people` after `last` in rotation order, wrapping round."""
    if last is not None:
        key = (last.username, last.pk)
        for person in people:
            if (person.username, person.pk) > key:
                return person
    return people[0]


def _firing(incident: Incident, position: Position, link: TierTeam) -> dict:
    return {
        "incident": incident,
        "round": incident.escalation_round,
        "tier": position.tier,
        "loop": position.loop,
        "link": link,
    }


def round_robin_pick(*, incident: Incident, position: Position, link: TierTeam) -> User | None:
    """Return whom this firing of the link pages: the stored pick, else the next in turn.

    Call inside the transaction that holds the incident's claim. None: nobody to pick.
    """
    firing = _firing(incident, position, link)
    found = RoundRobinPick.objects.filter(**firing).select_related("user").first()
    if found is not None:
        return found.user
    # Lock the link alone (no join): the row read after the wait is the one another worker wrote.
    locked = TierTeam.objects.select_for_update(of=("self",)).get(pk=link.pk)
    people = team_responders(locked.team_id)
    if not people:
        return None
    last = User.objects.filter(pk=locked.last_picked_id).first() if locked.last_picked_id else None
    person = _after(people, last)
    TierTeam.objects.filter(pk=locked.pk).update(last_picked=person)
    RoundRobinPick.objects.create(**firing, user=person)
    return person


def team_targets(
    tier: Tier, firing: tuple[Incident, Position] | None
) -> tuple[list[tuple[User, str]], list[str]]:
    """Return the people the level's teams page (each with why) and what left a team empty.

    Without a firing (a preview), round-robin shows the next in turn and moves nothing.
    """
    people: list[tuple[User, str]] = []
    empty: list[str] = []
    for link in tier.team_links.all():
        if link.mode == TeamMode.ROUND_ROBIN:
            chosen = _next_of(link, firing)
        else:
            chosen = team_responders(link.team_id)
        if not chosen:
            empty.append(f"nobody to page in team {link.team}")
        people += [(person, link.why) for person in chosen]
    return people, empty


def _next_of(link: TierTeam, firing: tuple[Incident, Position] | None) -> list[User]:
    if firing is not None:
        person = round_robin_pick(incident=firing[0], position=firing[1], link=link)
        return [person] if person else []
    people = team_responders(link.team_id)
    return [_after(people, link.last_picked)] if people else []
