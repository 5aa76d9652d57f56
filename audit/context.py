"""Who is changing configuration now, and through what: set per request, command or task.

The middleware remembers the request, not its user: an API request's person is known only
once DRF has read its Bearer token (DRF then puts the token's person and the token on the
request), so the person and token are read from the request when a change is logged.
"""

import contextlib
import ipaddress
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest

from accounts.lockout import client_address
from accounts.models import ApiToken, User
from audit.models import Via
from oncall import requestid


@dataclass(frozen=True)
class Source:
    """Where changes come from: a request, or a person (or nobody) through a named way."""

    via: str
    person: User | None = None
    token: ApiToken | None = None
    os_user: str = ""
    request: HttpRequest | None = None


_current: ContextVar[Source | None] = ContextVar("audit_source", default=None)


@contextlib.contextmanager
def acting(
    *, via: str, person: User | None = None, token: ApiToken | None = None, os_user: str = ""
) -> Iterator[None]:
    """Record the changes made inside as made by `person` (or `token`'s) through `via`."""
    reset = _current.set(Source(via=Via(via), person=person, token=token, os_user=os_user))
    try:
        yield
    finally:
        _current.reset(reset)


def source_fields() -> dict:
    """Return the entry fields that say who is changing things now, and through what."""
    source = _current.get() or Source(via=Via.SYSTEM)
    if source.request is not None:
        return _request_fields(source.request)
    return _fields(source.via, source.person, source.token, os_user=source.os_user)


def _fields(via: str, person, token, *, os_user: str = "", address: str | None = None) -> dict:
    if token is not None and person is None:
        person = token.user
    signed_in = isinstance(person, User) and person.is_authenticated
    return {
        "via": via,
        "actor": person if signed_in else None,
        "actor_email": (person.email or None) if signed_in else None,
        "token_id": token.pk if token is not None else None,
        "token_label": f"{token.name} ({token.hint}…)" if token is not None else "",
        "os_user": os_user,
        "remote_addr": address,
    }


def _request_fields(request: HttpRequest) -> dict:
    token = getattr(request, "auth", None)
    token = token if isinstance(token, ApiToken) else None
    user = getattr(request, "user", None)
    return _fields(via_of(request), user, token, address=_address(request))


def request_id() -> str | None:
    """Return the id of the request or task at work: an entry's `cid`, as in the log lines."""
    return requestid.current() or None


def via_of(request: HttpRequest) -> str:
    """Return the way a request comes in by its path: admin, the API, sign-on, or the pages."""
    if request.path_info.startswith("/admin/"):
        return Via.ADMIN
    if request.path_info.startswith("/sso/"):
        return Via.SSO  # people and memberships made or changed from the provider's groups
    if request.path_info.startswith("/api/"):
        return Via.API
    return Via.WEB


def _address(request: HttpRequest) -> str | None:
    """Return the client's address as sign-in throttling reads it, if it is an address."""
    found = client_address(request)
    try:
        return str(ipaddress.ip_address(found)) if found else None
    except ValueError:
        return None


class AuditMiddleware:
    """Attribute the configuration changes a request makes to its person, token and path."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        reset = _current.set(Source(via=via_of(request), request=request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(reset)
