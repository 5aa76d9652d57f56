"""The admin front page (what matters now), `/`, and admin's small things."""

import datetime as dt
import re
from html import unescape

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext

from paging.models import Incident, Notification
from schedules.models import Layer, Schedule
from tests.factories import ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def root(client):
    user = UserFactory(username="root", is_staff=True, is_superuser=True, time_zone="Europe/Berlin")
    client.force_login(user)
    return user


def incident(summary: str, status: str = "triggered", **fields) -> Incident:
    service = ServiceFactory()
    return Incident.objects.create(service=service, summary=summary, status=status, **fields)


def exhausted(summary: str) -> Incident:
    """Return a triggered incident whose escalation ran out: paged, and no next step due."""
    return incident(summary, escalation_tier=2, escalation_due_at=None)


def escalating(summary: str) -> Incident:
    return incident(summary, escalation_tier=0, escalation_due_at=NOW + dt.timedelta(minutes=5))


def failed(person, summary: str, *, age: dt.timedelta) -> Notification:
    note = Notification.objects.create(
        incident=incident(summary),
        user=person,
        tier=0,
        rule_key=summary,
        kind="sms",
        address="+15550100",
        due_at=NOW - age,
        status="failed",
    )
    Notification.objects.filter(pk=note.pk).update(created_at=NOW - age)
    return note


def section(page: str, heading: str) -> str:
    """Return the front page's section under `heading`, up to the next section."""
    match = re.search(rf"<h2[^>]*>{heading}</h2>(.*?)</section>", page, re.S)
    assert match, f"no {heading!r} section"
    return match.group(1)


def link_to(html: str, text: str) -> str:
    """Return the href of the link whose text contains `text`."""
    for href, inner in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html, re.S):
        if text in inner:
            return unescape(href)
    raise AssertionError(f"no link with {text!r} in {html}")


def front(client) -> str:
    with time_machine.travel(NOW, tick=False):
        return client.get("/admin/").content.decode()


def test_front_page_lists_open_incidents_by_state_exhausted_first_each_linking_to_its_list(
    client, root
):
    exhausted("Disk full on db1")
    escalating("Queue backlog")
    incident("Slow checkout", status="acknowledged")
    incident("Old outage", status="resolved")

    page = section(front(client), "Open incidents")

    assert page.index("Exhausted") < page.index("Triggered") < page.index("Acknowledged")
    assert "Old outage" not in page
    listed = client.get(link_to(page, "Exhausted")).content.decode()
    assert "Disk full on db1" in listed
    assert "Queue backlog" not in listed and "Slow checkout" not in listed
    listed = client.get(link_to(page, "Triggered")).content.decode()
    assert "Queue backlog" in listed and "Disk full on db1" not in listed
    listed = client.get(link_to(page, "Acknowledged")).content.decode()
    assert "Slow checkout" in listed and "Queue backlog" not in listed


def test_front_page_names_who_is_on_call_now_on_each_schedule(client, root, alice, bob):
    primary = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")
    layer = Layer.objects.create(schedule=primary, handoff_date="2026-11-30", shift_unit="weeks")
    layer.members.create(user=alice, position=0)
    Schedule.objects.create(name="Empty rota", time_zone="UTC")

    page = section(front(client), "On call now")

    assert re.search(r"Primary.*?Alice Adams", page, re.S)
    assert re.search(r"Empty rota.*?nobody", page, re.S)
    assert "Bob" not in page
    assert "/admin/schedules/schedule/" in link_to(page, "All schedules")


def test_front_page_counts_failed_notifications_of_the_last_24_hours_linking_to_them(
    client, root, alice
):
    failed(alice, "Fresh failure", age=dt.timedelta(hours=2))
    failed(alice, "Stale failure", age=dt.timedelta(hours=30))

    page = section(front(client), "Failed notifications")

    assert "1 in the last 24 hours" in page
    with time_machine.travel(NOW, tick=False):
        listed = client.get(link_to(page, "1 in the last 24 hours")).content.decode()
    assert "Fresh failure" in listed and "Stale failure" not in listed


def test_front_page_shows_times_in_the_viewers_zone_naming_it(client, root):
    exhausted("Disk full on db1")
    Incident.objects.update(created_at=NOW)

    page = front(client)

    # 10:00 UTC is 11:00 in Berlin in winter.
    assert "2026-12-05 11:00 CET" in section(page, "Open incidents")
    assert "Times in Europe/Berlin" in page


def test_root_is_the_responder_apps_now_page_with_a_link_to_admin_for_staff(client, root):
    response = client.get("/")

    assert response.status_code == 200
    assert 'href="/admin/"' in response.content.decode()


def test_root_sends_everyone_else_to_the_sign_in_page(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"
    assert client.get(response["Location"]).status_code == 200


def test_view_site_leads_to_the_api_docs(client, root):
    page = client.get("/admin/").content.decode()

    url = link_to(page, "View site")
    assert url == "/api/v1/docs/"
    assert client.get(url).status_code == 200


def test_groups_are_not_offered_in_admin(client, root):
    page = front(client)

    assert "Groups" not in page
    assert client.get("/admin/auth/group/").status_code == 404


def test_api_tokens_are_named_api_tokens_in_admin(client, root):
    page = front(client)

    assert "API tokens" in page and "Api tokens" not in page


def test_admin_pages_load_our_small_screen_stylesheet_from_static_files(client, root):
    page = client.get("/admin/paging/incident/").content.decode()

    (url,) = re.findall(r'href="([^"]*oncall\.css)"', page)
    assert finders.find("admin/css/oncall.css")
    assert url.endswith("admin/css/oncall.css")


def test_front_page_caps_the_on_call_list(client, root):
    Schedule.objects.bulk_create(Schedule(name=f"Rota {n:02}", time_zone="UTC") for n in range(30))

    page = section(front(client), "On call now")

    assert page.count("nobody") == 20
    assert "10 more" in page


def _front_queries(client, schedules: int) -> int:
    for _ in range(schedules):
        rota = Schedule.objects.create(name=f"Rota {Schedule.objects.count()}", time_zone="UTC")
        layer = Layer.objects.create(schedule=rota, handoff_date="2026-11-30", shift_unit="weeks")
        layer.members.create(user=UserFactory(), position=0)
    with CaptureQueriesContext(connection) as queries:
        front(client)
    return len(queries)


def test_front_page_reads_who_is_on_call_in_the_same_queries_for_1_or_10_schedules(client, root):
    assert _front_queries(client, 1) == _front_queries(client, 9)


def test_front_page_works_with_nothing_open(client, root):
    page = front(client)

    assert "No open incidents" in section(page, "Open incidents")
    assert "None in the last 24 hours" in section(page, "Failed notifications")
