"""What every limit on a costly or repeatable action raises, and how faces answer it."""

import datetime as dt
import math


class Limited(Exception):
    """An action refused for now: `what` names the thing limited, `until` when it is free."""

    def __init__(self, message: str, *, what: str, until: dt.datetime) -> None:
        super().__init__(message)
        self.what, self.until = what, until

    def retry_after(self, now: dt.datetime) -> int:
        """Return the whole seconds to wait from `now` (at least 1)."""
        return max(1, math.ceil((self.until - now).total_seconds()))


def window_words(window: dt.timedelta) -> str:
    """Return a window the way a person says it: 10 minutes, 24 hours, 90 seconds."""
    seconds = int(window.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
