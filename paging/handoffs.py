"""Handoff notices: tell the incoming person by SMS and e-mail when their shift starts.

For each schedule with the switch on, Celery beat runs `handoffs_send_due` every minute. A shift
that started within the last LOOKBACK (so a late or missed tick still notices it, but switching
the notices on does not announce shifts long under way) gets one `HandoffNotice` row, unique per
schedule, person and start; the run that claims the row (pending → sending) sends it. A crash
after the claim leaves the row "sending": a notice may be lost, never sent twice.
"""

import datetime as dt
import logging
import smtplib
import sys
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.core.mail import send_mail
from twilio.base.exceptions import TwilioException

from oncall.logs import mask_phone
from paging.channels.twilio_client import twilio_client, twilio_configured
from paging.models import ContactKind, ContactMethod, HandoffNotice
from schedules.models import Schedule
from schedules.resolver import Shift, shifts

log = logging.getLogger(__name__)

LOOKBACK = dt.timedelta(minutes=10)
# How far ahead the end of the new shift is looked for, to say "until …".
HORIZON = dt.timedelta(days=35)
Status = HandoffNotice.Status


def shifts_starting(schedule: Schedule, now: dt.datetime) -> list[Shift]:
    """Return the schedule's shifts that began in (now - LOOKBACK, now]."""
    start, end = now - LOOKBACK - dt.timedelta(days=1), now + HORIZON
    found = shifts(schedule.snapshot(start, end), start, end)
    return [s for s in found if now - LOOKBACK < s.start <= now]


def _local(instant: dt.datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%a %d %b %H:%M}"


def notice_text(notice: HandoffNotice) -> tuple[str, str]:
    """Return the subject and the text of a handoff notice, times in the schedule's zone."""
    zone = ZoneInfo(notice.schedule.time_zone)
    until = f" until {_local(notice.shift_end, zone)}" if notice.shift_end else ""
    subject = f"You are on call for {notice.schedule.name}"
    text = (
        f"On call: your shift on {notice.schedule.name} started "
        f"{_local(notice.shift_start, zone)}{until} ({notice.schedule.time_zone})."
    )
    return subject, text


def send_sms(address: str, text: str) -> str:
    """Send one SMS through Twilio, or print it when Twilio is not configured."""
    if not twilio_configured():
        print(f"\n[SMS to {mask_phone(address)}] {text}\n", file=sys.stdout, flush=True)
        return "console"
    message = twilio_client().messages.create(
        to=address, from_=settings.TWILIO_FROM_NUMBER, body=text
    )
    return message.sid


def send_email(address: str, subject: str, text: str) -> str:
    """Send one e-mail (Django's console backend prints it when no SMTP host is set)."""
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [address])
    return "sent"


def _send_one(method: ContactMethod, subject: str, text: str) -> tuple[bool, str]:
    """Send through one contact method; return whether it worked and a line for the record."""
    what = f"{method.get_kind_display()} {method.name}"
    try:
        if method.kind == ContactKind.SMS:
            outcome = send_sms(method.address, text)
        else:
            outcome = send_email(method.address, subject, text)
    except (TwilioException, requests.RequestException, smtplib.SMTPException, OSError) as exc:
        return False, f"{what}: failed ({type(exc).__name__})"
    return True, f"{what}: {outcome}"


def _claim(notice_id: int) -> bool:
    pending = HandoffNotice.objects.filter(pk=notice_id, status=Status.PENDING)
    return bool(pending.update(status=Status.SENDING))


def notice_send(*, notice: HandoffNotice) -> str:
    """Claim the notice and send it through the person's SMS and e-mail contact methods."""
    if not _claim(notice.pk):
        return "skipped"
    subject, text = notice_text(notice)
    # Only what a page would use: verified, and no number that replied STOP.
    methods = ContactMethod.objects.filter(
        user_id=notice.user_id, kind__in=[ContactKind.SMS, ContactKind.EMAIL], verified=True
    ).exclude(kind=ContactKind.SMS, sms_stopped_at__isnull=False)
    results = [_send_one(method, subject, text) for method in methods]
    status = Status.SENT if any(ok for ok, _ in results) else Status.FAILED
    lines = "\n".join(line for _, line in results) or "no SMS or e-mail contact method"
    HandoffNotice.objects.filter(pk=notice.pk).update(status=status, sent_to=lines)
    log.info("handoff notice %s for schedule %s: %s", notice.pk, notice.schedule_id, status)
    return status


def notice_record(*, schedule: Schedule, shift: Shift, horizon_end: dt.datetime) -> HandoffNotice:
    """Return the notice row for a shift's start, creating it once."""
    notice, _ = HandoffNotice.objects.get_or_create(
        schedule=schedule,
        user_id=shift.person,
        shift_start=shift.start,
        defaults={"shift_end": shift.end if shift.end < horizon_end else None},
    )
    notice.schedule = schedule
    return notice


def handoffs_send_due(now: dt.datetime) -> dict[str, int]:
    """Send the notices of shifts that just started, on schedules with the switch on."""
    counts: dict[str, int] = {}
    for schedule in Schedule.objects.filter(handoff_notice=True):
        for shift in shifts_starting(schedule, now):
            notice = notice_record(schedule=schedule, shift=shift, horizon_end=now + HORIZON)
            outcome = notice_send(notice=notice)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
