"""Schedules: rotations of people, layered, in the schedule's own time zone."""

import datetime as dt
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import default_team_id
from oncall.timezones import MAX_INSTANT, MIN_INSTANT, validate_time_zone
from schedules.resolver import CalendarEvent, LayerData, OverrideData, Restriction, ScheduleData


class Schedule(models.Model):
    """A named on-call schedule whose rotations are computed in `time_zone`."""

    team_path = "team"
    open_read = True  # TEAMS_OPEN_READ: who is on call is often asked across teams

    name = models.CharField(max_length=200, unique=True)
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        default=default_team_id,
        related_name="schedules",
        help_text="The team that owns it: its managers change it.",
    )
    description = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    handoff_notice = models.BooleanField(
        "handoff notices",
        default=False,
        help_text="Send the incoming person an SMS and e-mail when their shift starts.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def snapshot(
        self, start: dt.datetime | None = None, end: dt.datetime | None = None
    ) -> ScheduleData:
        """Return the schedule as plain data for the pure resolver.

        With a window, only the overrides that touch [start, end) are loaded.
        """
        overrides = self.overrides.all()
        events = ImportedEvent.objects.all()
        if start is not None and end is not None:
            overrides = overrides.filter(start__lt=end, end__gt=start)
            events = events.filter(start__lt=end, end__gt=start)
        return _schedule_data(self, _snapshot_layers(self.layers.all(), events), overrides)


class ShiftUnit(models.TextChoices):
    HOURS = "hours", "hours"
    DAYS = "days", "days"
    WEEKS = "weeks", "weeks"


class LayerKind(models.TextChoices):
    ROTATION = "rotation", "rotation"
    ICAL_URL = "ical_url", "iCal feed (URL)"
    ICAL_FILE = "ical_file", "uploaded .ics file"


CALENDAR_KINDS = (LayerKind.ICAL_URL, LayerKind.ICAL_FILE)
CALENDAR_SCHEMES = ("http", "https", "webcal")
NO_PEOPLE = "A rotation needs at least one person: add participants."
NO_SHIFT = "A shift lasts at least 1 hour, day or week."


def rotation_people_error(kind: str, people: int) -> str | None:
    """Return why a layer of `kind` with `people` participants would page nobody, or None."""
    return NO_PEOPLE if kind == LayerKind.ROTATION and people == 0 else None


# PostgreSQL's smallint, enforced on SQLite too: with a first handoff before year 3000, every
# handoff the resolver computes stays before year 9999.
MAX_SHIFT_COUNT = 32767


class Layer(models.Model):
    """One rotation in a schedule, or an imported calendar; where layers overlap the higher
    `level` wins.

    An imported calendar keeps its last good copy (`calendar_body`) and its events expanded into
    `ImportedEvent` rows; a failed refresh records `calendar_error` and changes nothing else.
    """

    team_path = "schedule__team"
    open_read = True

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=200, default="Rotation")
    level = models.PositiveSmallIntegerField(default=1, help_text="Higher levels win.")
    kind = models.CharField(max_length=16, choices=LayerKind.choices, default=LayerKind.ROTATION)
    shift_count = models.PositiveSmallIntegerField(default=1)
    shift_unit = models.CharField(max_length=8, choices=ShiftUnit.choices, default=ShiftUnit.WEEKS)
    handoff_date = models.DateField(
        null=True, blank=True, help_text="First handoff, in the schedule's time zone."
    )
    handoff_time = models.TimeField(default=dt.time(9, 0))
    calendar_url = models.CharField(
        "calendar URL",
        max_length=2000,
        blank=True,
        help_text="iCal feed (http, https or webcal); private URLs are fine, their tokens are "
        "never logged.",
    )
    calendar_body = models.TextField(blank=True, editable=False)
    calendar_etag = models.CharField(max_length=200, blank=True, editable=False)
    calendar_last_modified = models.CharField(max_length=64, blank=True, editable=False)
    calendar_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    calendar_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    calendar_error = models.TextField(blank=True, editable=False)
    calendar_unmapped = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["schedule", "-level"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "level"], name="layer_level_unique"),
            models.CheckConstraint(condition=models.Q(shift_count__gte=1), name="layer_shift_ge1"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name}"

    def clean(self) -> None:
        # Said here in words; otherwise the check constraint below answers with its name.
        if self.shift_count is not None and self.shift_count < 1:
            raise ValidationError({"shift_count": NO_SHIFT})
        if self.kind == LayerKind.ROTATION and self.handoff_date is None:
            raise ValidationError({"handoff_date": "A rotation needs its first handoff date."})
        if self.kind == LayerKind.ROTATION:
            self._clean_rotation_bounds()
        if self.kind == LayerKind.ICAL_URL:
            scheme = self.calendar_url.split("://", 1)[0].lower() if self.calendar_url else ""
            if "://" not in self.calendar_url or scheme not in CALENDAR_SCHEMES:
                raise ValidationError(
                    {"calendar_url": "Enter an http, https or webcal URL of an iCal feed."}
                )

    def _clean_rotation_bounds(self) -> None:
        """Refuse dates and shifts whose handoffs fall past the calendar's end (year 9999)."""
        first, last = MIN_INSTANT.year, MAX_INSTANT.year
        if not first <= self.handoff_date.year <= last:
            raise ValidationError(
                {"handoff_date": f"The first handoff must be between the years {first} and {last}."}
            )
        if self.shift_count and self.shift_count > MAX_SHIFT_COUNT:
            raise ValidationError(
                {"shift_count": f"Ensure this value is less than or equal to {MAX_SHIFT_COUNT}."}
            )

    def forget_validators(self) -> None:
        """Drop the ETag and Last-Modified of the stored copy: they belong to the old URL."""
        self.calendar_etag = self.calendar_last_modified = ""

    @property
    def is_calendar(self) -> bool:
        return self.kind in CALENDAR_KINDS

    def snapshot(self) -> LayerData:
        """Return the layer as plain data for the pure resolver."""
        events = None
        if self.is_calendar:
            events = tuple(e.snapshot() for e in self.imported_events.all())
        return LayerData(
            level=self.level,
            rotation=tuple(m.user_id for m in self.members.all()),
            shift_count=self.shift_count,
            shift_unit=self.shift_unit,
            handoff=dt.datetime.combine(
                self.handoff_date or dt.date(2000, 1, 1), self.handoff_time
            ),
            restrictions=tuple(r.snapshot() for r in self.restrictions.all()),
            name=self.name,
            events=events,
        )


class ImportedEvent(models.Model):
    """One occurrence of an imported calendar's event, mapped to the person it names."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="imported_events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    summary = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["layer", "start", "end", "user_id"]
        indexes = [models.Index(fields=["layer", "start"], name="imported_event_layer_start")]

    def __str__(self) -> str:
        return f"{self.user}: {self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} UTC"

    def snapshot(self) -> CalendarEvent:
        return CalendarEvent(person=self.user_id, start=self.start, end=self.end)


class LayerMember(models.Model):
    """A participant's place in a rotation; one person may hold several places."""

    team_path = "layer__schedule__team"
    open_read = True

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["layer", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.user}"


class Weekday(models.IntegerChoices):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class RestrictionKind(models.TextChoices):
    DAILY = "daily", "every day"
    WEEKLY = "weekly", "every week"


class LayerRestriction(models.Model):
    """A local window the layer is limited to; outside every window the layer has nobody.

    Daily: from `start_time` to `end_time` each day (an end not after the start wraps past
    midnight). Weekly: from `start_day start_time` to `end_day end_time`, e.g. Fri 18:00 → Mon
    09:00.
    """

    team_path = "layer__schedule__team"
    open_read = True

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="restrictions")
    kind = models.CharField(max_length=8, choices=RestrictionKind.choices)
    start_day = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="Weekly windows only."
    )
    start_time = models.TimeField()
    end_day = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="Weekly windows only."
    )
    end_time = models.TimeField()

    class Meta:
        ordering = ["layer", "kind", "start_day", "start_time"]

    def __str__(self) -> str:
        if self.kind == RestrictionKind.DAILY:
            return f"daily {self.start_time:%H:%M}-{self.end_time:%H:%M}"
        days = Weekday(self.start_day).label[:3], Weekday(self.end_day).label[:3]
        return f"{days[0]} {self.start_time:%H:%M} → {days[1]} {self.end_time:%H:%M}"

    def snapshot(self) -> Restriction:
        return Restriction(
            kind=self.kind,
            start=self.start_time,
            end=self.end_time,
            start_day=self.start_day,
            end_day=self.end_day,
        )


class Override(models.Model):
    """Someone covers a span: the whole schedule, or only where `replaces` would be on call."""

    team_path = "schedule__team"
    open_read = True

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="overrides_taken"
    )
    replaces = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Blank: covers the whole schedule.",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Later overrides win where they overlap: the resolver takes them in this order.
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="override_end_after_start"
            )
        ]

    def __str__(self) -> str:
        whom = f" for {self.replaces}" if self.replaces_id else ""
        return f"{self.user}{whom}: {self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} UTC"

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start."})
        if self.replaces_id and self.replaces_id == self.user_id:
            raise ValidationError({"replaces": "Someone cannot replace themselves."})

    def snapshot(self) -> OverrideData:
        return OverrideData(
            person=self.user_id, start=self.start, end=self.end, replaces=self.replaces_id
        )


def new_feed_token() -> str:
    """Return a fresh unguessable calendar feed token."""
    return secrets.token_urlsafe(24)


class CalendarFeed(models.Model):
    """An iCal feed URL for one person's shifts or one schedule's, behind a secret token.

    Revoking keeps the row (so admin shows what existed) and makes the URL answer 404; a new
    feed gets a new token.
    """

    token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feeds",
    )
    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, null=True, blank=True, related_name="calendar_feeds"
    )
    # Who made the URL: they may revoke it, and it stops working when they are deactivated.
    # Empty for feeds made before this was recorded (those keep working).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, schedule__isnull=True)
                | models.Q(user__isnull=True, schedule__isnull=False),
                name="feed_user_xor_schedule",
            )
        ]

    def __str__(self) -> str:
        return f"Calendar of {self.user or self.schedule}"

    def clean(self) -> None:
        if (self.user_id is None) == (self.schedule_id is None):
            raise ValidationError("Choose either a person or a schedule.")

    @property
    def url(self) -> str:
        """Return the URL to paste into a calendar app's "subscribe" dialog."""
        return settings.PUBLIC_URL + reverse("calendar-feed", args=[self.token])


def feeds_revoke(feeds: models.QuerySet) -> int:
    """Make the URLs of `feeds` answer 404 from now on; return how many were live."""
    return feeds.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def feed_recreate(*, feed: CalendarFeed, by=None) -> CalendarFeed:
    """Revoke `feed` and return a new one for the same person or schedule, made `by` someone."""
    feeds_revoke(CalendarFeed.objects.filter(pk=feed.pk))
    return CalendarFeed.objects.create(
        user_id=feed.user_id, schedule_id=feed.schedule_id, created_by=by
    )


def snapshots(schedules: models.QuerySet, start: dt.datetime, end: dt.datetime) -> dict:
    """Return {schedule id: ScheduleData} for many schedules over [start, end), in a fixed
    number of queries whatever their count (Schedule.snapshot takes a few per schedule)."""
    events = ImportedEvent.objects.filter(start__lt=end, end__gt=start)
    layers = _snapshot_layers(Layer.objects.all(), events)
    overrides = Override.objects.filter(start__lt=end, end__gt=start)
    found = schedules.prefetch_related(
        models.Prefetch("layers", queryset=layers),
        models.Prefetch("overrides", queryset=overrides),
    )
    return {s.pk: _schedule_data(s, s.layers.all(), s.overrides.all()) for s in found}


def _snapshot_layers(layers: models.QuerySet, events: models.QuerySet) -> models.QuerySet:
    """Return `layers` with what their snapshots read prefetched (of the calendar, `events`)."""
    events = events.order_by("start", "end", "user_id")
    return layers.prefetch_related(
        "members", "restrictions", models.Prefetch("imported_events", queryset=events)
    )


def _schedule_data(schedule: Schedule, layers, overrides) -> ScheduleData:
    """Return `schedule` as plain data for the pure resolver, of these layers and overrides."""
    return ScheduleData(
        time_zone=schedule.time_zone,
        layers=tuple(la.snapshot() for la in layers),
        overrides=tuple(o.snapshot() for o in overrides),
    )


class CoverRequest(models.Model):
    """Someone asks for cover of [start, end) of their shifts: a teammate accepts or declines.

    Accepting makes the override (`schedules.swaps`); a request still open a day before its
    start is shown to the team's managers, who are told once (`managers_told_at`); one whose
    start has passed expires.
    """

    team_path = "schedule__team"

    class Status(models.TextChoices):
        OPEN = "open"
        TAKEN = "taken"
        CANCELLED = "cancelled"
        EXPIRED = "expired"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="cover_requests")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cover_requests"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.OPEN)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    override = models.ForeignKey(
        Override, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    declined_by = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    managers_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["status", "start"], name="cover_request_open_start")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="cover_request_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.requester} asks cover on {self.schedule} from {self.start:%Y-%m-%d %H:%M}Z"
