"""System checks: catch a half-configured deployment at start-up, not at the first page."""

from django.conf import settings
from django.core.checks import Error, register

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
