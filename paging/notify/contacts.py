"""Whether a contact method may be paged, and the STOP / START state of phone numbers."""

from django.db import transaction
from django.utils import timezone

from accounts.people import may_act
from paging.models import ContactKind, ContactMethod


def unusable_reason(method: ContactMethod) -> str | None:
    """Return why `method` must not be paged now, or None when it may be."""
    if not method.verified:
        return "not verified yet"
    if method.kind == ContactKind.SMS and method.sms_stopped_at is not None:
        return "the number replied STOP (START re-enables it)"
    return None


def sms_stopped(phone: str) -> bool:
    """Return whether `phone` has opted out of our SMS."""
    return ContactMethod.objects.filter(
        kind=ContactKind.SMS, address=phone, sms_stopped_at__isnull=False
    ).exists()


@transaction.atomic
def phone_sms_stop(*, phone: str) -> int:
    """Stop SMS to `phone` (it replied STOP, or Twilio says it unsubscribed)."""
    return ContactMethod.objects.filter(
        kind=ContactKind.SMS, address=phone, sms_stopped_at__isnull=True
    ).update(sms_stopped_at=timezone.now())


@transaction.atomic
def phone_sms_start(*, phone: str) -> int:
    """Send SMS to `phone` again (it replied START)."""
    return ContactMethod.objects.filter(
        kind=ContactKind.SMS, address=phone, sms_stopped_at__isnull=False
    ).update(sms_stopped_at=None)


def verified_sender(phone: str) -> ContactMethod | None:
    """Return the verified SMS or voice method with this number of a person who may act, if any."""
    phones = ContactMethod.objects.filter(
        may_act("user"), address=phone, verified=True, kind__in=[ContactKind.SMS, ContactKind.VOICE]
    )
    return phones.select_related("user").order_by("kind", "id").first()
