"""Request ids: one per web request, logged on every line it causes, carried into its tasks.

The id lives in a context variable. The middleware sets it from `X-Request-ID` (a proxy's) or a
new one; Celery's publish signal copies it into the task message's headers, and the worker sets
it again around the task, so a page sent by a worker logs the id of the webhook that caused it.
"""

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse

from oncall.logs import redact

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# A proxy's id is kept only when it looks like one: it ends up in every log line.
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
access_log = logging.getLogger("oncall.access")


def current() -> str:
    """Return the request id of the work in progress, or "" outside any request or task."""
    return _current.get()


def _incoming(request: HttpRequest) -> str:
    given = request.headers.get(HEADER, "")
    return given if _VALID.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Give each request an id, answer it in `X-Request-ID`, and log one access line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = _incoming(request)
        token = _current.set(request.request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[HEADER] = _current.get()
            access_log.info(
                "%s %s %d %.1fms",
                request.method,
                redact(request.path),
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            return response
        finally:
            _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Stamp every log record with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a 4xx/5xx answer after the middleware returned; it passes the request.
        request = getattr(record, "request", None)
        record.request_id = _current.get() or getattr(request, "request_id", "")
        return True


@before_task_publish.connect
def _carry_into_task(headers: dict | None = None, **kwargs) -> None:
    request_id = _current.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


_task_tokens: dict[str, contextvars.Token] = {}


@task_prerun.connect
def _enter_task(task_id: str = "", task=None, **kwargs) -> None:
    request_id = getattr(task.request, TASK_HEADER, None) if task is not None else None
    _task_tokens[task_id] = _current.set(request_id or f"task-{task_id}")


@task_postrun.connect
def _leave_task(task_id: str = "", **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _current.reset(token)
        except ValueError:  # set in another context (a pool that moved the task); just clear
            _current.set("")
