"""What happens next in an escalation: a pure function of the policy's shape, the state and now.

No queries and no clock reads. A position is (tier, loop): tier 0 is Level 1. The engine in
`paging` stores the state on the incident (position paged last, when the next step is due) and
asks `decide` what to do at an instant.

The policy may have been edited since the position was stored: a position past the last tier
or a loop past the repeats is not an error, the walk simply goes on from there (to the next
loop, or to the end). Edits so apply from the next step on.
"""

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyShape:
    """The parts of a policy the planner needs: each tier's acknowledgement timeout, and repeats."""

    timeouts: tuple[dt.timedelta, ...]
    repeat: int = 0


@dataclass(frozen=True)
class Position:
    tier: int
    loop: int = 0

    @property
    def level(self) -> int:
        """Return the tier's number as people see it (Level 1 is tier 0)."""
        return self.tier + 1


@dataclass(frozen=True)
class State:
    """An incident's escalation state: the position paged last (None: none yet), the due time."""

    position: Position | None
    due_at: dt.datetime | None


@dataclass(frozen=True)
class Step:
    """A tier to page now, and when the step after it falls due if nobody acknowledges."""

    position: Position
    next_due: dt.datetime


@dataclass(frozen=True)
class Wait:
    """Nothing to do before `until`."""

    until: dt.datetime


@dataclass(frozen=True)
class Exhausted:
    """Every tier of every loop has been paged: nothing more will be."""


@dataclass(frozen=True)
class Idle:
    """No step is scheduled (acknowledged, resolved, or already exhausted)."""


Decision = Step | Wait | Exhausted | Idle


def next_position(policy: PolicyShape, current: Position | None) -> Position | None:
    """Return the position after `current` (None: the start), or None once repeats are spent."""
    if not policy.timeouts:
        return None
    if current is None:
        return Position(tier=0, loop=0)
    if current.loop > policy.repeat:
        return None  # repeats were lowered below the loop already running
    if current.tier + 1 < len(policy.timeouts):
        return Position(tier=current.tier + 1, loop=current.loop)
    if current.loop < policy.repeat:
        return Position(tier=0, loop=current.loop + 1)
    return None


def plan(policy: PolicyShape, current: Position | None, now: dt.datetime) -> Step | None:
    """Return the step due at `now` after `current`, or None when escalation is exhausted."""
    position = next_position(policy, current)
    if position is None:
        return None
    return Step(position=position, next_due=now + policy.timeouts[position.tier])


def decide(policy: PolicyShape, state: State, now: dt.datetime) -> Decision:
    """Return what is due at `now`: a tier to page, a wait, the end, or nothing scheduled."""
    if state.due_at is None:
        return Idle()
    if now < state.due_at:
        return Wait(until=state.due_at)
    step = plan(policy, state.position, now)
    return Exhausted() if step is None else step


def remaining(policy: PolicyShape, current: Position | None) -> int:
    """Return how many steps are left after `current` (the bound of any walk from it)."""
    count, position = 0, current
    while (position := next_position(policy, position)) is not None:
        count += 1
    return count
