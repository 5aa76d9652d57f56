"""A worker that stalls between claiming a page and sending it never sends it a second time.

The sweeper takes a page back once its claim is older than the provider's bound plus a little,
and another worker sends it. Here the first worker is held at the number's SMS limit (its row
locked by the test) well past that, while the sweeper's worker asks Twilio, finds nothing, and
waits behind it; both then go on.
"""

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from paging.engine import incident_escalate, sweep
from paging.models import Notification, PhoneLimit
from paging.notify.delivery import notification_deliver
from tests.paging.notify.conftest import ALICE_PHONE
from tests.paging.notify.test_early_callbacks import in_thread, waiting_on_locks
from tests.paging.test_escalation_engine import timeline, trigger
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql]


def sweep_a_minute_later() -> dict[str, int]:
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1), tick=False):
        return sweep()


def test_worker_stalled_past_its_claim_leaves_the_page_to_the_worker_that_took_it_over(
    twilio, payments
):
    incident = trigger(payments)
    (pk,) = incident_escalate(incident.pk)
    PhoneLimit.objects.get_or_create(phone=ALICE_PHONE)
    with transaction.atomic():
        PhoneLimit.objects.select_for_update().get(phone=ALICE_PHONE)
        first, first_outcome = in_thread(lambda: notification_deliver(pk))
        wait_until(lambda: waiting_on_locks() == 1, what="the first worker to wait at the limit")
        second, _ = in_thread(sweep_a_minute_later)
        wait_until(lambda: waiting_on_locks() == 2, what="the sweeper's worker to wait too")
    first.join(10)
    second.join(10)

    assert first_outcome == ["taken over"]
    (sms,) = twilio.messages
    notification = Notification.objects.get()
    assert (notification.status, notification.provider_id) == ("sent", sms.sid)
    assert timeline(incident).count("SMS sent to Alice Adams") == 1
