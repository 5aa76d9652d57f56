"""What a page call says and what its keys do.

Twilio fetches the call's TwiML from a URL that carries a signed token naming the notification,
so the URL cannot be guessed; the webhook also checks Twilio's signature. The keys are ones a
pocket does not press by accident: 4 acknowledge, 6 resolve, 5 escalate, `*` repeat.
"""

from collections.abc import Callable

from django.conf import settings
from django.core import signing
from django.urls import reverse
from twilio.twiml.voice_response import Gather, VoiceResponse

from accounts.models import User
from oncall.limits import Limited, window_words
from paging.actions import (
    act_refusal,
    incident_acknowledge,
    incident_escalate_now,
    incident_resolve,
)
from paging.models import Incident, IncidentStatus, Notification
from paging.notify.messages import one_line

_SALT = "paging.voice"  # signed call URLs: keep the salt across module moves
# The token names the notification; a stale call URL is no use after a day.
TOKEN_MAX_AGE = 24 * 3600
PROMPT = "Press 4 to acknowledge, 6 to resolve, 5 to escalate, or star to hear this again."
NO_KEY_REPEATS = 2
VIA = "phone call"
_SEVERITY_WORDS = {"critical": "Critical", "error": "Error", "warning": "Warning", "info": "Info"}

Action = Callable[..., bool]
KEYS: dict[str, tuple[Action, str]] = {
    "4": (incident_acknowledge, "Acknowledged"),
    "6": (incident_resolve, "Resolved"),
    "5": (incident_escalate_now, "Escalated"),
}


def spoken_page(incident: Incident) -> str:
    """Return the words a page call says about `incident`."""
    severity = _SEVERITY_WORDS.get(incident.severity, incident.severity)
    return one_line(
        f"This is an on-call page. {severity} incident {incident.pk} on "
        f"{incident.service.name}: {incident.summary[:300]}."
    )


def voice_token(pk: int, salt: str = _SALT) -> str:
    """Return an unguessable token for the row `pk`, to put in a TwiML URL."""
    return signing.dumps(pk, salt=salt, compress=True)


def voice_token_pk(token: str, salt: str = _SALT) -> int | None:
    """Return the row id in a token, or None if it is forged or too old."""
    try:
        return int(signing.loads(token, salt=salt, max_age=TOKEN_MAX_AGE))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def page_twiml_url(notification: Notification) -> str:
    """Return the URL Twilio fetches the page call's TwiML from."""
    return settings.PUBLIC_URL + reverse("twilio-voice", args=[voice_token(notification.pk)])


def _gather_url(notification: Notification) -> str:
    return reverse("twilio-voice-gather", args=[voice_token(notification.pk)])


def page_twiml(notification: Notification, *, tries: int = 0, before: str = "") -> str:
    """Return the call's TwiML: the page, the key prompt, and repeats while no key is pressed."""
    response = VoiceResponse()
    if before:
        response.say(before)
    gather = Gather(num_digits=1, action=_gather_url(notification), method="POST", timeout=8)
    gather.say(f"{notification.body} {PROMPT}")
    response.append(gather)
    if tries < NO_KEY_REPEATS:
        page_url = reverse("twilio-voice", args=[voice_token(notification.pk)])
        response.redirect(f"{page_url}?tries={tries + 1}", method="POST")
    else:
        response.say("No key was pressed. Goodbye.")
        response.hangup()
    return str(response)


def goodbye_twiml(words: str) -> str:
    """Return TwiML that says `words` and hangs up."""
    response = VoiceResponse()
    response.say(words)
    response.hangup()
    return str(response)


def answered_by_machine(answered_by: str) -> bool:
    """Return whether Twilio's AnsweredBy says voicemail or a fax took the call."""
    return answered_by.startswith("machine_") or answered_by == "fax"


def machine_words(answered_by: str) -> str:
    """Return how the timeline names what answered instead of a person."""
    return "a fax machine" if answered_by == "fax" else "voicemail"


def voicemail_twiml(incident: Incident, answered_by: str) -> str:
    """Return TwiML for voicemail: say a page is waiting (nothing to a fax), and hang up."""
    response = VoiceResponse()
    if answered_by != "fax" and incident.status == IncidentStatus.TRIGGERED:
        response.say(
            f"This is the on-call service. A page is waiting for you: incident {incident.pk} "
            f"on {incident.service.name}. Please check your messages. Goodbye."
        )
    response.hangup()
    return str(response)


def key_pressed(notification: Notification, digit: str) -> str:
    """Act on a key pressed during a page call; return the TwiML that confirms it."""
    if digit == "*":
        return page_twiml(notification)
    if digit not in KEYS:
        return page_twiml(notification, before="Sorry, that key does nothing.")
    action, done = KEYS[digit]
    incident: Incident = notification.incident
    user: User = notification.user
    name = f"incident {incident.pk}, {incident.service.name}"
    if act_refusal(incident=incident, by=user):
        return goodbye_twiml(f"You may not act on {name}. Goodbye.")
    try:
        changed = action(incident=incident, by=user, via=VIA)
    except Limited:
        gap = window_words(settings.PAGING_MANUAL_ESCALATION_INTERVAL)
        return goodbye_twiml(f"Not escalated: {name} was escalated by hand less than {gap} ago.")
    if changed:
        return goodbye_twiml(f"{done} {name}. Goodbye.")
    incident.refresh_from_db()
    return goodbye_twiml(f"Nothing changed: {name} is {incident.status}. Goodbye.")
