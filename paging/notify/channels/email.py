"""E-mail through Django's mail backend (SMTP from settings): text and HTML, with action links."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.template.loader import render_to_string

from paging.notify.channels.base import PRINTED, Channel, DeliveryError
from paging.notify.links import action_url
from paging.notify.messages import one_line

# Django's backend that prints each message: ours when EMAIL_HOST is not set.
_CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


def email_subject(incident) -> str:
    """Return the subject line of a page e-mail."""
    tag = incident.severity.upper()
    return one_line(f"[{tag}] #{incident.pk} {incident.service.name}: {incident.summary[:150]}")


def _context(notification) -> dict:
    hours = settings.PAGING_EMAIL_LINK_MAX_AGE_SECONDS // 3600
    return {
        "incident": notification.incident,
        "person": notification.user,
        "ack_url": action_url(notification, "ack"),
        "resolve_url": action_url(notification, "resolve"),
        "link_hours": hours,
        "details": sorted(notification.incident.details.items())[:30],
        "links": [link for link in notification.incident.links if _web(link)],
    }


def _web(link: object) -> bool:
    """Keep only http(s) links from alert payloads: no `javascript:` in a page e-mail."""
    href = link.get("href", "") if isinstance(link, dict) else ""
    return isinstance(href, str) and href.startswith(("https://", "http://"))


def _classify(exc: Exception) -> DeliveryError:
    """Refused recipients and 5xx answers are permanent; the rest may pass on a retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return DeliveryError("mail server refused the address", permanent=True)
    if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        return DeliveryError(f"mail server said {exc.smtp_code}", permanent=True)
    return DeliveryError(f"mail server unreachable: {type(exc).__name__}", permanent=False)


def _page(notification, headers: dict[str, str]) -> EmailMultiAlternatives:
    context = _context(notification)
    message = EmailMultiAlternatives(
        subject=email_subject(notification.incident),
        body=render_to_string("paging/page_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.address],
        headers=headers,
    )
    message.attach_alternative(render_to_string("paging/page_email.html", context), "text/html")
    return message


def _notice(notification, headers: dict[str, str]) -> EmailMultiAlternatives:
    """Return a handoff notice's e-mail: its subject, and the text stored on the row."""
    subject, _ = notification.handoff.words()
    return EmailMultiAlternatives(
        subject=subject,
        body=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.address],
        headers=headers,
    )


class EmailChannel(Channel):
    name = "email"

    @property
    def provider_status(self) -> str:
        return PRINTED if self.printed_because() else "sent"

    def printed_because(self) -> str:
        return "no EMAIL_HOST configured" if settings.EMAIL_BACKEND == _CONSOLE_BACKEND else ""

    def timeout(self) -> float:
        return settings.EMAIL_TIMEOUT  # for the whole SMTP conversation (oncall/mail.py)

    def send(self, notification) -> str:
        message_id = make_msgid(domain="oncall")
        write = _page if notification.incident_id is not None else _notice
        message = write(notification, {"Message-ID": message_id})
        try:
            message.send()
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from exc
        return message_id.strip("<>")[:64]
