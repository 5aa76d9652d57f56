"""Signed, expiring links in page e-mails that acknowledge or resolve an incident.

A GET only shows a confirmation page; the action happens on its POST, so mail scanners that
follow every link cannot acknowledge anything.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from accounts.people import may_act
from paging.models import Notification

_SALT = "paging.email-link"
ACTIONS = {"ack": "Acknowledge", "resolve": "Resolve"}


def action_url(notification: Notification, action: str) -> str:
    """Return the link that offers `action` on the notification's incident."""
    token = signing.dumps({"n": notification.pk, "a": action}, salt=_SALT, compress=True)
    return settings.PUBLIC_URL + reverse("page-link", args=[token])


def action_from_token(token: str) -> tuple[Notification, str] | None:
    """Return the notification and action a link names; None if forged, expired or deactivated."""
    try:
        payload = signing.loads(
            token, salt=_SALT, max_age=settings.PAGING_EMAIL_LINK_MAX_AGE_SECONDS
        )
        notification_id, action = int(payload["n"]), str(payload["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    notification = (
        Notification.objects.select_related("incident__service", "user")
        .filter(may_act("user"), pk=notification_id)
        .first()
    )
    if notification is None or action not in ACTIONS:
        return None
    return notification, action
