"""The pure escalation planner."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from escalation.planner import (
    Exhausted,
    Idle,
    PolicyShape,
    Position,
    State,
    Step,
    Wait,
    decide,
    next_position,
    plan,
    remaining,
)

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


timeouts = st.lists(st.integers(1, 3600).map(lambda s: dt.timedelta(seconds=s)), max_size=6)
policies = st.builds(
    PolicyShape, timeouts=timeouts.map(tuple), repeat=st.integers(min_value=0, max_value=4)
)
positions = st.none() | st.builds(Position, tier=st.integers(0, 8), loop=st.integers(0, 6))
instants = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@given(policy=policies, position=positions, now=instants)
def test_next_position_is_always_a_tier_of_the_policy_within_its_repeats(policy, position, now):
    step = plan(policy, position, now)

    if step is not None:
        assert 0 <= step.position.tier < len(policy.timeouts)
        assert 0 <= step.position.loop <= policy.repeat
        assert step.next_due == now + policy.timeouts[step.position.tier]


@given(policy=policies, position=positions)
def test_positions_only_move_forward_and_the_walk_ends(policy, position):
    walked = 0
    current = position
    while (following := next_position(policy, current)) is not None:
        if current is not None:
            assert (following.loop, following.tier) > (current.loop, current.tier) or (
                current.tier >= len(policy.timeouts) and following.tier == 0
            )
        current = following
        walked += 1
        assert walked <= len(policy.timeouts) * (policy.repeat + 1)
    assert walked == remaining(policy, position)


@given(policy=policies, position=positions, due=instants, now=instants)
def test_decide_waits_until_due_then_pages_or_says_exhausted(policy, position, due, now):
    decision = decide(policy, State(position=position, due_at=due), now)

    if now < due:
        assert decision == Wait(until=due)
    elif next_position(policy, position) is None:
        assert decision == Exhausted()
    else:
        assert decision == plan(policy, position, now)


@given(policy=policies, position=positions, now=instants)
def test_nothing_scheduled_means_nothing_to_do(policy, position, now):
    assert decide(policy, State(position=position, due_at=None), now) == Idle()


@given(policy=policies, start=instants)
def test_walking_the_policy_pages_every_level_of_every_loop_at_its_time(policy, start):
    state, now, paged = State(position=None, due_at=start), start, []
    while isinstance(decision := decide(policy, state, now), Step):
        paged.append((decision.position.loop, decision.position.tier))
        assert decision.next_due - now == policy.timeouts[decision.position.tier]
        state = State(position=decision.position, due_at=decision.next_due)
        now = decision.next_due

    expected = [(loop, t) for loop in range(policy.repeat + 1) for t in range(len(policy.timeouts))]
    assert paged == expected
    assert decision == Exhausted()


def test_lowered_repeat_ends_the_running_loop():
    policy = PolicyShape(timeouts=(MINUTE, MINUTE), repeat=1)

    assert next_position(policy, Position(tier=0, loop=3)) is None


def test_position_past_a_shrunk_policy_goes_on_to_the_next_loop():
    policy = PolicyShape(timeouts=(MINUTE,), repeat=1)

    assert next_position(policy, Position(tier=4, loop=0)) == Position(tier=0, loop=1)
