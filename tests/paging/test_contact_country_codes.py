"""Premium-rate and satellite numbers cost us per SMS and call: they cannot be added at all
(unless a setting allows them), through admin, the API or `oncall apply` alike."""

import io
import textwrap

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from paging.models import ContactMethod
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SATELLITE = "+881631234567"  # Iridium
PREMIUM = "+979123456789"  # international premium rate


@pytest.fixture
def dave(db):
    return UserFactory(username="dave", first_name="Dave", last_name="Diaz")


@pytest.mark.parametrize(("address", "words"), [(SATELLITE, "satellite"), (PREMIUM, "premium")])
def test_satellite_or_premium_number_is_400_naming_address_and_nothing_is_sent(
    twilio, dave, address, words
):
    body = {"user": dave.pk, "kind": "sms", "address": address}

    response = client_for(dave).post("/api/v1/contact-methods/", body, format="json")

    assert response.status_code == 400
    (message,) = response.json()["address"]
    assert f"Numbers starting {address[:4]}" in message and words in message
    assert not ContactMethod.objects.exists()
    assert twilio.messages == [] and twilio.calls == []


def test_changing_a_number_to_a_satellite_one_is_400_and_keeps_the_old(twilio, alice):
    method = alice.contact_methods.get()

    response = client_for(alice).patch(
        f"/api/v1/contact-methods/{method.pk}/", {"address": SATELLITE}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["address"]
    method.refresh_from_db()
    assert (method.address, method.verified) == ("+15550100001", True)


def test_admin_refuses_a_satellite_call_number_in_words(twilio, dave, client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:paging_contactmethod_add"),
        {"user": dave.pk, "name": "sat", "kind": "voice", "address": SATELLITE},
    )

    assert response.status_code == 200  # the form again, with the error
    assert "Numbers starting +881 (satellite phones) cannot be added" in response.content.decode()
    assert not ContactMethod.objects.exists()


def test_apply_refuses_a_premium_number_naming_its_place(tmp_path, twilio):
    path = tmp_path / "oncall.yaml"
    path.write_text(
        textwrap.dedent(f"""
        users:
          - username: erin
            contact_methods:
              - {{name: phone, type: sms, address: "+15550100071"}}
              - {{name: odd, type: voice, address: "{PREMIUM}"}}
        """)
    )

    with pytest.raises(CommandError, match=r"users\[0\]\.contact_methods\[1\]\.address: Numbers"):
        call_command("oncall", "apply", str(path), stdout=io.StringIO())
    assert not ContactMethod.objects.exists()


def test_allowed_country_codes_refuse_others_and_can_allow_a_refused_range(twilio, dave, settings):
    settings.CONTACT_ALLOWED_COUNTRY_CODES = ["+1", "+881"]
    api = client_for(dave)

    uk = api.post(
        "/api/v1/contact-methods/",
        {"user": dave.pk, "kind": "sms", "address": "+447700900123"},
        format="json",
    )
    sat = api.post(
        "/api/v1/contact-methods/", {"user": dave.pk, "kind": "sms", "address": SATELLITE}
    )

    assert uk.status_code == 400
    assert "Only numbers starting +1, +881 can be added" in uk.json()["address"][0]
    assert sat.status_code == 201


def test_email_addresses_are_not_phone_numbers(twilio, dave):
    body = {"user": dave.pk, "kind": "email", "address": "881@example.com"}

    assert client_for(dave).post("/api/v1/contact-methods/", body).status_code == 201
