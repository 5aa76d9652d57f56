"""A page call end to end: a real worker places it, Twilio (fake) fetches TwiML, key 4 acks."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from paging.models import Incident, NotificationRule
from tests.e2e.test_page_flow import post_alert, service_paging
from tests.factories import ContactMethodFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_alert_calls_level_1_and_key_4_acknowledges(e2e, twilio, alice, bob):
    phone = ContactMethodFactory(user=alice, kind="voice", address="+15550100001", name="phone")
    NotificationRule.objects.create(user=alice, contact_method=phone)
    integration = service_paging(alice, bob, dt.timedelta(minutes=5))

    (incident_id,) = post_alert(e2e, integration, summary="Disk full on db1")["incidents"]
    call = wait_until(lambda: twilio.calls, timeout=20, what="the page call")[0]
    status, twiml = twilio.answer_call(call)
    assert status == 200
    assert f"incident {incident_id} on payments" in ET.fromstring(twiml).find("Gather/Say").text

    status, answer = twilio.press(call, twiml, "4")

    assert status == 200
    assert f"Acknowledged incident {incident_id}, payments" in answer
    incident = Incident.objects.get(pk=incident_id)
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", alice)
    assert twilio.messages == []
