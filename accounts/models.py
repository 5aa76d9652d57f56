"""People who are paged, administer the service, or both, and their API tokens."""

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models

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
