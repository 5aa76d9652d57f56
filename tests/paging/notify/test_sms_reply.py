"""Acknowledging and resolving by replying to the page SMS, and delivery status callbacks."""

import uuid

import pytest
from twilio.request_validator import RequestValidator

from paging.actions import incident_resolve
from paging.engine import incident_escalate
from paging.models import Incident, Notification
from paging.notify.delivery import notification_deliver
from tests.factories import ServiceFactory
from tests.paging.test_escalation_engine import timeline, trigger

pytestmark = pytest.mark.django_db


def signed_post(client, twilio, path, params, *, valid=True):
    signature = RequestValidator(twilio.auth_token).compute_signature(
        f"http://testserver{path}", params
    )
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature if valid else "forged")


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def reply(client, twilio, phone, text, *, valid=True):
    params = {"From": phone, "To": "+15559990000", "Body": text, "MessageSid": new_sid()}
    return signed_post(client, twilio, "/twilio/sms/", params, valid=valid)


@pytest.fixture
def paged(twilio, payments):
    """An incident whose Level 1 page reached Alice."""
    incident = trigger(payments)
    for pk in incident_escalate(incident.pk):
        notification_deliver(pk)
    return incident


def test_reply_1a_acknowledges_incident(client, twilio, paged, alice):
    response = reply(client, twilio, "+15550100001", "1A")

    assert response.status_code == 200
    assert f"Acknowledged #{paged.pk}" in response.content.decode()
    paged.refresh_from_db()
    assert (paged.status, paged.acknowledged_by) == ("acknowledged", alice)
    assert timeline(paged)[-1] == "Acknowledged by Alice Adams via SMS"


def test_reply_is_case_and_space_insensitive(client, twilio, paged):
    reply(client, twilio, "+15550100001", " 1 a ")

    paged.refresh_from_db()
    assert paged.status == "acknowledged"


def test_reply_1r_resolves_incident(client, twilio, paged):
    response = reply(client, twilio, "+15550100001", "1R")

    assert f"Resolved #{paged.pk}" in response.content.decode()
    paged.refresh_from_db()
    assert paged.status == "resolved"


def test_reply_with_bad_signature_is_403_and_changes_nothing(client, twilio, paged):
    response = reply(client, twilio, "+15550100001", "1A", valid=False)

    assert response.status_code == 403
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_reply_without_twilio_configured_is_403(client, paged, settings):
    settings.TWILIO_AUTH_TOKEN = ""

    response = client.post("/twilio/sms/", {"From": "+15550100001", "Body": "1A"})

    assert response.status_code == 403


def test_reply_from_another_number_cannot_acknowledge(client, twilio, paged, bob):
    response = reply(client, twilio, "+15550100002", "1A")

    assert "No open incident has code 1" in response.content.decode()
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_unknown_text_gets_help(client, twilio, paged):
    response = reply(client, twilio, "+15550100001", "ok thanks")

    assert "Not understood" in response.content.decode()


def test_each_open_incident_gets_its_own_code_and_a_closed_ones_code_is_kept(twilio, alice):
    service = ServiceFactory(escalation_policy__levels=[[alice]])

    def page(summary):
        incident = trigger(service, summary)
        for pk in incident_escalate(incident.pk):
            notification_deliver(pk)
        return incident

    first, _second = page("one"), page("two")
    incident_resolve(incident=first, by=None, via="test")
    page("three")

    codes = [m.body.split("reply ")[1].split("A")[0] for m in twilio.messages]
    assert codes == ["1", "2", "3"]


def test_status_callback_records_delivery(client, twilio, paged):
    notification = Notification.objects.get()
    (sms,) = twilio.messages
    params = {"MessageSid": sms.sid, "MessageStatus": "delivered", "AccountSid": "AC1"}

    response = signed_post(client, twilio, f"/twilio/status/{notification.pk}/", params)

    assert response.status_code == 200
    notification.refresh_from_db()
    assert notification.status == "delivered"
    assert timeline(Incident.objects.get())[-1] == "SMS to Alice Adams delivered"


def test_status_callback_for_unknown_message_is_200(client, twilio, paged):
    params = {"MessageSid": "SMunknown", "MessageStatus": "delivered"}

    response = signed_post(client, twilio, "/twilio/status/999999/", params)

    assert response.status_code == 200
