"""SMS replies: `4A` acknowledges the incident with code 4, `4R` resolves it, `4E` escalates it.

Forgiving of case, spaces and quotes (`4 a`, `ack 4`, `"4a"`); a bare `A` acknowledges the
sender's only open page; `100A` acknowledges every incident of a bundled SMS. Words never
collide with the carriers' and Twilio's own keywords (STOP, START, ...), which Twilio answers
itself: we only record them. Only a verified number of a person gets an answer. Twilio may
deliver one message more than once: each MessageSid is acted on once, and a repeat gets the
same answer.
"""

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from oncall.limits import Limited
from paging.actions import (
    act_refusal,
    incident_acknowledge,
    incident_escalate_now,
    incident_resolve,
)
from paging.models import InboundMessage, Incident, IncidentStatus, ReplyBundle, ReplyCode
from paging.notify.bundles import FIRST_CODE
from paging.notify.contacts import phone_sms_start, phone_sms_stop, verified_sender
from paging.notify.limits import reply_take, verification_sends_prune
from paging.notify.messages import gsm_safe
from paging.notify.reply_codes import bundle_codes_expire, quarantine_start, reply_codes_expire
from paging.notify.verification import verification_reply

# Twilio's (and the carriers') opt-out, opt-in and help keywords: whole-message matches.
OPT_OUT = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
OPT_IN = {"start", "yes", "unstop"}
HELP_WORDS = {"help", "info"}
VERBS = {
    "a": "ack",
    "ack": "ack",
    "acknowledge": "ack",
    "r": "resolve",
    "res": "resolve",
    "resolve": "resolve",
    "c": "resolve",
    "close": "resolve",
    "e": "escalate",
    "esc": "escalate",
    "escalate": "escalate",
}
ACTIONS = {
    "ack": (incident_acknowledge, "Acknowledged"),
    "resolve": (incident_resolve, "Resolved"),
    "escalate": (incident_escalate_now, "Escalated"),
}
HELP = (
    "On-call replies: 4A acks the page with code 4, 4R resolves it, 4E escalates it; "
    "A acks your only open page; 100A acks a bundle. STOP ends SMS, START resumes."
)
VIA = "SMS"
_NOISE = re.compile(r"[\"'`\u2018\u2019\u201c\u201d.,!?;:]")
_CODE_FIRST = re.compile(r"^(\d{1,4}) ?([a-z]+)$")
_WORD_FIRST = re.compile(r"^([a-z]+) ?(\d{1,4})$")


def normalize(text: str) -> str:
    """Return the reply lower-cased, without quotes or punctuation, spaces collapsed."""
    return " ".join(_NOISE.sub(" ", text.lower()).split())


def parse(words: str) -> tuple[str, int | None] | None:
    """Return (verb, code) for a normalized reply, code None for a bare ack; None otherwise."""
    if (match := _CODE_FIRST.match(words)) and match[2] in VERBS:
        return VERBS[match[2]], int(match[1])
    if (match := _WORD_FIRST.match(words)) and match[1] in VERBS:
        return VERBS[match[1]], int(match[2])
    if VERBS.get(words) == "ack":
        return "ack", None
    return None


def _name(incident: Incident) -> str:
    return f"#{incident.pk} {gsm_safe(incident.service.name)}: {gsm_safe(incident.summary)[:90]}"


def _state(incident: Incident) -> str:
    incident.refresh_from_db()
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        who = incident.acknowledged_by or incident.acknowledged_via or "someone"
        return f"already acknowledged by {who}"
    return f"already {incident.status}"


def _refused(incidents: list[Incident]) -> str:
    names = ", ".join(f"#{i.pk} {gsm_safe(i.service.name)}" for i in incidents)
    return f"You may not act on {names}."


def _act(incident: Incident, user: User, verb: str) -> str:
    if act_refusal(incident=incident, by=user):
        return _refused([incident])
    action, done = ACTIONS[verb]
    try:
        changed = action(incident=incident, by=user, via=VIA)
    except Limited as error:
        return f"Not escalated: {error}."
    if changed:
        return f"{done} {_name(incident)}"
    return (
        f"Nothing changed: #{incident.pk} {gsm_safe(incident.service.name)} is {_state(incident)}."
    )


def _open_codes(phone: str) -> list[ReplyCode]:
    held = ReplyCode.objects.filter(phone=phone, incident__status=IncidentStatus.TRIGGERED)
    return list(held.select_related("incident__service").order_by("code"))


def _listing(codes: list[ReplyCode]) -> str:
    listed = ", ".join(f"{c.code}A #{c.incident_id}" for c in codes[:8])
    return f"Open pages: {listed}." if codes else "No open page for this number."


def _bare_ack(phone: str, user: User) -> str:
    codes = _open_codes(phone)
    if len(codes) == 1:
        return _act(codes[0].incident, user, "ack")
    if not codes:
        return "No open page for this number."
    return f"Which one? {_listing(codes)} Reply with the code, e.g. {codes[0].code}A."


def _bundle_act(phone: str, user: User, verb: str, code: int) -> str:
    bundle = ReplyBundle.objects.filter(phone=phone, code=code).first()
    if bundle is None:
        return f"No bundle has code {code} for this number. {_listing(_open_codes(phone))}"
    if verb != "ack":
        return f"A bundle code only acknowledges: reply {code}A."
    listed = list(bundle.incidents.select_related("service").order_by("pk"))
    refused = [i for i in listed if act_refusal(incident=i, by=user)]
    incidents = [i for i in listed if i not in refused]
    if refused and not incidents:
        return _refused(refused)
    note = f" {_refused(refused)}" if refused else ""
    if incidents and all(i.status == IncidentStatus.RESOLVED for i in incidents):
        numbers = ", ".join(f"#{i.pk}" for i in incidents)
        return f"Nothing changed: {numbers} of bundle {code} are already resolved.{note}"
    done = [i for i in incidents if incident_acknowledge(incident=i, by=user, via=VIA)]
    if not done:
        return f"Nothing changed: no incident of bundle {code} is still unacknowledged.{note}"
    numbers = ", ".join(f"#{i.pk}" for i in done)
    said = f"Acknowledged {len(done)} incident{'s' if len(done) > 1 else ''}: {numbers}"
    return f"{said}.{note}" if note else said


def _command(phone: str, user: User, words: str) -> str:
    if words in HELP_WORDS:
        return HELP
    command = parse(words)
    if command is None:
        return f"Not understood. {HELP}"
    verb, code = command
    if code is None:
        return _bare_ack(phone, user)
    if code >= FIRST_CODE:
        return _bundle_act(phone, user, verb, code)
    reply = ReplyCode.objects.filter(phone=phone, code=code).select_related("incident").first()
    if reply is None:
        return f"No open incident has code {code} for this number. {_listing(_open_codes(phone))}"
    return _act(reply.incident, user, verb)


def sms_reply_handle(*, phone: str, text: str) -> str | None:
    """Act on an SMS from `phone`; return the answer to text back, or None for no answer."""
    words = normalize(text)
    if words in OPT_OUT:
        phone_sms_stop(phone=phone)
        return None  # Twilio confirms the opt-out itself
    if words in OPT_IN:
        phone_sms_start(phone=phone)
        return None
    sender = verified_sender(phone)
    if sender is None:
        return verification_reply(phone=phone, words=words)
    if not reply_take(phone=phone, now=timezone.now()):
        return None
    return _command(phone, sender.user, words)


def _first_delivery(sid: str) -> bool:
    """Record `sid` as handled; return False when it already was.

    The unique SID decides: a repeat that comes while the first delivery is still being
    handled waits on the insert until that one commits, then sees it.
    """
    try:
        with transaction.atomic():
            InboundMessage.objects.create(sid=sid)
    except IntegrityError:
        return False
    return True


def _earlier_answer(sid: str) -> str | None:
    return InboundMessage.objects.get(sid=sid).answer or None


def sms_inbound_handle(*, sid: str, phone: str, text: str) -> str | None:
    """Act on an inbound SMS once per Twilio `MessageSid`; a repeat gets the first answer."""
    if not sid:
        return sms_reply_handle(phone=phone, text=text)
    with transaction.atomic():
        if not _first_delivery(sid):
            return _earlier_answer(sid)
        answer = sms_reply_handle(phone=phone, text=text)
        InboundMessage.objects.filter(sid=sid).update(answer=answer or "")
    return answer


def replies_prune(now: dt.datetime) -> dict[str, int]:
    """Forget handled messages and closed incidents' codes whose quarantine has ended, and
    verification sends older than their limits' windows."""
    handled = InboundMessage.objects.filter(received_at__lt=quarantine_start(now)).delete()[0]
    return {
        "handled messages": handled,
        "reply codes": reply_codes_expire(now=now),
        "bundle codes": bundle_codes_expire(now=now),
        "verification sends": verification_sends_prune(now=now),
    }
