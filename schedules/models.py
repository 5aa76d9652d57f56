"""Schedules: rotations of people, layered, in the schedule's own time zone."""

import datetime as dt

from django.conf import settings
from django.db import models

from oncall.timezones import validate_time_zone
from schedules.resolver import LayerData, ScheduleData


class Schedule(models.Model):
    """A named on-call schedule whose rotations are computed in `time_zone`."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def snapshot(self) -> ScheduleData:
        """Return the schedule as plain data for the pure resolver."""
        layers = self.layers.prefetch_related("members")
        return ScheduleData(time_zone=self.time_zone, layers=tuple(la.snapshot() for la in layers))


class ShiftUnit(models.TextChoices):
    HOURS = "hours", "hours"
    DAYS = "days", "days"
    WEEKS = "weeks", "weeks"


class Layer(models.Model):
    """One rotation in a schedule; where layers overlap the higher `level` wins."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=200, default="Rotation")
    level = models.PositiveSmallIntegerField(default=1, help_text="Higher levels win.")
    shift_count = models.PositiveSmallIntegerField(default=1)
    shift_unit = models.CharField(max_length=8, choices=ShiftUnit.choices, default=ShiftUnit.WEEKS)
    handoff_date = models.DateField(help_text="First handoff, in the schedule's time zone.")
    handoff_time = models.TimeField(default=dt.time(9, 0))

    class Meta:
        ordering = ["schedule", "-level"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "level"], name="layer_level_unique"),
            models.CheckConstraint(condition=models.Q(shift_count__gte=1), name="layer_shift_ge1"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name}"

    def snapshot(self) -> LayerData:
        """Return the layer as plain data for the pure resolver."""
        return LayerData(
            level=self.level,
            rotation=tuple(m.user_id for m in self.members.all()),
            shift_count=self.shift_count,
            shift_unit=self.shift_unit,
            handoff=dt.datetime.combine(self.handoff_date, self.handoff_time),
        )


class LayerMember(models.Model):
    """A participant's place in a rotation; one person may hold several places."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["layer", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.user}"
