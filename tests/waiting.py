"""Waiting on conditions with a bounded timeout, never a fixed sleep."""

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], *, timeout: float = 15.0, what: str = "") -> object:
    """Return the condition's first truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.05)
