"""People who are paged, administer the service, or both, and their API tokens."""

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from oncall.timezones import validate_time_zone


class User(AbstractUser):
    """A person: responders are paged, staff also configure the service."""

    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    def __str__(self) -> str:
        return self.get_full_name() or self.username


def token_digest(raw: str) -> str:
    """Return the stored form of a raw API token (tokens are random, so one SHA-256 suffices)."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token, sent as `Authorization: Bearer <token>`; only its digest is stored."""

    PREFIX = "oc_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'CI deploys'.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(
        max_length=12, editable=False, help_text="The token's first characters."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "name"]
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"{self.user}: {self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, *, user: User, name: str) -> tuple["ApiToken", str]:
        """Create a token for `user`; return it and the raw value, which is never stored."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, digest=token_digest(raw), hint=raw[:10])
        return token, raw


def tokens_revoke(tokens: models.QuerySet) -> int:
    """Make `tokens` stop working at once (they stay listed, with when); return how many."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


class Role(models.TextChoices):
    """What a member may do in a team; each role includes the ones below it."""

    MANAGER = "manager", "Manager: changes the team's configuration"
    RESPONDER = "responder", "Responder: is paged and acts on the team's incidents"
    OBSERVER = "observer", "Observer: reads only"


# The roles that include each role (a manager also responds; everyone observes).
AT_LEAST = {
    Role.MANAGER: (Role.MANAGER,),
    Role.RESPONDER: (Role.MANAGER, Role.RESPONDER),
    Role.OBSERVER: (Role.MANAGER, Role.RESPONDER, Role.OBSERVER),
}

# The team that objects made without one join, and that the upgrade puts everything in.
DEFAULT_TEAM_SLUG = "default"


class Team(models.Model):
    """The unit of ownership: its services, schedules and policies, and the people in it."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=100, unique=True, help_text="Its short name in URLs and configuration files."
    )
    members = models.ManyToManyField(User, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """One person in one team, with their role there."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.RESPONDER)

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_once_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


def default_team_id() -> int:
    """Return the Default team's id, making the team if it is gone (the model field default)."""
    team, _ = Team.objects.get_or_create(slug=DEFAULT_TEAM_SLUG, defaults={"name": "Default"})
    return team.pk


class SignInIdentity(models.Model):
    """A person's account at a single sign-on provider: how a returning person is found again."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_in_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, help_text="The provider's `sub` for the person.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sign_in_identity_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"


class ResetCount(models.Model):
    """Password-reset e-mails asked for in one window, for one address or one client.

    The address is kept as a hash: rows exist for addresses that have no account too.
    """

    key = models.CharField(max_length=120, unique=True)
    started_at = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} since {self.started_at:%Y-%m-%d %H:%M}"
