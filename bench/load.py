"""A small closed-loop HTTP load generator: N concurrent clients, one request each at a time.

asyncio on raw sockets, so the generator costs little CPU next to the server it measures (both
share this machine). Each request opens a connection, as gunicorn's sync workers close them.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _request(host: str, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _one(netloc: tuple[str, int], raw: bytes) -> int:
    reader, writer = await asyncio.open_connection(*netloc)
    writer.write(raw)
    answer = await reader.read()  # the server closes the connection after answering
    writer.close()
    return int(answer[9:12])


async def _client(url, body_for, stop_at, counter, result) -> None:
    parts = urlsplit(url)
    netloc = (parts.hostname, parts.port or 80)
    while time.perf_counter() < stop_at:
        n = next(counter)
        raw = _request(parts.netloc, parts.path, body_for(n))
        started = time.perf_counter()
        status = await _one(netloc, raw)
        result.latencies.append(time.perf_counter() - started)
        result.statuses[status] = result.statuses.get(status, 0) + 1


async def _run(url, body_for, clients, seconds, counter) -> LoadResult:
    result = LoadResult(requests=0, seconds=0.0, latencies=[], statuses={})
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(_client(url, body_for, stop_at, counter, result) for _ in range(clients))
    )
    result.seconds = time.perf_counter() - started
    result.requests = len(result.latencies)
    return result


def load(
    url: str,
    body_for: Callable[[int], bytes],
    *,
    clients: int = 16,
    seconds: float = 5.0,
    warmup: float = 1.0,
) -> LoadResult:
    """POST `body_for(n)` to `url` from `clients` concurrent clients for `seconds`."""
    import itertools

    counter = itertools.count()
    asyncio.run(_run(url, body_for, clients, warmup, counter))
    return asyncio.run(_run(url, body_for, clients, seconds, counter))
