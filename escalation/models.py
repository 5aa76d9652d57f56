"""Escalation policies: ordered tiers (Level 1, 2, 3 …) of people and schedules to page."""

import datetime as dt

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from accounts.models import default_team_id
from escalation.planner import PolicyShape
from oncall.timezones import at_most_a_year
from schedules.models import Schedule


class EscalationPolicy(models.Model):
    """Who to page, in which order, and how often to go round."""

    team_path = "team"

    name = models.CharField(max_length=200, unique=True)
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        default=default_team_id,
        related_name="escalation_policies",
        help_text="The team that owns it: its managers change it.",
    )
    description = models.TextField(blank=True)
    repeat = models.PositiveSmallIntegerField(
        default=0, help_text="How many more times to loop over all levels after the last one."
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name

    def shape(self, tiers: list["Tier"]) -> PolicyShape:
        """Return the policy as plain data for the pure planner."""
        return PolicyShape(timeouts=tuple(t.ack_timeout for t in tiers), repeat=self.repeat)


class Tier(models.Model):
    """One level of a policy: its targets, and how long they have to acknowledge."""

    team_path = "policy__team"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="tiers")
    position = models.PositiveSmallIntegerField(default=0)
    ack_timeout = models.DurationField(
        default=dt.timedelta(minutes=5),
        validators=[MinValueValidator(dt.timedelta(seconds=1)), at_most_a_year],
        help_text="Time to acknowledge before the next level is paged (e.g. 00:05:00).",
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", through="TierUser"
    )
    schedules = models.ManyToManyField(
        Schedule, blank=True, related_name="+", through="TierSchedule"
    )

    class Meta:
        ordering = ["policy", "position", "id"]
        verbose_name = "level"
        verbose_name_plural = "levels"

    def __str__(self) -> str:
        return f"{self.policy}: Level {self.position + 1}"


# The links from a level to its targets, made explicit only to PROTECT the targets: deleting a
# person or schedule that a level pages must be refused (admin lists the levels, the API says
# 409), not silently empty the level so that escalation skips it. Same tables as before.


class TierUser(models.Model):
    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escalation_levels"
    )

    class Meta:
        db_table = "escalation_tier_users"
        unique_together = [("tier", "user")]
        verbose_name = "escalation level"

    def __str__(self) -> str:
        return str(self.tier)


class TierSchedule(models.Model):
    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(
        Schedule, on_delete=models.PROTECT, related_name="escalation_levels"
    )

    class Meta:
        db_table = "escalation_tier_schedules"
        unique_together = [("tier", "schedule")]
        verbose_name = "escalation level"

    def __str__(self) -> str:
        return str(self.tier)
