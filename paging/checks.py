"""System checks: catch a half-configured deployment at start-up, not at the first page."""

import os

from django.conf import settings
from django.core.checks import Error, Warning, register

_TWILIO = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")


@register()
def twilio_settings(app_configs, **kwargs) -> list:
    """Twilio needs all three of its settings, or none (console channel)."""
    given = [name for name in _TWILIO if getattr(settings, name)]
    if given and len(given) < len(_TWILIO):
        missing = ", ".join(name for name in _TWILIO if name not in given)
        return [
            Error(
                f"Twilio is half configured: {missing} not set",
                hint="Set all of TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER, "
                "or none of them to print messages on the console.",
                id="paging.E001",
            )
        ]
    return []


# Variables no longer read, and what took their place: an upgrade keeps working, and says so.
_RETIRED = {
    "PAGING_SENDING_STALE_SECONDS": "a dead worker's claim is now stale after the provider's "
    "bound (TWILIO_TIMEOUT_SECONDS, EMAIL_TIMEOUT) + 3 s",
}


@register()
def retired_settings(app_configs, **kwargs) -> list:
    """Warn about variables that are set but read no more."""
    return [
        Warning(f"{name} is set but no longer read", hint=instead, id="paging.W001")
        for name, instead in _RETIRED.items()
        if name in os.environ or f"{name}_FILE" in os.environ
    ]


def _printed() -> list[str]:
    """Return the settings whose absence makes pages go to the console instead of out."""
    missing = [name for name in _TWILIO if not getattr(settings, name)]
    if not settings.EMAIL_HOST:
        missing.append("EMAIL_HOST")
    return missing


@register()
def console_channels(app_configs, **kwargs) -> list:
    """Refuse to print pages on the console unless PAGING_CONSOLE_CHANNELS says it is meant."""
    missing = _printed()
    if settings.PAGING_CONSOLE_CHANNELS or not missing:
        return []
    names = ", ".join(missing)
    verb = "is" if len(missing) == 1 else "are"
    return [
        Error(
            f"pages would be printed on the console: {names} {verb} not set",
            hint="Set them to send SMS and calls through Twilio and e-mail through SMTP, or set "
            "PAGING_CONSOLE_CHANNELS=true if printing pages (links and codes included) is meant.",
            id="paging.E002",
        )
    ]


@register()
def push_settings(app_configs, databases=None, **kwargs) -> list:
    """Push needs a readable VAPID key and subject once it is set up or anyone has a push method.

    Whether anyone has one is asked only when the check may use the database (`migrate`,
    `check --database default`), as Django's checks do. The message never shows the key.
    """
    from paging.vapid import push_configured, vapid_problems

    if not push_configured() and not (databases and _push_methods_exist(databases)):
        return []
    return [
        Error(
            f"push notifications cannot be sent: {problem}",
            hint="Set WEBPUSH_VAPID_PRIVATE_KEY (or _FILE) to a P-256 key and "
            "WEBPUSH_VAPID_SUBJECT to mailto:you@example.com (see .env.example).",
            id="paging.E003",
        )
        for problem in vapid_problems()
    ]


def _push_methods_exist(databases) -> bool:
    """Return whether anyone has a push contact method (False before the tables exist)."""
    from django.db import DatabaseError

    from paging.models import ContactKind, ContactMethod

    try:
        return any(
            ContactMethod.objects.using(alias).filter(kind=ContactKind.PUSH).exists()
            for alias in databases
        )
    except DatabaseError:
        return False
