"""Load idempotent demo data and an admin user, and print where to look."""

import datetime as dt
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Role, Team, User
from escalation.models import EscalationPolicy, Tier
from paging.models import ContactKind, ContactMethod, Integration, NotificationRule, Service
from paging.notify.channels.twilio_client import twilio_configured
from schedules.models import Layer, LayerMember, Schedule

RESPONDERS = [
    ("alice", "Alice", "Adams", "+15550100001"),
    ("bob", "Bob", "Brown", "+15550100002"),
    ("carol", "Carol", "Chen", "+15550100003"),
]
DEMO_ALERT = '{"summary": "Disk full on db1", "severity": "critical", "dedup_key": "db1-disk"}'


def _responder(username: str, first: str, last: str, phone: str) -> tuple[User, bool]:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
    )
    sms, _ = ContactMethod.objects.get_or_create(
        user=user, kind=ContactKind.SMS, address=phone, defaults={"verified": True}
    )
    NotificationRule.objects.get_or_create(user=user, contact_method=sms, delay=dt.timedelta(0))
    return user, created


def _team(people: list[User]) -> Team:
    """The Payments team: Alice manages it, Bob and Carol respond."""
    team, _ = Team.objects.get_or_create(slug="payments", defaults={"name": "Payments"})
    for person in people:
        role = Role.MANAGER if person.username == "alice" else Role.RESPONDER
        Membership.objects.get_or_create(team=team, user=person, defaults={"role": role})
    return team


def _schedule(team: Team, people: list[User]) -> Schedule:
    schedule, _ = Schedule.objects.get_or_create(
        name="Primary on-call", defaults={"time_zone": "America/New_York", "team": team}
    )
    layer, created = Layer.objects.get_or_create(
        schedule=schedule,
        level=1,
        defaults={"name": "Weekly", "shift_unit": "weeks", "handoff_date": dt.date(2026, 1, 5)},
    )
    if created:
        for position, person in enumerate(people):
            LayerMember.objects.create(layer=layer, user=person, position=position)
    return schedule


def _policy(team: Team, schedule: Schedule, people: list[User]) -> EscalationPolicy:
    policy, created = EscalationPolicy.objects.get_or_create(
        name="Default", defaults={"repeat": 1, "team": team}
    )
    if created:
        minutes = dt.timedelta(minutes=2)
        Tier.objects.create(policy=policy, position=0, ack_timeout=minutes).schedules.add(schedule)
        Tier.objects.create(policy=policy, position=1, ack_timeout=minutes).users.add(people[2])
        Tier.objects.create(policy=policy, position=2, ack_timeout=minutes).users.add(*people)
    return policy


def _admin() -> tuple[User, bool]:
    """Return the admin user, and whether it was made just now."""
    admin = User.objects.filter(username="admin").first()
    if admin is not None:
        return admin, False
    return User.objects.create_superuser("admin", "admin@example.com", None), True


def _password(user: User, *, new: bool) -> str:
    """Return `user`'s demo password, kept in var/<username>-password (mode 0600) across runs.

    A user made just now, or whose file is lost, gets a fresh one.
    """
    path = settings.VAR_DIR / f"{user.username}-password"
    if not new and path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def _local_push_key() -> None:
    """Make `make run`'s VAPID key under VAR_DIR once (DEBUG only, when none is configured)."""
    path = settings.LOCAL_VAPID_KEY_FILE
    if not settings.DEBUG or settings.WEBPUSH_VAPID_PRIVATE_KEY or path.exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(pem)


def _where_pages_go() -> str:
    if twilio_configured():
        return f"SMS pages go out through Twilio from {settings.TWILIO_FROM_NUMBER}"
    return "No Twilio credentials: the SMS page is printed below by the worker"


class Command(BaseCommand):
    help = "Load demo data (idempotent), ensure an admin user, and print how to try it."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        made = [_responder(*r) for r in RESPONDERS]
        people = [person for person, _ in made]
        team = _team(people)
        policy = _policy(team, _schedule(team, people), people)
        service, _ = Service.objects.get_or_create(
            name="Payments API", defaults={"escalation_policy": policy, "team": team}
        )
        integration, _ = Integration.objects.get_or_create(
            service=service, name="Generic JSON", defaults={"kind": "generic"}
        )
        admin, new = _admin()
        password = _password(admin, new=new)
        bob, new = made[1]
        bob_password = _password(bob, new=new)
        _local_push_key()
        base = settings.PUBLIC_URL
        self.stdout.write(
            f"\nAdmin:     {base}/admin/  (user admin, password {password})\n"
            f"Responder: {base}/  (user bob, password {bob_password}; a Payments responder)\n"
            f"Trigger a demo alert:\n"
            f"  curl -X POST {integration.url} \\\n"
            f"    -H 'Content-Type: application/json' -d '{DEMO_ALERT}'\n"
            f"{_where_pages_go()}; acknowledge it as Bob on the responder app, or in admin.\n"
        )
