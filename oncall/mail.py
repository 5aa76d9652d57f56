"""Django's SMTP e-mail backend with one time limit for a whole message: `EMAIL_TIMEOUT`.

Django gives the socket `EMAIL_TIMEOUT` for each wait, and one message waits for a dozen answers
(greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA …), so a slow server could hold a worker many
times that. Here each wait gets only what is left of one deadline, so the sweeper can tell a
dead worker's page from one still being sent (`paging.notify.channels.sending_stale_after`).
"""

import smtplib
import time

from django.core.mail.backends import smtp


class _Deadline:
    """Mixin for smtplib.SMTP: every command and answer shares one deadline."""

    def __init__(self, *args, timeout: float, **kwargs) -> None:
        self.deadline = time.monotonic() + timeout
        super().__init__(*args, timeout=timeout, **kwargs)

    def send(self, s) -> None:
        self._shrink()
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        self._shrink()
        return super().getreply()

    def _shrink(self) -> None:
        """Give the socket what is left of the deadline; raise once none is."""
        if self.sock is None:
            return  # closed: smtplib says so itself, as Django expects
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.close()
            raise TimeoutError("the mail server took longer than EMAIL_TIMEOUT")
        self.sock.settimeout(left)


class _SMTP(_Deadline, smtplib.SMTP):
    pass


class _SMTPSSL(_Deadline, smtplib.SMTP_SSL):
    pass


class EmailBackend(smtp.EmailBackend):
    """Send through SMTP as Django does, within `EMAIL_TIMEOUT` per connection in all."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _SMTPSSL if self.use_ssl else _SMTP
