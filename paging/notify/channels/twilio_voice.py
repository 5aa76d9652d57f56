"""Phone calls through the real Twilio client: Twilio fetches what to say from our TwiML URL."""

from django.conf import settings

from paging.notify.channels.base import Channel
from paging.notify.channels.twilio_client import (
    LOOKUP_LIMIT,
    first_unrecorded,
    lookup_window,
    provider_errors,
    twilio_client,
)
from paging.notify.channels.twilio_sms import status_callback_url
from paging.notify.voice import page_twiml_url

CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


class TwilioVoiceChannel(Channel):
    name = "twilio_voice"
    provider_status = "queued"

    def timeout(self) -> float:
        return settings.TWILIO_TIMEOUT_SECONDS

    def send(self, notification) -> str:
        with provider_errors():
            call = twilio_client().calls.create(
                to=notification.address,
                from_=settings.TWILIO_FROM_NUMBER,
                url=page_twiml_url(notification),
                status_callback=status_callback_url(notification),
                status_callback_event=CALL_EVENTS,
                **_detection(),
            )
        return call.sid

    def find_sent(self, notification) -> str | None:
        """Return the SID of a call Twilio placed from us to this number around the send.

        Twilio's call list does not show the TwiML URL, so the number and the time tell.
        """
        window = lookup_window(notification)
        with provider_errors():
            calls = twilio_client().calls.list(
                to=notification.address,
                from_=settings.TWILIO_FROM_NUMBER,
                start_time_after=window[0],
                limit=LOOKUP_LIMIT,
            )
        found = [(c.sid, c.date_created) for c in calls]
        return first_unrecorded(found, window, notification)


def _detection() -> dict[str, str]:
    """Return the call options that ask Twilio who answered (AnsweredBy), when that is on."""
    if not settings.PAGING_VOICE_MACHINE_DETECTION:
        return {}
    # DetectMessageEnd: a machine is reported once its greeting ends, so our voicemail lands
    # whole; a person is reported as soon as they speak.
    return {"machine_detection": "DetectMessageEnd"}
