"""Time-zone validation shared by every model that stores an IANA zone name."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError


def validate_time_zone(name: str) -> None:
    """Reject anything that is not an IANA time-zone name, such as `Europe/Berlin`."""
    if name not in available_timezones():
        raise ValidationError(f"{name!r} is not an IANA time zone such as Europe/Berlin")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:  # pragma: no cover - listed but missing from tzdata
        raise ValidationError(f"{name!r} has no time-zone data on this server") from None
