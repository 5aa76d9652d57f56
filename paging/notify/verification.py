"""Contact method verification: a new number or address is paged only once its owner proves it.

Adding one sends a code: by SMS (reply with the code), by a call (press 1), by e-mail (a link
whose GET shows a confirmation page and whose POST verifies, plus the code), or by a test push
whose Confirm action posts such a link. An admin can mark a
method verified; `manage.py contact_verify` does either from the shell.
"""

import dataclasses
import datetime as dt
import secrets
import sys

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import User
from oncall.limits import Limited
from oncall.logs import mask_phone
from paging.models import ContactKind, ContactMethod, PushSubscription
from paging.notify.channels.base import DeliveryError
from paging.notify.channels.twilio_client import provider_errors, twilio_client, twilio_configured
from paging.notify.channels.webpush import subscription_send
from paging.notify.limits import reply_take, verification_send_take
from paging.notify.push import Subscription, confirm_payload, device_address

MAX_ATTEMPTS = 5
_LINK_SALT = "paging.verify-link"
_CALL_SALT = "paging.verify-call"
_CODE = "{:06d}"


def _digest(method: ContactMethod, code: str) -> str:
    return salted_hmac("paging.verify", f"{method.pk}:{code}").hexdigest()


def _pending(method: ContactMethod) -> bool:
    """Return whether `method` has a code that is unexpired and not worn out by guesses."""
    if method.verified or not method.verify_digest or method.verify_sent_at is None:
        return False
    expires = method.verify_sent_at + dt.timedelta(minutes=settings.PAGING_VERIFY_CODE_MINUTES)
    return timezone.now() < expires and _guesses_left(method, timezone.now())


def _guesses_window_over(method: ContactMethod, now: dt.datetime) -> bool:
    since = method.verify_attempts_since
    return since is None or now >= since + settings.PAGING_VERIFY_GUESS_WINDOW


def _guesses_left(method: ContactMethod, now: dt.datetime) -> bool:
    """Return whether `method` may be guessed at: fewer than 5 wrong ones in its window."""
    return method.verify_attempts < MAX_ATTEMPTS or _guesses_window_over(method, now)


def _count_wrong_guess(method: ContactMethod, now: dt.datetime) -> None:
    """Count a wrong code; the count runs over a window that no new code restarts."""
    if _guesses_window_over(method, now):
        method.verify_attempts, method.verify_attempts_since = 0, now
    method.verify_attempts += 1
    method.save(update_fields=["verify_attempts", "verify_attempts_since"])


@transaction.atomic
def contact_method_add(
    *, user: User, kind: str, address: str, name: str = "mobile", verified: bool = False
) -> ContactMethod:
    """Add a contact method; unless already verified, send it a verification code."""
    method = ContactMethod.objects.create(
        user=user, kind=kind, address=address, name=name, verified=verified
    )
    if verified:
        method.verified_at = timezone.now()
        method.save(update_fields=["verified_at"])
    else:
        # Robust: a provider failure is logged, and never undoes or fails the addition;
        # the code can be sent again (admin action, `contact_verify --send`).
        transaction.on_commit(lambda: contact_method_verification_send(method=method), robust=True)
    return method


def push_subscribe(
    *, user: User, subscription: Subscription, name: str
) -> tuple[ContactMethod, str]:
    """Store a browser's subscription as a push method of `user`; unverified, send a test push.

    The same endpoint again refreshes its keys (and sends a new test push while unverified).
    Returns the method and, when the test push could not go, why (the method stays).
    """
    address = device_address(subscription.endpoint)
    with transaction.atomic():
        method, _ = ContactMethod.objects.get_or_create(
            user=user, kind=ContactKind.PUSH, address=address, defaults={"name": name[:100]}
        )
        keys = dataclasses.asdict(subscription)  # endpoint, p256dh, auth: the row's fields
        PushSubscription.objects.update_or_create(contact_method=method, defaults=keys)
    if method.verified:
        return method, ""
    try:
        with transaction.atomic():
            contact_method_verification_send(method=method)
    except (DeliveryError, Limited) as exc:
        return method, str(exc)
    return method, ""


def contact_method_mark_verified(*, method: ContactMethod) -> None:
    """Mark `method` verified (an admin vouches for it)."""
    method.verified, method.verified_at = True, timezone.now()
    method.verify_digest, method.verify_attempts, method.verify_attempts_since = "", 0, None
    guesses = ["verify_digest", "verify_attempts", "verify_attempts_since"]
    method.save(update_fields=["verified", "verified_at", *guesses])


def contact_method_verify(*, method: ContactMethod, code: str) -> bool:
    """Verify `method` if `code` is its pending code; count the attempt either way."""
    with transaction.atomic():
        locked = ContactMethod.objects.select_for_update().get(pk=method.pk)
        if not _pending(locked):
            return False
        if not constant_time_compare(locked.verify_digest, _digest(locked, code.strip())):
            _count_wrong_guess(locked, timezone.now())
            return False
        contact_method_mark_verified(method=locked)
    method.refresh_from_db()
    return True


def verify_refused_why(method: ContactMethod) -> str:
    """Say why a code was not taken: out of guesses (until when), or wrong or expired."""
    method.refresh_from_db(fields=["verify_attempts", "verify_attempts_since"])
    now = timezone.now()
    if _guesses_left(method, now):
        return "wrong or expired; send a fresh one"
    until = method.verify_attempts_since + settings.PAGING_VERIFY_GUESS_WINDOW
    return (
        f"too many wrong codes: every code, a fresh one too, is refused until {until:%H:%M:%S} UTC"
    )


def contact_method_verification_send(*, method: ContactMethod) -> None:
    """Send `method` a fresh verification code.

    Raises Limited (nothing sent) when its number or person has had their codes for now, and
    DeliveryError if the provider fails. The wrong guesses counted so far stay counted.
    """
    verification_send_take(method=method, now=timezone.now())
    code = _CODE.format(secrets.randbelow(10**6))
    method.verify_digest, method.verify_sent_at = _digest(method, code), timezone.now()
    method.save(update_fields=["verify_digest", "verify_sent_at"])
    senders = {
        ContactKind.SMS: _send_sms,
        ContactKind.VOICE: _call,
        ContactKind.EMAIL: _mail,
        ContactKind.PUSH: _push,
    }
    senders[method.kind](method, code)


def _send_sms(method: ContactMethod, code: str) -> None:
    text = f"On-call: your verification code is {code}. Reply with it to get pages here."
    if not twilio_configured():
        print(f"\n[SMS to {mask_phone(method.address)}] {text}\n", file=sys.stdout, flush=True)
        return
    with provider_errors():
        twilio_client().messages.create(
            to=method.address, from_=settings.TWILIO_FROM_NUMBER, body=text
        )


def verify_call_url(method: ContactMethod) -> str:
    """Return the URL of the verification call's TwiML."""
    token = signing.dumps(method.pk, salt=_CALL_SALT)
    return settings.PUBLIC_URL + reverse("twilio-voice-verify", args=[token])


def method_for_call_token(token: str) -> ContactMethod | None:
    """Return the contact method a verification call's token names, if valid and pending."""
    try:
        pk = int(signing.loads(token, salt=_CALL_SALT, max_age=3600))
    except (signing.BadSignature, TypeError, ValueError):
        return None
    method = ContactMethod.objects.filter(pk=pk, kind=ContactKind.VOICE).first()
    return method if method is not None and _pending(method) else None


def _call(method: ContactMethod, code: str) -> None:
    if not twilio_configured():
        print(f"\n[Voice call to {mask_phone(method.address)}] verification: press 1\n")
        return
    with provider_errors():
        twilio_client().calls.create(
            to=method.address, from_=settings.TWILIO_FROM_NUMBER, url=verify_call_url(method)
        )


def verify_link_url(method: ContactMethod, route: str = "contact-verify") -> str:
    """Return the verification link: it names the method and its pending code."""
    token = signing.dumps({"m": method.pk, "d": method.verify_digest[:16]}, salt=_LINK_SALT)
    return settings.PUBLIC_URL + reverse(route, args=[token])


def method_for_link_token(token: str) -> ContactMethod | None:
    """Return the contact method an e-mail link names, if its code is still the pending one."""
    try:
        payload = signing.loads(token, salt=_LINK_SALT)
        pk, digest = int(payload["m"]), str(payload["d"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    method = ContactMethod.objects.filter(pk=pk).first()
    if method is None or not _pending(method) or method.verify_digest[:16] != digest:
        return None
    return method


def _mail(method: ContactMethod, code: str) -> None:
    minutes = settings.PAGING_VERIFY_CODE_MINUTES
    body = (
        f"Confirm that {method.address} should receive on-call pages for {method.user}:\n\n"
        f"{verify_link_url(method)}\n\nor enter the code {code}. Both work for {minutes} minutes."
    )
    send_mail("Confirm your on-call e-mail address", body, None, [method.address])


def _push(method: ContactMethod, code: str) -> None:
    """Send the test push whose Confirm action verifies the device (no code to type)."""
    found = PushSubscription.objects.filter(contact_method=method).first()
    subscription_send(found, confirm_payload(method, verify_link_url(method, "push-confirm")))


def verification_reply(*, phone: str, words: str) -> str | None:
    """Answer an SMS from a number that is not verified: only its pending code counts."""
    candidates = [
        m
        for m in ContactMethod.objects.filter(kind=ContactKind.SMS, address=phone, verified=False)
        if _pending(m)
    ]
    if not candidates or not reply_take(phone=phone, now=timezone.now()):
        return None  # not a number we know: no answer, nothing changed
    if not (words.isdigit() and len(words) == 6):
        return "Reply with the 6-digit verification code we sent to this number."
    verified = [m for m in candidates if contact_method_verify(method=m, code=words)]
    if not verified:
        return "That code is wrong or expired."
    return f"Thanks: this number now receives on-call pages for {verified[0].user}."
