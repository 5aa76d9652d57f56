"""Services, integrations, incidents and their timeline, contact methods and notifications."""

import datetime as dt
import functools
import re
import secrets
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, models
from django.db.models import Q
from django.urls import reverse

from accounts.models import default_team_id
from escalation.models import EscalationPolicy
from oncall.constraints import CompositeForeignKey
from oncall.timezones import at_most_a_year

# The keys an integration may have: ours are 32 characters (as PagerDuty's routing keys are), and
# configuration as code may set any of these. Every webhook, /v2/enqueue too, takes them all.
KEY_MIN, KEY_MAX = 16, 64
INTEGRATION_KEY = re.compile(rf"[A-Za-z0-9._~-]{{{KEY_MIN},{KEY_MAX}}}")


def new_integration_key() -> str:
    """Return a fresh unguessable integration key."""
    return secrets.token_urlsafe(24)


class Urgency(models.TextChoices):
    HIGH = "high"
    LOW = "low"


class Service(models.Model):
    """Something that can break: alerts arrive on it, its policy says who to page."""

    team_path = "team"

    name = models.CharField(max_length=200, unique=True)
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        default=default_team_id,
        related_name="services",
        help_text="The team that owns it: its managers change it.",
    )
    description = models.TextField(blank=True)
    escalation_policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="services"
    )
    urgency = models.CharField(
        max_length=8,
        choices=Urgency.choices,
        blank=True,
        help_text="Blank: high for critical and error alerts, low for warning and info.",
    )
    storm_cap = models.PositiveIntegerField(
        default=20,
        help_text="More new incidents than this within the storm window fold into one "
        "alert-storm incident (0: never fold).",
    )
    storm_window = models.DurationField(
        default=dt.timedelta(minutes=5), validators=[at_most_a_year]
    )
    ack_timeout = models.DurationField(
        null=True,
        blank=True,
        validators=[at_most_a_year],
        help_text="An acknowledged incident still open this long after its acknowledgement "
        "returns to triggered and escalation restarts at Level 1 (blank: never).",
    )
    auto_resolve_after = models.DurationField(
        null=True,
        blank=True,
        validators=[at_most_a_year],
        help_text="Resolve an open incident that has had no new alert for this long "
        "(blank: never).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MaintenanceWindow(models.Model):
    """A span in which the service's incidents are recorded but nobody is paged."""

    team_path = "service__team"

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["service", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="maintenance_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        span = f"{self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M} UTC"
        return f"{self.service}: maintenance {span}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The window must end after it starts."})


class IntegrationKind(models.TextChoices):
    GENERIC = "generic", "Generic JSON"
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GRAFANA = "grafana", "Grafana Alerting"
    PAGERDUTY_V2 = "pagerduty_v2", "PagerDuty Events API v2"
    HEARTBEAT = "heartbeat", "Heartbeat"


class Grouping(models.TextChoices):
    GROUP = "group", "One incident per alert group"
    ALERT = "alert", "One incident per alert (fingerprint)"


class Integration(models.Model):
    """A webhook URL, unique and secret, through which one monitoring tool posts alerts."""

    team_path = "service__team"  # its service's team; never read by other teams (a secret)

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=IntegrationKind.choices)
    key = models.CharField(
        max_length=KEY_MAX, unique=True, default=new_integration_key, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # Alertmanager and Grafana: one incident per group (groupKey) or per alert (fingerprint).
    grouping = models.CharField(max_length=8, choices=Grouping.choices, default=Grouping.GROUP)
    # Grafana: optional HMAC-SHA256 body signature.
    signing_secret = models.CharField(max_length=200, blank=True)
    signing_header = models.CharField(max_length=100, default="X-Grafana-Alerting-Signature")
    # Grafana's timestamped form: with its *Timestamp header* set, Grafana signs
    # `timestamp:body` and sends the Unix time in this header; such a request is checked
    # against the replay window. Required: requests without it are refused.
    signing_timestamp_header = models.CharField(
        max_length=100, default="X-Grafana-Alerting-Signature-Timestamp"
    )
    signing_timestamp_required = models.BooleanField(
        default=False,
        help_text="Refuse requests without a recent timestamped signature (replay protection).",
    )
    # Heartbeat: a ping is expected every interval; after interval + grace an incident opens.
    heartbeat_interval = models.DurationField(null=True, blank=True, validators=[at_most_a_year])
    heartbeat_grace = models.DurationField(
        default=dt.timedelta(minutes=1), validators=[at_most_a_year]
    )
    last_ping_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="heartbeat") | Q(heartbeat_interval__isnull=False),
                name="heartbeat_has_interval",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.name}"

    @property
    def url(self) -> str:
        """Return the full webhook URL to paste into the monitoring tool."""
        if self.kind == IntegrationKind.PAGERDUTY_V2:
            return settings.PUBLIC_URL + reverse("pagerduty-enqueue")
        return settings.PUBLIC_URL + reverse("integration-webhook", args=[self.key])

    @property
    def parser_options(self) -> dict[str, str | bool]:
        """Return the per-format settings the parser takes."""
        options = {"grouping": self.grouping}
        if self.signing_secret:
            options |= {
                "hmac_secret": self.signing_secret,
                "hmac_header": self.signing_header,
                "hmac_timestamp_header": self.signing_timestamp_header,
                "hmac_timestamp_required": self.signing_timestamp_required,
            }
        return options

    def clean(self) -> None:
        if self.kind == IntegrationKind.HEARTBEAT and self.heartbeat_interval is None:
            raise ValidationError({"heartbeat_interval": "A heartbeat needs an interval."})
        if self.heartbeat_interval is not None and self.heartbeat_interval.total_seconds() < 10:
            raise ValidationError({"heartbeat_interval": "Use at least 10 seconds."})

    @classmethod
    def by_key(cls, key: str) -> "Integration | None":
        """Return the integration with `key` and its service, in one cheap query.

        Every webhook starts here, so this skips the ORM's query compilation (most of a
        request's CPU) for one constant, prepared statement. Other databases return values
        (durations, dates) that only the ORM converts, so they take the ORM's way.
        """
        if connection.vendor != "postgresql":
            return cls.objects.select_related("service").filter(key=key).first()
        with connection.cursor() as cursor:
            cursor.execute(_by_key_sql(), [key])
            row = cursor.fetchone()
        if row is None:
            return None
        mine, theirs = _fields(cls), _fields(Service)
        integration = cls.from_db("default", [f.attname for f in mine], row[: len(mine)])
        integration.service = Service.from_db(
            "default", [f.attname for f in theirs], row[len(mine) :]
        )
        return integration

    def rotate_key(self) -> None:
        """Replace the key: the old URL stops working at once."""
        self.key = new_integration_key()
        self.save(update_fields=["key"])


def _fields(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


@functools.cache
def _by_key_sql() -> str:
    columns = [f"i.{connection.ops.quote_name(f.column)}" for f in _fields(Integration)]
    columns += [f"s.{connection.ops.quote_name(f.column)}" for f in _fields(Service)]
    return (
        f"SELECT {', '.join(columns)} FROM paging_integration i "  # noqa: S608 - model columns
        "JOIN paging_service s ON s.id = i.service_id WHERE i.key = %s"
    )


class Severity(models.TextChoices):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class IncidentStatus(models.TextChoices):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


OPEN_STATUSES = (IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED)

# Escalation ran past its last step and nobody acknowledged: the engine keeps the last level
# paged and schedules no next step (a policy without levels never sets a level).
EXHAUSTED = Q(
    status=IncidentStatus.TRIGGERED, escalation_tier__isnull=False, escalation_due_at__isnull=True
)


class Incident(models.Model):
    """A problem on a service: alerts with one dedup key, and the escalation they cause.

    The escalation state lives here, in the database, so that a lost task or a restarted worker
    loses nothing: `escalation_due_at` says when the next step is due, and the sweeper finds it.
    """

    team_path = "service__team"
    open_read = True  # TEAMS_OPEN_READ: incident work is often cross-team
    paged_lookup = "notifications__user"  # whoever it paged reads it and acts on it

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="incidents")
    dedup_key = models.CharField(max_length=255)
    summary = models.CharField(max_length=1024)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.CRITICAL)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.HIGH)
    details = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.TRIGGERED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_alert_at = models.DateTimeField(null=True, blank=True)
    alert_count = models.PositiveIntegerField(default=0)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_via = models.CharField(max_length=64, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_via = models.CharField(max_length=64, blank=True)
    # Escalation state: the tier last paged (None: not yet), its loop, and when the next is due.
    escalation_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    escalation_loop = models.PositiveSmallIntegerField(default=0)
    escalation_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The last escalation by hand: claimed with a conditional UPDATE, so concurrent requests
    # page the next level once (`actions.incident_escalate_now`).
    last_manual_escalation_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Escalation restarts at Level 1 (an expired acknowledgement) begin a new round, so that
    # the same level and loop can page the same people again without breaking their unique key.
    escalation_round = models.PositiveSmallIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one open incident per dedup key on a service: the database, not a race
            # between two web processes, decides which alert opened it.
            models.UniqueConstraint(
                fields=["service", "dedup_key"],
                condition=Q(status__in=["triggered", "acknowledged"]),
                name="incident_open_dedup_unique",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.summary}"

    def was_paged(self, user) -> bool:
        """Return whether this incident paged `user` (they may then read it and act on it).

        A list that asked for all its rows at once sets `paged_known` ({person id: bool}), so
        checking each row costs no query.
        """
        known = getattr(self, "paged_known", None)
        if known is not None and user.pk in known:
            return known[user.pk]
        return self.notifications.filter(user_id=user.pk).exists()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_exhausted(self) -> bool:
        """Return whether escalation ran past its last step with nobody acknowledging."""
        return self.status == IncidentStatus.TRIGGERED and (
            self.escalation_tier is not None and self.escalation_due_at is None
        )


class Alert(models.Model):
    """One alert received from a monitoring tool, with the raw payload that last carried it.

    Alerts with a fingerprint (Alertmanager, Grafana) are updated in place when the tool sends
    their current state again; others are one row per event.
    """

    team_path = "incident__service__team"
    open_read = True

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alerts")
    integration = models.ForeignKey(
        Integration, on_delete=models.SET_NULL, null=True, related_name="alerts"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    action = models.CharField(max_length=16)
    dedup_key = models.CharField(max_length=255, blank=True)
    fingerprint = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, default="firing")
    summary = models.CharField(max_length=1024)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "fingerprint"],
                condition=~Q(fingerprint=""),
                name="alert_fingerprint_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action}: {self.summary}"


# Repeats of an alert write at most one "alert added" timeline entry per incident this often;
# the incident's alert count and alert list hold every one.
ADDED_QUIET = dt.timedelta(minutes=1)


class TimelineEntry(models.Model):
    """Something that happened to an incident, in the words a responder reads."""

    team_path = "incident__service__team"
    open_read = True

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32)
    message = models.TextField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return self.message


class ContactKind(models.TextChoices):
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice call"
    EMAIL = "email", "E-mail"
    PUSH = "push", "Push notification"


E164 = re.compile(r"\+[1-9]\d{6,14}")


# What the ranges refused by default are, in a person's words (CONTACT_REFUSED_COUNTRY_CODES).
PHONE_RANGE_NAMES = {
    "+808": "international shared-cost numbers",
    "+870": "Inmarsat satellite phones",
    "+878": "universal personal numbers",
    "+881": "satellite phones",
    "+882": "international networks, charged like satellite",
    "+883": "international networks, charged like satellite",
    "+979": "international premium-rate numbers",
    "+991": "international trial services",
}


def _longest(number: str, prefixes: tuple[str, ...]) -> str:
    return max((p for p in prefixes if number.startswith(p)), key=len, default="")


def phone_refusal(number: str) -> str | None:
    """Return why `number` may not be added as a contact method, or None if it may."""
    allowed = settings.CONTACT_ALLOWED_COUNTRY_CODES
    allow = _longest(number, allowed)
    deny = _longest(number, settings.CONTACT_REFUSED_COUNTRY_CODES)
    if deny and len(deny) > len(allow):
        name = PHONE_RANGE_NAMES.get(deny)
        return (
            f"Numbers starting {deny}{f' ({name})' if name else ''} cannot be added: SMS and "
            "calls to them are charged at premium rates. An admin can allow them "
            "(CONTACT_ALLOWED_COUNTRY_CODES)."
        )
    if allowed and not allow:
        return f"Only numbers starting {', '.join(allowed)} can be added here."
    return None


_PUSH_ADDED_IN_THE_APP = (
    "A push device is added from the device itself: Me → Turn on push on this device."
)


class ContactMethod(models.Model):
    """A way to reach a person: a phone number for SMS or calls, an e-mail address, or a device.

    A push method's address names the device ("push service host #digest of its endpoint");
    its subscription (endpoint and keys) is a PushSubscription.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods"
    )
    name = models.CharField(max_length=100, default="mobile")
    kind = models.CharField(max_length=8, choices=ContactKind.choices)
    address = models.CharField(max_length=254, help_text="E.164 phone number or e-mail address.")
    # Only a verified method is paged: a typo in a number must not page a stranger.
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    sms_stopped_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The number replied STOP: no SMS goes to it until it replies START.",
    )
    # The pending verification code, as a keyed digest; never the code itself.
    verify_digest = models.CharField(max_length=64, blank=True, editable=False)
    verify_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    verify_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    # When the current run of wrong guesses began: a resend does not restart it, its window does.
    verify_attempts_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "address"], name="contact_unique"),
            # What a notification rule's (user, contact method) refers to (see there).
            models.UniqueConstraint(fields=["user", "id"], name="contact_method_of_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_kind_display()} {self.address}"

    def clean(self) -> None:
        if self.kind == ContactKind.EMAIL:
            try:
                validate_email(self.address)
            except ValidationError:
                raise ValidationError({"address": "Enter an e-mail address."}) from None
        elif self.kind == ContactKind.PUSH:
            # Named by us from the browser's subscription, never typed in.
            if self.pk is None or not PushSubscription.objects.filter(contact_method=self).exists():
                raise ValidationError({"kind": _PUSH_ADDED_IN_THE_APP})
        elif self.kind and not E164.fullmatch(self.address or ""):
            raise ValidationError(
                {"address": "Enter a phone number in E.164 form, such as +15550100001."}
            )
        elif self.kind and (refusal := phone_refusal(self.address)):
            raise ValidationError({"address": refusal})


class NotificationRule(models.Model):
    """Use a contact method this long after the person is paged (e.g. SMS now, call at 2 min).

    The contact method is always one of the rule's person's: another person's would send this
    person's pages to them. clean() says so to admin, the API and `oncall apply`; the database
    refuses whatever skips it (a composite foreign key to the method's own person and id).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules"
    )
    contact_method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="+")
    delay = models.DurationField(default=dt.timedelta(0), validators=[at_most_a_year])

    class Meta:
        ordering = ["user", "delay", "id"]
        constraints = [
            CompositeForeignKey(
                fields=["user", "contact_method"],
                to_fields=["user", "id"],
                name="rule_contact_method_is_the_users",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_method} after {self.delay}"

    def clean(self) -> None:
        if self.user_id is None or self.contact_method_id is None:
            return  # the missing field says so itself
        owner = self.contact_method.user
        if owner.pk != self.user_id:
            message = f"Choose one of {self.user}'s contact methods: this one is {owner}'s."
            raise ValidationError({"contact_method": message})


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Notification(models.Model):
    """One message to one person for one incident, written before the provider is called.

    The unique key (incident, round, tier, loop, person, rule) means a retried or duplicated
    task can never create a second row, and so never send twice. A handoff notice's messages
    are rows too, with the notice instead of an incident (unique per notice and contact
    method), so that they go through the same delivery as pages.
    """

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    handoff = models.ForeignKey(
        "HandoffNotice", on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    round = models.PositiveSmallIntegerField(default=0, db_default=0)
    tier = models.PositiveSmallIntegerField()
    loop = models.PositiveSmallIntegerField(default=0)
    rule_key = models.CharField(max_length=32)
    kind = models.CharField(max_length=8, choices=ContactKind.choices)
    address = models.CharField(max_length=254)
    due_at = models.DateTimeField(db_index=True)
    status = models.CharField(
        max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    body = models.TextField(blank=True)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Set while a page waits out its service's maintenance window (a changed window finds it).
    held_until = models.DateTimeField(null=True, blank=True)
    # What the provider last reported (queued, sent, delivered, undelivered, no-answer, ...).
    provider_status = models.CharField(max_length=16, blank=True)
    # Calls placed again after busy / no-answer (PAGING_VOICE_REDIALS).
    redials = models.PositiveSmallIntegerField(default=0)
    # When the last send whose outcome we never learned began (its worker died, or the
    # provider's answer was lost): ask the provider for it before sending again.
    unsure_since = models.DateTimeField(null=True, blank=True)
    # The same on every page that last went out in one bundled SMS (empty for a page sent
    # alone), stored before the provider is called: an unsure bundle is looked up as one send.
    bundle_key = models.UUIDField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "round", "tier", "loop", "user", "rule_key"],
                name="notification_once_per_step",
            ),
            models.UniqueConstraint(
                fields=["handoff", "rule_key"], name="notification_once_per_notice"
            ),
            models.CheckConstraint(
                condition=Q(incident__isnull=False, handoff__isnull=True)
                | Q(incident__isnull=True, handoff__isnull=False),
                name="notification_for_an_incident_or_a_notice",
            ),
        ]

    def __str__(self) -> str:
        if self.incident_id is None:
            return f"{self.what}: handoff notice {self.handoff_id}"
        return f"{self.what} for #{self.incident_id}"

    @property
    def what(self) -> str:
        """How timelines name this page: "SMS to Alice Adams"."""
        return f"{self.get_kind_display()} to {self.user}"


class RoundRobinPick(models.Model):
    """Whom one firing of a level picked from a round-robin team target.

    Written in the transaction that claims the incident and pages, with the team link's pointer
    moved under a row lock; unique per firing (incident, round, tier, loop, link), so a retried
    step reuses it and never moves the pointer twice.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    round = models.PositiveSmallIntegerField(default=0)
    tier = models.PositiveSmallIntegerField()
    loop = models.PositiveSmallIntegerField(default=0)
    link = models.ForeignKey("escalation.TierTeam", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "round", "tier", "loop", "link"],
                name="round_robin_pick_once_per_firing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} for incident #{self.incident_id}"


class ReplyCode(models.Model):
    """The number a person replies with by SMS (`4A`) to act on one incident.

    Per phone number, the smallest code not held by another incident; an incident holds its
    code while open and for `PAGING_REPLY_CODE_QUARANTINE` after it resolves (`reply_codes.py`),
    so codes stay short and a late reply never reaches a newer incident.
    """

    phone = models.CharField(max_length=32)
    code = models.PositiveIntegerField()
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="reply_codes")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phone", "code"], name="reply_code_unique"),
            models.UniqueConstraint(fields=["phone", "incident"], name="reply_code_once"),
        ]

    def __str__(self) -> str:
        return f"{self.code} for #{self.incident_id}"


class InboundMessage(models.Model):
    """An inbound SMS we acted on, by Twilio's MessageSid, with the answer we gave.

    Twilio may deliver one message more than once: the unique SID lets only the first delivery
    act (a repeat arriving while the first is handled waits for it), and a repeat gets the same
    answer. Kept for `PAGING_REPLY_CODE_QUARANTINE`, as long as a code it names is kept.
    """

    sid = models.CharField(max_length=64, unique=True)
    answer = models.TextField(blank=True, help_text="Empty: no answer was sent.")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.sid


class HandoffNotice(models.Model):
    """The notice to the person whose shift starts: one row per schedule, person and start.

    Or (kind `override`) the notice to a person someone else's override took off call, written
    when the override is taken or changed: "Alice Adams covers your Payments shift ...". Or
    (kind `restored`) the notice to a person put back on call because someone else removed an
    override or made it cover less: "You are on call again for Payments ...".
    Or, for a request for cover (`cover_request`): the accepter's confirmation (kind `taken`),
    and the notice to each of the team's managers that nobody has taken it a day before its
    start (kind `untaken`).

    The row is written (unique) and then claimed before anything is sent, so overlapping or
    repeated runs of the handoff task send each notice once. Its messages (`messages`, one
    notification per contact method) are delivered like pages; the status says how the first
    attempt went: sent (one went out), failed (none could), sending (they wait for a retry or
    the number's SMS limit, and their rows say how that goes).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    class Kind(models.TextChoices):
        HANDOFF = "handoff"
        OVERRIDE = "override"
        TAKEN = "taken"
        UNTAKEN = "untaken"
        RESTORED = "restored"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.HANDOFF)
    schedule = models.ForeignKey(
        "schedules.Schedule", on_delete=models.CASCADE, related_name="handoff_notices"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    covered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Override notices: who took the shift; restored ones: whose cover ended.",
    )
    cover_request = models.ForeignKey(
        "schedules.CoverRequest",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Taken and untaken notices: the request for cover they are about.",
    )
    shift_start = models.DateTimeField()
    shift_end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    sent_to = models.TextField(
        blank=True,
        help_text="What its first attempt sent where, one line each (its messages say the rest).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-shift_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "user", "shift_start"],
                condition=Q(kind="handoff"),
                name="handoff_notice_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.schedule} from {self.shift_start:%Y-%m-%d %H:%M} UTC"

    def words(self) -> tuple[str, str]:
        """Return the subject and the text of the notice, times in the schedule's zone.

        An override notice's times are in the replaced person's own zone, named.
        """
        if self.kind == self.Kind.OVERRIDE:
            return self._override_words()
        if self.kind == self.Kind.RESTORED:
            return self._restored_words()
        if self.kind in (self.Kind.TAKEN, self.Kind.UNTAKEN):
            return self._request_words()
        zone = ZoneInfo(self.schedule.time_zone)
        until = f" until {_local(self.shift_end, zone)}" if self.shift_end else ""
        subject = f"You are on call for {self.schedule.name}"
        text = (
            f"On call: your shift on {self.schedule.name} started "
            f"{_local(self.shift_start, zone)}{until} ({self.schedule.time_zone})."
        )
        return subject, text

    def _override_words(self) -> tuple[str, str]:
        subject = f"{self.covered_by} covers your {self.schedule.name} shift"
        span = span_words(self.shift_start, self.shift_end, ZoneInfo(self.user.time_zone))
        return subject, f"{subject} {span}"

    def _restored_words(self) -> tuple[str, str]:
        subject = f"You are on call again for {self.schedule.name}"
        span = span_words(self.shift_start, self.shift_end, ZoneInfo(self.user.time_zone))
        return subject, f"{subject} {span}: {self.covered_by}'s cover was removed"

    def _request_words(self) -> tuple[str, str]:
        """Words about a request for cover, times in the recipient's own zone, named."""
        asked = self.cover_request.requester
        span = span_words(self.shift_start, self.shift_end, ZoneInfo(self.user.time_zone))
        if self.kind == self.Kind.TAKEN:
            subject = f"You cover {asked}'s {self.schedule.name} shift"
            return subject, f"{subject} {span}"
        subject = f"Nobody has taken {asked}'s {self.schedule.name} shift"
        return subject, f"{subject} {span}: cover it or find someone."


def _local(instant: dt.datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%a %d %b %H:%M}"


DASH = "\u2013"  # an en dash between times; SMS fold it to "-"


def span_words(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> str:
    """Return a span in `zone` with the zone's name, e.g. "Tue 8 Dec 09:00-17:00 CET"."""
    begins, ends = start.astimezone(zone), end.astimezone(zone)
    first, same_day = _day_time(begins), begins.date() == ends.date()
    if same_day and begins.tzname() == ends.tzname():
        return f"{first}{DASH}{ends:%H:%M} {ends.tzname()}"
    last = f"{ends:%H:%M}" if same_day else _day_time(ends)
    if begins.tzname() != ends.tzname():
        return f"{first} {begins.tzname()} {DASH} {last} {ends.tzname()}"
    return f"{first} {DASH} {last} {ends.tzname()}"


def _day_time(local: dt.datetime) -> str:
    return f"{local:%a} {local.day} {local:%b %H:%M}"


class ReplyBundle(models.Model):
    """The code (100 and up) that acts on every incident of one bundled SMS at once (`100A`)."""

    phone = models.CharField(max_length=32)
    code = models.PositiveIntegerField()
    incidents = models.ManyToManyField(Incident, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phone", "code"], name="reply_bundle_unique"),
        ]

    def __str__(self) -> str:
        return f"bundle {self.code} for {self.phone}"


class PhoneLimit(models.Model):
    """Per-number counters that keep us carrier-safe: SMS sent, calls placed, replies received."""

    phone = models.CharField(max_length=32, unique=True)
    last_sms_at = models.DateTimeField(null=True, blank=True)
    hour_started_at = models.DateTimeField(null=True, blank=True)
    hour_sms = models.PositiveIntegerField(default=0)
    last_call_at = models.DateTimeField(null=True, blank=True)
    call_hour_started_at = models.DateTimeField(null=True, blank=True)
    hour_calls = models.PositiveIntegerField(default=0)
    replies_started_at = models.DateTimeField(null=True, blank=True)
    replies = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.phone


class VerificationSend(models.Model):
    """One verification code sent: counted per number or address and per person for limits.

    Kept by address, not by contact method, so deleting and re-adding a number resets nothing.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=254)
    sent_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["address", "sent_at"], name="verify_send_address"),
            models.Index(fields=["user", "sent_at"], name="verify_send_user"),
        ]

    def __str__(self) -> str:
        return f"{self.address} at {self.sent_at:%Y-%m-%d %H:%M}"


class EarlyCallback(models.Model):
    """A provider status callback that came before its send's SID was recorded, kept for then.

    Twilio may report on a message or call before our worker hears back its SID: those reports
    wait here, under a row lock on the notification, and the worker applies the ones naming the
    SID it records, in the order they came (`callbacks.early_callbacks_apply`). A table rather
    than fields on the notification: one send can be reported on several times before that
    (sent then delivered; ringing, in-progress, completed), and the race is rare, so notification
    rows stay as they are. The sweeper deletes the ones whose SID never got recorded.
    """

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="+")
    sid = models.CharField(max_length=64)
    status = models.CharField(max_length=32)
    error_code = models.CharField(max_length=16, blank=True)
    seconds = models.CharField(max_length=16, blank=True)
    answered_by = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.status} for notification {self.notification_id}"


class PushSubscription(models.Model):
    """Where a push contact method's pages go: the browser's push service endpoint and keys.

    Endpoints may be longer than a contact method's address, so they live here, one per method.
    """

    contact_method = models.OneToOneField(
        ContactMethod, on_delete=models.CASCADE, related_name="push_subscription"
    )
    endpoint = models.TextField()
    # The browser's P-256 public key (65 bytes) and auth secret (16), base64url as it gave them.
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"push subscription of {self.contact_method}"


class PushLinkUse(models.Model):
    """A push notification's action link that has been used: each works once.

    Kept only as long as the link could still be used (PAGING_PUSH_ACTION_MAX_AGE_SECONDS).
    """

    nonce = models.CharField(max_length=32, unique=True)
    used_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"push link used at {self.used_at:%Y-%m-%d %H:%M:%S}"
