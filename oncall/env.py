"""Strict readers for settings that come from environment variables.

A value that is set but malformed is an error naming the variable, never a silent default:
`DEBUG=ture` must not quietly mean False. Every reader also accepts `<NAME>_FILE`, the path of a
file holding the value (Docker and Kubernetes secrets).
"""

import datetime as dt
import ipaddress
import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from oncall.durations import parse_duration

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    """Return the variable's value, read from `<name>_FILE` when that is set."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE: cannot read {path!r}: {exc.strerror}"
            ) from exc
    value = os.environ.get(name)
    return None if value is None or value.strip() == "" else value.strip()


def env_str(name: str, default: str = "") -> str:
    """Return a string variable, or the default when unset or empty."""
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    """Return a boolean variable; anything but a known spelling is an error."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: {value!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """Return an integer variable of at least `minimum`."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: {value!r} is not a whole number") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}: {number} is below the minimum of {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated list variable."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated list of IP networks in CIDR form (a bare address is a /32)."""
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not a network (e.g. 10.20.0.0/16 or fd12:3456::/48)"
            ) from None
    return networks


def env_url(name: str, default: str = "", *, schemes: tuple[str, ...]) -> str:
    """Return a URL variable whose scheme is one of `schemes` and that names a host."""
    value = _raw(name)
    if value is None:
        return default
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        allowed = ", ".join(schemes)
        raise ImproperlyConfigured(f"{name}: {value!r} must start with one of: {allowed}")
    if not parts.netloc and parts.scheme not in {"sqlite", "filesystem", "memory"}:
        raise ImproperlyConfigured(f"{name}: {value!r} names no host")
    return value


def _delay(name: str, text: str) -> dt.timedelta:
    found = parse_duration(text)
    if found is None:
        raise ImproperlyConfigured(f"{name}: {text!r} is not a delay (e.g. 0, 90s, 2m, 1h30m)")
    return found


def env_duration(name: str, default: str, *, minimum: dt.timedelta) -> dt.timedelta:
    """Return a duration variable (seconds, or 90s, 30m, 1h30m, 2d) of at least `minimum`."""
    value = _raw(name)
    duration = _delay(name, (value if value is not None else default).strip())
    if duration < minimum:
        raise ImproperlyConfigured(f"{name}: {value!r} is below the minimum of {minimum}")
    return duration


def env_delays(
    name: str, default: str, *, kinds: tuple[str, ...]
) -> tuple[tuple[str, dt.timedelta], ...]:
    """Return a `kind:delay, …` list variable (e.g. `sms:0,voice:2m`) as (kind, delay) pairs."""
    value = _raw(name) or default
    pairs = []
    for item in (i.strip() for i in value.split(",") if i.strip()):
        kind, _, delay = item.partition(":")
        if kind.strip() not in kinds:
            raise ImproperlyConfigured(f"{name}: {kind!r} is not one of {', '.join(kinds)}")
        pairs.append((kind.strip(), _delay(name, delay.strip() or "0")))
    return tuple(pairs)


def env_rates(name: str, default: str) -> tuple[tuple[int, dt.timedelta], ...]:
    """Return a `count/window, …` list variable (e.g. `3/10m,10/24h`) as (count, window) pairs."""
    value = _raw(name) or default
    rates = []
    for item in (i.strip() for i in value.split(",") if i.strip()):
        count, _, window = item.partition("/")
        if not count.strip().isdigit() or int(count) < 1 or not window.strip():
            raise ImproperlyConfigured(f"{name}: {item!r} is not a limit (e.g. 3/10m, 10/24h)")
        rates.append((int(count), _delay(name, window.strip())))
    return tuple(rates)


def env_phone_prefixes(name: str, default: str) -> tuple[str, ...]:
    """Return a comma-separated list of phone number prefixes (`+881,+1900`); `none` for none."""
    value = _raw(name) or default
    if value.strip().lower() == "none":
        return ()
    prefixes = tuple(p.strip() for p in value.split(",") if p.strip())
    for prefix in prefixes:
        if not (prefix.startswith("+") and prefix[1:].isdigit() and len(prefix) <= 8):
            raise ImproperlyConfigured(f"{name}: {prefix!r} is not a number prefix (e.g. +44)")
    return prefixes


def env_header(name: str) -> str:
    """Return the request.META key of an HTTP header named by a variable, or "" when unset."""
    value = _raw(name)
    if value is None:
        return ""
    if not value.isascii() or not value.replace("-", "").isalnum():
        raise ImproperlyConfigured(f"{name}: {value!r} is not an HTTP header name (e.g. X-Real-IP)")
    return "HTTP_" + value.upper().replace("-", "_")


def env_team_map(name: str, *, roles: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """Return a `group:team-slug:role, …` list variable as (group, slug, role) triples."""
    value = _raw(name) or ""
    triples = []
    for item in (i.strip() for i in value.split(",") if i.strip()):
        # The group comes first and may itself hold colons (e.g. a URN); slug and role never do.
        group, slug, role = (part.strip() for part in ([""] * 3 + item.rsplit(":", 2))[-3:])
        if not group or not slug or not role:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not group:team-slug:role (e.g. sre:platform:manager)"
            )
        if not slug.replace("-", "").replace("_", "").isalnum() or not slug.isascii():
            raise ImproperlyConfigured(f"{name}: {item!r}: {slug!r} is not a team slug")
        if role not in roles:
            raise ImproperlyConfigured(
                f"{name}: {item!r}: {role!r} is not a role (use {', '.join(roles)})"
            )
        triples.append((group, slug, role))
    return tuple(triples)
