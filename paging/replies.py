"""SMS replies: `4A` acknowledges incident code 4, `4R` resolves it."""

import re

from paging.actions import incident_acknowledge, incident_resolve
from paging.models import ContactKind, ContactMethod, IncidentStatus, ReplyCode

_COMMAND = re.compile(r"^\s*(\d{1,4})\s*([ar])\s*$", re.IGNORECASE)
HELP = "Reply with the code and a letter from the page, e.g. 1A to acknowledge, 1R to resolve."


def sms_reply_handle(*, phone: str, text: str) -> str:
    """Act on a reply from `phone` and return the answer to text back."""
    match = _COMMAND.match(text)
    if match is None:
        return f"Not understood. {HELP}"
    code, letter = int(match[1]), match[2].upper()
    method = (
        ContactMethod.objects.filter(kind=ContactKind.SMS, address=phone)
        .select_related("user")
        .first()
    )
    reply = ReplyCode.objects.filter(phone=phone, code=code).select_related("incident").first()
    if method is None or reply is None:
        return f"No open incident has code {code} for this number."
    incident, user = reply.incident, method.user
    if letter == "A":
        if incident_acknowledge(incident=incident, by=user, via="SMS"):
            return f"Acknowledged #{incident.pk}: {incident.summary[:80]}"
        return f"#{incident.pk} is already {incident.status}."
    if incident_resolve(incident=incident, by=user, via="SMS"):
        return f"Resolved #{incident.pk}: {incident.summary[:80]}"
    return f"#{incident.pk} is already {IncidentStatus.RESOLVED}."
