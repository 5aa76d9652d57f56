"""The fake Twilio lists messages and calls as Twilio does, and the real client reads its pages."""

import datetime as dt

import pytest
import requests
import time_machine
from twilio.base.exceptions import TwilioException

from tests.fakes.twilio import FakeTwilio
from tests.test_fake_twilio import ALICE, BOB, SENDER, client_for

CALL_URL = "https://oncall.example.com/twilio/voice/7/"


@pytest.fixture
def fake(fake_twilio: FakeTwilio) -> FakeTwilio:
    fake_twilio.reset()
    return fake_twilio


def test_messages_list_follows_pages_newest_first_and_filters_by_number(fake):
    client = client_for(fake)
    for n in range(5):
        client.messages.create(to=ALICE, from_=SENDER, body=f"page {n}")
    client.messages.create(to=BOB, from_=SENDER, body="for Bob")

    listed = client.messages.list(to=ALICE, from_=SENDER, page_size=2)

    assert [m.body for m in listed] == [f"page {n}" for n in reversed(range(5))]
    assert {m.to for m in listed} == {ALICE}
    assert [kind for kind, _ in fake.lists] == ["Messages"] * 3  # three pages of two


def test_messages_list_filters_by_date_sent(fake):
    client = client_for(fake)
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    for hours in range(3):
        with time_machine.travel(start + dt.timedelta(hours=hours), tick=False):
            client.messages.create(to=ALICE, from_=SENDER, body=f"at {12 + hours}:00")

    after = client.messages.list(to=ALICE, date_sent_after=start + dt.timedelta(minutes=30))
    before = client.messages.list(to=ALICE, date_sent_before=start + dt.timedelta(minutes=30))

    assert [m.body for m in after] == ["at 14:00", "at 13:00"]
    assert [m.body for m in before] == ["at 12:00"]
    assert after[0].date_created == start + dt.timedelta(hours=2)


def test_calls_list_filters_by_number_and_start_time(fake):
    client = client_for(fake)
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        client.calls.create(to=ALICE, from_=SENDER, url=CALL_URL)
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=False):
        late = client.calls.create(to=ALICE, from_=SENDER, url=CALL_URL)
        client.calls.create(to=BOB, from_=SENDER, url=CALL_URL)

    listed = client.calls.list(
        to=ALICE, from_=SENDER, start_time_after=start + dt.timedelta(1 / 24 / 60)
    )

    assert [c.sid for c in listed] == [late.sid]


def test_accepted_then_hung_up_is_recorded_but_unanswered(fake):
    fake.fail_next(accept=True)

    with pytest.raises(requests.ConnectionError):
        client_for(fake).messages.create(to=ALICE, from_=SENDER, body="lost answer")

    assert [m.body for m in fake.messages] == ["lost answer"]


def test_list_failure_is_an_http_error_to_the_client(fake):
    fake.fail_next(status=503, message="Service Unavailable", lists=True)

    with pytest.raises(TwilioException, match="Unable to fetch page"):
        client_for(fake).messages.list(to=ALICE)
