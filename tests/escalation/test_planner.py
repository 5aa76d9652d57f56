"""The pure escalation planner."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from escalation.planner import PolicyShape, Position, next_position, plan

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def walk(policy: PolicyShape) -> list[tuple[int, int]]:
    steps, current = [], None
    while (current := next_position(policy, current)) is not None:
        steps.append((current.level, current.loop))
    return steps


def test_levels_run_in_order_then_stop():
    assert walk(PolicyShape(timeouts=(MINUTE,) * 3)) == [(1, 0), (2, 0), (3, 0)]


def test_repeat_loops_over_all_levels():
    policy = PolicyShape(timeouts=(MINUTE, MINUTE), repeat=2)

    assert walk(policy) == [(1, 0), (2, 0), (1, 1), (2, 1), (1, 2), (2, 2)]


def test_policy_without_tiers_has_nothing_to_do():
    assert plan(PolicyShape(timeouts=()), None, NOW) is None


def test_next_step_is_due_after_the_tier_timeout():
    policy = PolicyShape(timeouts=(MINUTE, 5 * MINUTE))

    step = plan(policy, Position(tier=0), NOW)

    assert step.position == Position(tier=1)
    assert step.next_due == NOW + 5 * MINUTE


@given(tiers=st.integers(1, 6), repeat=st.integers(0, 5))
def test_every_tier_is_paged_once_per_loop(tiers, repeat):
    steps = walk(PolicyShape(timeouts=(MINUTE,) * tiers, repeat=repeat))

    assert len(steps) == tiers * (repeat + 1)
    assert sorted(set(steps)) == sorted(steps)
    assert steps == sorted(steps, key=lambda s: (s[1], s[0]))
