"""The responder app's pages as each persona sees them, and the one-tap actions."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from paging.actions import incident_acknowledge
from paging.models import Incident, IncidentStatus
from schedules.models import Layer, Override, Schedule
from tests.factories import ServiceFactory
from tests.web.conftest import page

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def text(response) -> str:
    """Return the page's visible words, tags removed and spaces collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(body.split())


@pytest.mark.parametrize("path", ["/", "/incidents/", "/incidents/1/", "/incidents/1/live/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_root_leads_to_sign_in_and_the_page_says_how_to_set_a_password(client):
    response = client.get("/", follow=True)

    assert response.redirect_chain == [("/login/?next=/", 302)]
    assert "Set or reset your password" in text(response)


def test_now_shows_my_teams_open_incident_with_its_buttons(client, rita, incident):
    response = signed_in(client, rita).get("/")

    words = text(response)
    assert response.status_code == 200
    assert "Open incidents for me: 1" in words
    assert f"#{incident.pk} Checkout error rate above 5%" in words
    assert "triggered" in words and "Level 1 of 1, loop 1" in words
    for action in ("acknowledge", "resolve", "escalate"):
        assert f'action="/incidents/{incident.pk}/{action}/"' in response.content.decode()
    assert 'href="/admin/"' not in response.content.decode()  # a responder gets no admin link


def test_now_lists_triggered_before_acknowledged_then_by_severity_then_newest(
    client, rita, checkout
):
    def make(summary, severity, status="triggered"):
        return Incident.objects.create(
            service=checkout, dedup_key=summary, summary=summary, severity=severity, status=status
        )

    make("old warning", "warning")
    make("acked critical", "critical", status="acknowledged")
    make("new info", "info")
    make("critical one", "critical")
    make("newer warning", "warning")
    make("closed", "critical", status="resolved")

    words = text(signed_in(client, rita).get("/"))

    order = ["critical one", "newer warning", "old warning", "new info", "acked critical"]
    positions = [words.index(summary) for summary in order]
    assert positions == sorted(positions)
    assert "closed" not in words


def test_a_person_paged_from_another_team_sees_it_on_now_and_may_act(client, pam, incident):
    client = signed_in(client, pam)

    assert "Checkout error rate above 5%" in text(client.get("/"))
    response = client.post(f"/incidents/{incident.pk}/acknowledge/", {"next": "/"})

    assert response.status_code == 302 and response["Location"] == "/"
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACKNOWLEDGED and incident.acknowledged_by == pam


def test_an_outsider_does_not_see_it_on_now(client, sam, incident):
    assert "Open incidents for me: 0" in text(signed_in(client, sam).get("/"))


def test_site_admin_gets_the_pages_and_a_link_to_admin(client, root, incident):
    client = signed_in(client, root)

    assert 'href="/admin/"' in client.get("/").content.decode()
    assert client.get("/incidents/?scope=all").status_code == 200
    assert "Checkout error rate above 5%" in text(client.get(f"/incidents/{incident.pk}/"))


def test_a_team_manager_gets_a_link_to_admin(client, payments_team):
    from tests.web.conftest import member

    manager = member(payments_team, "manager", "mia")

    assert 'href="/admin/"' in signed_in(client, manager).get("/").content.decode()


def test_one_tap_acknowledge_changes_the_incident_and_its_timeline_says_who_and_web(
    client, rita, incident
):
    client = signed_in(client, rita)

    response = client.post(f"/incidents/{incident.pk}/acknowledge/", {"next": "/"}, follow=True)

    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACKNOWLEDGED
    assert incident.acknowledged_via == "web"
    assert f"#{incident.pk} acknowledged." in text(response)
    last = incident.timeline.last()
    assert last.message == "Acknowledged by Rita Reyes via web" and last.actor == rita


def test_acknowledge_through_fetch_answers_the_redrawn_row(client, rita, incident):
    client = signed_in(client, rita)

    response = client.post(
        f"/incidents/{incident.pk}/acknowledge/",
        {"next": "/", "part": "row"},
        headers={"X-Requested-With": "fetch"},
    )

    body = response.json()
    assert response.status_code == 200
    assert body["message"] == f"#{incident.pk} acknowledged."
    assert "status-acknowledged" in body["html"]
    assert "/acknowledge/" not in body["html"]  # acknowledged: that button is gone
    assert 'value="/"' in body["html"]  # its remaining forms still come back to Now


def test_an_observers_acknowledge_is_refused_in_words_and_changes_nothing(client, otto, incident):
    client = signed_in(client, otto)

    page_words = text(client.get(f"/incidents/{incident.pk}/"))
    response = client.post(f"/incidents/{incident.pk}/acknowledge/", follow=True)
    fetched = client.post(
        f"/incidents/{incident.pk}/acknowledge/", headers={"X-Requested-With": "fetch"}
    )

    assert "You may read this incident" in page_words
    assert "Not acknowledged: you may read" in text(response)
    assert "responders of Payments and the people it paged" in text(response)
    assert fetched.status_code == 403 and "Not acknowledged" in fetched.json()["message"]
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED
    assert not incident.timeline.filter(kind="acknowledged").exists()


def test_acknowledging_twice_says_why_nothing_changed(client, rita, incident):
    client = signed_in(client, rita)
    client.post(f"/incidents/{incident.pk}/acknowledge/")

    response = client.post(
        f"/incidents/{incident.pk}/acknowledge/", headers={"X-Requested-With": "fetch"}
    )

    assert response.status_code == 409
    assert response.json()["message"] == (
        "Not acknowledged: the incident is acknowledged; only a triggered one can be acknowledged"
    )


def test_escalating_twice_within_the_limit_is_refused_with_the_time_to_wait(client, rita, incident):
    client = signed_in(client, rita)
    fetch = {"X-Requested-With": "fetch"}
    first = client.post(f"/incidents/{incident.pk}/escalate/", headers=fetch)

    second = client.post(f"/incidents/{incident.pk}/escalate/", headers=fetch)

    assert first.status_code == 200
    assert second.status_code == 429 and int(second["Retry-After"]) > 0
    assert (
        "Not escalated: it was escalated by hand less than 1 minute ago"
        in (second.json()["message"])
    )
    assert incident.timeline.filter(kind="escalated").count() == 1


def test_actions_answer_only_post_and_known_names(client, rita, incident):
    client = signed_in(client, rita)

    assert client.get(f"/incidents/{incident.pk}/acknowledge/").status_code == 405
    assert client.post(f"/incidents/{incident.pk}/delete/").status_code == 404


def test_a_foreign_next_is_not_followed(client, rita, incident):
    response = signed_in(client, rita).post(
        f"/incidents/{incident.pk}/resolve/", {"next": "https://evil.example/"}
    )

    assert response["Location"] == f"/incidents/{incident.pk}/"


def test_incident_page_shows_summary_state_timeline_pages_details_and_safe_links(
    client, rita, incident
):
    incident_acknowledge(incident=incident, by=rita, via="SMS")
    response = signed_in(client, rita).get(f"/incidents/{incident.pk}/")
    html = response.content.decode()
    words = text(response)

    assert response.status_code == 200
    for expected in (
        "Checkout error rate above 5%",
        "Checkout",
        "critical",
        "acknowledged",
        "Level 1 of 1, loop 1",
        "Acknowledged by Rita Reyes via SMS",
        "Pam Park · SMS · Level 1 · sent",
        "host web-3",
    ):
        assert expected in words, expected
    assert '<a href="https://grafana.example/d/checkout" rel="noopener noreferrer"' in html
    assert 'href="javascript:' not in html and "Sneaky (not a web address)" in words
    assert "+15550100077" not in html  # contact details stay off the page


def test_incident_page_for_the_paged_person_of_another_team(client, pam, incident, settings):
    settings.TEAMS_OPEN_READ = False

    response = signed_in(client, pam).get(f"/incidents/{incident.pk}/")

    assert response.status_code == 200
    assert f'action="/incidents/{incident.pk}/acknowledge/"' in response.content.decode()


@pytest.mark.parametrize("path", ["/incidents/{pk}/", "/incidents/{pk}/live/"])
def test_an_outsider_gets_404_when_reading_is_closed(client, sam, incident, settings, path):
    settings.TEAMS_OPEN_READ = False
    client = signed_in(client, sam)

    assert client.get(path.format(pk=incident.pk)).status_code == 404
    assert client.post(f"/incidents/{incident.pk}/acknowledge/").status_code == 404
    assert "Checkout" not in text(client.get("/incidents/?scope=all&status=any"))
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED


def test_an_outsider_reads_but_may_not_act_while_reading_is_open(client, sam, incident, settings):
    settings.TEAMS_OPEN_READ = True
    client = signed_in(client, sam)

    response = client.get(f"/incidents/{incident.pk}/")

    assert response.status_code == 200
    assert "/acknowledge/" not in response.content.decode()
    assert client.post(f"/incidents/{incident.pk}/acknowledge/").status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED


def test_the_live_part_reflects_an_acknowledgement_made_elsewhere(client, rita, incident):
    client = signed_in(client, rita)
    first = client.get(f"/incidents/{incident.pk}/live/")
    version = first["X-Version"]

    unchanged = client.get(f"/incidents/{incident.pk}/live/?since={version}")
    incident_acknowledge(incident=incident, by=rita, via="SMS reply")
    changed = client.get(f"/incidents/{incident.pk}/live/?since={version}")

    assert "triggered" in text(first)
    assert unchanged.status_code == 204
    assert changed.status_code == 200 and changed["X-Version"] != version
    assert 'id="incident-status">acknowledged<' in changed.content.decode()
    assert "Acknowledged by Rita Reyes via SMS reply" in text(changed)


def test_times_show_in_the_viewers_zone_with_its_name(client, rita, incident):
    rita.time_zone = "Europe/Berlin"
    rita.save()
    Incident.objects.filter(pk=incident.pk).update(created_at="2026-12-05T13:03:00+00:00")

    words = text(signed_in(client, rita).get(f"/incidents/{incident.pk}/"))

    assert "Sat 5 Dec 14:03 CET" in words
    assert "Times in Europe/Berlin" in words


def test_the_api_keeps_utc_for_a_viewer_with_a_zone(rita, incident):
    from tests.conftest import client_for

    rita.time_zone = "Europe/Berlin"
    rita.save()

    body = client_for(rita).get(f"/api/v1/incidents/{incident.pk}/").json()

    assert body["created_at"].endswith("Z")


# --- The incidents list -------------------------------------------------------------------


def test_list_scopes_mine_teams_and_all(client, sam, search_team, incident, checkout):
    other = ServiceFactory(name="Indexer", team=search_team)
    ours = Incident.objects.create(service=other, dedup_key="i", summary="Index stale")
    client = signed_in(client, sam)

    teams = text(client.get("/incidents/"))
    everything = text(client.get("/incidents/?scope=all&status=open"))
    mine_before = text(client.get("/incidents/?scope=mine&status=open"))
    page(incident, sam)
    mine_after = text(client.get("/incidents/?scope=mine&status=open"))

    assert "Index stale" in teams and "Checkout error" not in teams
    assert "Index stale" in everything and "Checkout error" in everything
    assert "No incident matches" in mine_before
    assert "Checkout error" in mine_after and "Index stale" not in mine_after
    assert ours.pk


def test_nows_link_to_all_its_incidents_lists_exactly_those(
    client, sam, search_team, incident, checkout, settings
):
    """Now counts what paged me or is my teams'; its link lists that, not every incident."""
    settings.TEAMS_OPEN_READ = True
    other = ServiceFactory(name="Indexer", team=search_team)
    for n in range(51):
        Incident.objects.create(service=other, dedup_key=f"i{n}", summary=f"Index stale {n}")
    Incident.objects.create(service=checkout, dedup_key="x", summary="Unrelated checkout")
    page(incident, sam)
    client = signed_in(client, sam)

    now = client.get("/").content.decode()
    link = re.search(r'href="(/incidents/\?[^"]+)">All 52 open incidents for me', now)
    assert link, now
    url = link.group(1).replace("&amp;", "&")
    pages = " ".join(text(client.get(f"{url}&page={n}")) for n in (1, 2, 3))

    assert "Checkout error" in pages and "Index stale 50" in pages
    assert "Unrelated checkout" not in pages


def test_list_filters_by_status_and_service(client, rita, incident, checkout, payments_team):
    other = ServiceFactory(name="Ledger", team=payments_team)
    Incident.objects.create(service=other, dedup_key="l", summary="Ledger lag")
    Incident.objects.create(service=checkout, dedup_key="o", summary="Old one", status="resolved")
    client = signed_in(client, rita)

    resolved = text(client.get("/incidents/?status=resolved"))
    on_ledger = text(client.get(f"/incidents/?status=any&service={other.pk}"))

    assert "Old one" in resolved and "Ledger lag" not in resolved
    assert "Ledger lag" in on_ledger and "Checkout error" not in on_ledger


def test_a_bad_filter_gets_words_and_a_400(client, rita):
    response = signed_in(client, rita).get("/incidents/?status=exploded&service=999999")

    assert response.status_code == 400
    words = text(response)
    assert "Choose a status: open, triggered, acknowledged, resolved or any." in words
    assert "Choose one of the services listed." in words


def test_list_pages_by_25(client, rita, checkout):
    for n in range(30):
        Incident.objects.create(service=checkout, dedup_key=f"k{n}", summary=f"Problem {n:02d}")
    client = signed_in(client, rita)

    first = text(client.get("/incidents/"))
    second = text(client.get("/incidents/?scope=teams&status=open&service=&page=2"))

    assert "30 incidents, page 1 of 2" in first
    assert "Problem 29" in first and "Problem 04" not in first
    assert "Problem 04" in second and "Problem 05" not in second


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize("path", ["/incidents/?scope=all&status=any", "/"])
def test_lists_take_the_same_number_of_queries_for_1_and_100_rows(
    client, pam, checkout, path, settings
):
    settings.TEAMS_OPEN_READ = False  # the paged-person rule in play, row by row
    client = signed_in(client, pam)
    first = Incident.objects.create(service=checkout, dedup_key="k", summary="One")
    page(first, pam)

    one = _queries(client, path)
    for n in range(99):
        incident = Incident.objects.create(service=checkout, dedup_key=f"k{n}", summary=f"P {n}")
        page(incident, pam)
    many = _queries(client, path)

    assert one == many


def _rota(team, name: str, people, **override) -> Schedule:
    schedule = Schedule.objects.create(name=name, team=team, time_zone="UTC")
    layer = Layer.objects.create(schedule=schedule, handoff_date="2020-01-06", shift_unit="weeks")
    for position, person in enumerate(people):
        layer.members.create(user=person, position=position)
    if override:
        Override.objects.create(schedule=schedule, **override)
    return schedule


def test_now_takes_the_same_number_of_queries_for_1_and_6_schedules(
    client, rita, otto, payments_team
):
    client = signed_in(client, rita)
    now = timezone.now()
    later = {"user": rita, "start": now + dt.timedelta(days=9), "end": now + dt.timedelta(days=10)}
    _rota(payments_team, "Payments 0", [otto], **later)  # a shift of mine to come, as below
    one = _queries(client, "/")
    for n in range(1, 6):
        cover = {"user": rita, "start": now - dt.timedelta(hours=n), "end": now + dt.timedelta(n)}
        _rota(payments_team, f"Payments {n}", [otto], **cover)

    many = _queries(client, "/")
    words = text(client.get("/"))

    assert one == many
    assert "Payments 0 Otto Olsen" in words
    assert "Payments 5 Rita Reyes" in words
    assert "On call now in Payments 1, until" in words
