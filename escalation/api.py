"""REST API for escalation policies and their tiers (Level 1, 2, 3 …) of people and schedules."""

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from accounts.models import Team, User
from escalation.models import EscalationPolicy, TeamMode, Tier, level_pointers, tier_set_teams
from oncall.apibase import (
    ConfigViewSet,
    ReplacesNested,
    StrictModelSerializer,
    StrictSerializer,
    TeamField,
    team_chosen,
)
from schedules.models import Schedule


class TierTeamSerializer(StrictSerializer):
    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="The team's slug."
    )
    mode = serializers.ChoiceField(
        choices=TeamMode.choices,
        default=TeamMode.ALL,
        help_text="all: every responder and manager; round_robin: the next one each time.",
    )


class TierSerializer(StrictModelSerializer):
    users = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.all(), required=False
    )
    schedules = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Schedule.objects.all(), required=False
    )
    teams = TierTeamSerializer(many=True, required=False, source="team_links")

    class Meta:
        model = Tier
        fields = ["ack_timeout", "users", "schedules", "teams"]

    def validate_teams(self, teams: list[dict]) -> list[dict]:
        slugs = [t["team"].slug for t in teams]
        if twice := sorted({slug for slug in slugs if slugs.count(slug) > 1}):
            raise ValidationError(f"A team is paged one way per level: {', '.join(twice)} twice.")
        return teams


class EscalationPolicySerializer(ReplacesNested, StrictModelSerializer):
    nested = "tiers"

    team = TeamField(required=False)
    tiers = TierSerializer(
        many=True, required=False, help_text="In order: Level 1 first. Replaced as a whole."
    )

    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "team", "description", "repeat", "tiers"]

    def validate(self, attrs: dict) -> dict:
        return team_chosen(self, attrs)

    def validate_tiers(self, tiers: list[dict]) -> list[dict]:
        """Refuse levels that page nobody, naming each as people read it: Level 1, 2 …."""
        empty = {
            str(n): {"users": [f"Level {n + 1} needs at least one person, schedule or team."]}
            for n, tier in enumerate(tiers)
            if not tier.get("users") and not tier.get("schedules") and not tier.get("team_links")
        }
        if empty:
            raise ValidationError(empty)
        return tiers

    def replace_nested(self, policy: EscalationPolicy, tiers: list[dict]) -> None:
        policy_set_tiers(policy=policy, tiers=tiers)


def policy_set_tiers(*, policy: EscalationPolicy, tiers: list[dict]) -> None:
    """Replace the policy's tiers with `tiers`, in order (round-robin turns carry over)."""
    pointers = level_pointers(policy)
    policy.tiers.all().delete()
    for position, data in enumerate(tiers):
        tier = Tier.objects.create(
            policy=policy, position=position, ack_timeout=data["ack_timeout"]
        )
        tier.users.set(data.get("users", []))
        tier.schedules.set(data.get("schedules", []))
        teams = [(t["team"].pk, t["mode"]) for t in data.get("team_links", [])]
        tier_set_teams(tier, teams, pointers)


class EscalationPolicyViewSet(ConfigViewSet):
    """Who to page, in which order, how long each level has, and how often to go round."""

    queryset = EscalationPolicy.objects.select_related("team").prefetch_related(
        "tiers__users", "tiers__schedules", "tiers__team_links__team"
    )
    serializer_class = EscalationPolicySerializer
    filter_fields = {"name": "name", "team": "team__slug"}
