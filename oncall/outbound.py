"""The one way our code fetches a URL someone configured: guarded against request forgery.

Only http, https and webcal (fetched as https). The host is resolved once, every address it
resolves to is checked with `ipaddress` (so no spelling of an address gets past: decimal, hex,
octal, short, IPv6, IPv4-mapped), and the connection goes to that checked address while the Host
header, TLS SNI and certificate check keep the name: a DNS answer that changes between check and
connect (rebinding) is never used. Loopback, private, link-local, unique-local, multicast,
reserved and unspecified addresses are refused unless OUTBOUND_ALLOWED_NETWORKS covers them;
cloud-metadata addresses always. Redirects are followed here, at most MAX_REDIRECTS, each hop
checked the same way. The body is capped in bytes and the whole fetch in seconds.

Errors carry a category only ("refused: private address", "HTTP 404", "timed out"): never the
response body, never the URL (paths and queries of private calendar feeds hold tokens).
"""

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

SCHEMES = {"http": "http", "https": "https", "webcal": "https"}
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CONNECT_TIMEOUT = 5.0
CHUNK = 64 * 1024
# Instance metadata services hand out cloud credentials: never allowed, not even by the list.
METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundError(Exception):
    """A fetch failed or was refused; the message is a category, safe to show and log.

    `host` names the host of the hop that failed (a redirect's target may differ from the
    URL's): the host only, as paths and queries may hold tokens.
    """

    host = "?"


class OutboundRefused(OutboundError):
    """The guard refused the URL itself (its scheme, host or address): trying again cannot help."""


def host_of(url: str) -> str:
    """Return only the host of a URL, for errors and logs."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


@dataclass(frozen=True)
class Response:
    """A final (non-redirect) answer: 2xx or 304."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Target:
    """Where one request goes: the checked address, and the name it is made for."""

    scheme: str
    host: str
    port: int
    address: str
    path: str
    host_header: str


# --- Which addresses -----------------------------------------------------------------------------


def _embedded(ip: IP) -> IP:
    """Return the IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), else the address."""
    if ip.version == 6:
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip.sixtofour:
            return ip.sixtofour
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n) for n in settings.OUTBOUND_ALLOWED_NETWORKS]


def is_permitted(ip: IP) -> bool:
    """Return whether we may connect to this address."""
    ip = _embedded(ip)
    if ip in METADATA:
        return False
    if any(ip in network for network in _allowed_networks()):
        return True
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> str:
    """Resolve the host once; return its first address if every address it has is permitted."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise OutboundError("could not resolve host") from None
    addresses = [info[4][0] for info in found]
    if not addresses:
        raise OutboundError("could not resolve host")
    # One refused address refuses the name: a round-robin answer must not be a lottery.
    if not all(is_permitted(ipaddress.ip_address(a.split("%", 1)[0])) for a in addresses):
        raise OutboundRefused("refused: private address")
    return addresses[0]


def target(url: str) -> Target:
    """Parse, resolve and check one URL; raise OutboundError if it may not be fetched."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("refused: bad URL") from None
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise OutboundRefused("refused: scheme")
    if not parts.hostname:
        raise OutboundRefused("refused: no host")
    port = port or DEFAULT_PORTS[scheme]
    address = _resolve(parts.hostname, port)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rpartition("@")[2]  # credentials in a URL are never sent
    return Target(scheme, parts.hostname, port, address, path, host_header)


# --- Requests ------------------------------------------------------------------------------------


def _pool(to: Target, remaining: float) -> urllib3.HTTPConnectionPool:
    """Return a pool that connects to the checked address, verifying TLS against the name."""
    timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, remaining), read=remaining)
    if to.scheme == "http":
        return urllib3.HTTPConnectionPool(to.address, to.port, timeout=timeout, retries=False)
    return urllib3.HTTPSConnectionPool(
        to.address,
        to.port,
        timeout=timeout,
        retries=False,
        cert_reqs="CERT_REQUIRED",
        ca_certs=settings.OUTBOUND_CA_BUNDLE or certifi.where(),
        server_hostname=to.host,
        assert_hostname=to.host,
    )


def _read(answer: urllib3.BaseHTTPResponse, max_bytes: int, deadline: float) -> bytes:
    """Read the body, refusing more than max_bytes or a transfer past the deadline."""
    if int(answer.headers.get("Content-Length") or 0) > max_bytes:
        raise OutboundError("too large")
    chunks, size = [], 0
    for chunk in answer.stream(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise OutboundError("too large")
        if time.monotonic() > deadline:
            raise OutboundError("timed out")
        chunks.append(chunk)
    return b"".join(chunks)


def _send(
    to: Target,
    headers: Mapping[str, str],
    max_bytes: int,
    deadline: float,
    body: bytes | None = None,
) -> Response:
    """Make one GET (or a POST of `body`) to the checked address; return the answer.

    Only a 2xx or 304 answer's body is read.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise OutboundError("timed out")
    sent = {**headers, "Host": to.host_header, "Accept-Encoding": "identity"}
    method = "GET" if body is None else "POST"
    try:
        with _pool(to, remaining) as pool:
            answer = pool.urlopen(
                method, to.path, body=body, headers=sent, redirect=False, preload_content=False
            )
            try:
                keep = answer.status < 300 or answer.status == 304
                body = _read(answer, max_bytes, deadline) if keep else b""
                return Response(answer.status, answer.headers, body)
            finally:
                answer.release_conn()
    except NewConnectionError:  # urllib3 files it under timeouts: it is a refusal
        raise OutboundError("could not connect") from None
    except Urllib3Timeout:
        raise OutboundError("timed out") from None
    except SSLError:
        raise OutboundError("TLS failed") from None
    except (HTTPError, OSError):
        # The exception's text may hold the URL (and so its token): name only the category.
        raise OutboundError("could not connect") from None


def _location(url: str, answer: Response) -> str:
    """Return the absolute URL a redirect points to."""
    location = answer.headers.get("Location")
    if not location:
        raise OutboundError(f"HTTP {answer.status}")
    return urljoin(url, location)


def get(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    timeout: float | None = None,
) -> Response:
    """GET a URL through the guard; return a 2xx or 304 answer, else raise OutboundError."""
    max_bytes = max_bytes or settings.OUTBOUND_MAX_BYTES
    deadline = time.monotonic() + (timeout or settings.OUTBOUND_TIMEOUT_SECONDS)
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            answer = _hop_once(url, headers or {}, max_bytes, deadline)
            if answer.status not in REDIRECTS:
                return answer
            following = _location(url, answer)
        except OutboundError as exc:
            exc.host = host_of(url)
            raise
        url = following
    error = OutboundError("too many redirects")
    error.host = host_of(url)
    raise error


def post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    max_bytes: int = CHUNK,
    timeout: float | None = None,
) -> Response:
    """POST `body` once through the guard and return whatever it answers (no redirect followed).

    The caller reads the status: a push service answers 201, 404, 410, 429 or 5xx, all meaningful.
    """
    deadline = time.monotonic() + (timeout or settings.OUTBOUND_TIMEOUT_SECONDS)
    try:
        return _send(target(url), headers, max_bytes, deadline, body=body)
    except OutboundError as exc:
        exc.host = host_of(url)
        raise


def _hop_once(url: str, headers: Mapping[str, str], max_bytes: int, deadline: float) -> Response:
    """Check and fetch one URL; return a redirect, a 2xx or a 304, else raise OutboundError."""
    answer = _send(target(url), headers, max_bytes, deadline)
    ok = 200 <= answer.status < 300 or answer.status == 304
    if not ok and answer.status not in REDIRECTS:
        raise OutboundError(f"HTTP {answer.status}")
    return answer
