"""Escalation policies: ordered tiers (Level 1, 2, 3 …) of people, schedules and teams to page."""

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
    # Teams are reached through `team_links` (TierTeam): each link has its own mode and pointer.

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


class TeamMode(models.TextChoices):
    """How a level pages a team."""

    ALL = "all", "All its responders"
    ROUND_ROBIN = "round_robin", "Round-robin: the next responder each time the level fires"


class TierTeam(models.Model):
    """A level's team target; for round-robin, also who was picked last (the rotation pointer).

    The team's responders are its active responders and managers, ordered by username then id.
    The pointer moves only under a row lock, in the transaction that pages (paging/rotation.py).
    """

    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="team_links")
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="escalation_levels"
    )
    mode = models.CharField(max_length=16, choices=TeamMode.choices, default=TeamMode.ALL)
    last_picked = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["tier", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "team"], name="tier_team_once_per_level")
        ]
        verbose_name = "escalation level"

    def __str__(self) -> str:
        return str(self.tier)

    @property
    def why(self) -> str:
        """Say, for the timeline, how this link chose the people it pages."""
        return (
            f"round-robin in {self.team}"
            if self.mode == TeamMode.ROUND_ROBIN
            else f"in {self.team}"
        )


# Who each (level position, team) link of a policy picked last: what a replacement carries over.
Pointers = dict[tuple[int, int], int]


def level_pointers(policy: EscalationPolicy) -> Pointers:
    """Return the policy's round-robin pointers, to keep turns when its levels are replaced."""
    links = TierTeam.objects.filter(tier__policy=policy, last_picked__isnull=False)
    return {
        (link.tier.position, link.team_id): link.last_picked_id
        for link in links.select_related("tier")
    }


def tier_set_teams(
    tier: Tier, teams: list[tuple[int, str]], pointers: Pointers | None = None
) -> None:
    """Make the level's team targets `teams` ((team id, mode) pairs).

    A kept link keeps its pointer; a new one takes the pointer `pointers` has for its place.
    """
    wanted = dict(teams)
    TierTeam.objects.filter(tier=tier).exclude(team_id__in=wanted).delete()
    for link in TierTeam.objects.filter(tier=tier):
        if link.mode != wanted[link.team_id]:
            link.mode = wanted[link.team_id]
            link.save(update_fields=["mode"])
        del wanted[link.team_id]
    pointers = pointers or {}
    TierTeam.objects.bulk_create(
        TierTeam(
            tier=tier,
            team_id=team_id,
            mode=mode,
            last_picked_id=pointers.get((tier.position, team_id)),
        )
        for team_id, mode in wanted.items()
    )
