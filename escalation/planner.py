"""What happens next in an escalation: a pure function of the policy's shape and the position.

No queries and no clock reads. A position is (tier, loop): tier 0 is Level 1. The engine in
`paging` stores the position on the incident and asks this module where to go next.
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
class Step:
    """A tier to page now, and when the step after it falls due if nobody acknowledges."""

    position: Position
    next_due: dt.datetime


def next_position(policy: PolicyShape, current: Position | None) -> Position | None:
    """Return the position after `current` (None: the start), or None once repeats are spent."""
    if not policy.timeouts:
        return None
    if current is None:
        return Position(tier=0, loop=0)
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
