"""What the incident page and list in admin show: plain words and rows, no state changes."""

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from oncall.logs import mask_phone
from paging.models import Incident, Notification

# Only these become links: anything else (javascript:, data:) in stored alert data stays text.
WEB_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Link:
    text: str
    href: str | None  # None: not a web address, shown as text only


def level_words(incident: Incident, levels: int) -> str:
    """Say where escalation stands: "Level 2 of 3, loop 1"."""
    if incident.escalation_tier is None:
        return "not paged yet" if incident.escalation_due_at else "-"
    level = incident.escalation_tier + 1
    return f"Level {level} of {levels}, loop {incident.escalation_loop + 1}"


def state_words(incident: Incident) -> str:
    """Name the incident's state, with exhausted escalation told apart from triggered."""
    return "exhausted" if incident.is_exhausted else incident.status


def detail_rows(details: dict) -> list[tuple[str, str]]:
    """Return the alert's details as (key, value) rows; nested values read as JSON."""
    return [
        (str(key), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in details.items()
    ]


def page_links(links: list) -> list[Link]:
    """Return the alert's links, keeping an address only where it is http(s)."""
    result = []
    for link in links:
        if not isinstance(link, dict):
            continue
        href = str(link.get("href", ""))
        text = str(link.get("text") or href)
        web = urlsplit(href).scheme.lower() in WEB_SCHEMES
        result.append(Link(text=text, href=href if web else None))
    return result


@dataclass(frozen=True)
class Sent:
    """One notification as the page lists it."""

    notification: Notification
    address: str
    outcome: str


def notification_rows(incident: Incident) -> list[Sent]:
    """Return the incident's notifications, oldest first, addresses masked as in the logs."""
    rows = incident.notifications.select_related("user").order_by("due_at", "id")
    return [Sent(n, mask_phone(n.address), _outcome(n)) for n in rows]


def _outcome(notification: Notification) -> str:
    words = notification.status
    if notification.provider_status and notification.provider_status != notification.status:
        words += f" ({notification.provider_status})"
    return f"{words}: {notification.error}" if notification.error else words
