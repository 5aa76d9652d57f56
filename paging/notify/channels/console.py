"""The console channel: prints the message, for the embedded default without Twilio.

The message itself is stored on the notification row (its body), where admin shows it.
"""

import sys
import uuid

from oncall.logs import mask_phone
from paging.notify.channels.base import PRINTED, Channel


class ConsoleChannel(Channel):
    name = "console"
    provider_status = PRINTED

    def printed_because(self) -> str:
        return "no Twilio configured"

    def send(self, notification) -> str:
        to = mask_phone(notification.address)
        kind = notification.get_kind_display()
        print(f"\n[{kind} to {to}] {notification.body}\n", file=sys.stdout, flush=True)
        return f"console-{uuid.uuid4().hex[:12]}"
