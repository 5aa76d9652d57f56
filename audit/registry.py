"""Which models the audit log records, which fields it leaves out, and which it masks.

Configuration only: incidents, alerts and notifications are on each incident's timeline.
Models are named by label so this app imports none of the apps it watches. Fields the
system itself keeps up to date (a calendar's last fetch, a ping's time) are left out, or
every refresh would be an entry; secrets are masked, and hashes and tokens left out.
"""

from auditlog.registry import auditlog
from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model

from accounts import access
from accounts.models import Team

# What a masked value reads: whether a secret was set or cleared shows, never what it is.
MASK = "********"
EMPTY = "(empty)"

MODELS: dict[str, dict] = {
    "accounts.Team": {},
    "accounts.Membership": {},
    "accounts.User": {"exclude_fields": ["password", "last_login"]},
    "accounts.ApiToken": {"exclude_fields": ["digest", "last_used_at"]},
    "accounts.SignInIdentity": {},
    "paging.Service": {},
    "paging.Integration": {
        "exclude_fields": ["last_ping_at"],
        "mask_fields": ["key", "signing_secret"],
    },
    "paging.MaintenanceWindow": {},
    "paging.ContactMethod": {
        "exclude_fields": [
            "verify_digest",
            "verify_sent_at",
            "verify_attempts",
            "verify_attempts_since",
        ],
    },
    "paging.NotificationRule": {},
    # A browser's push endpoint is a capability URL, its keys encrypt the pages: all secret.
    "paging.PushSubscription": {"mask_fields": ["endpoint", "p256dh", "auth"]},
    "schedules.Schedule": {},
    "schedules.Layer": {
        "exclude_fields": [
            "calendar_body",
            "calendar_etag",
            "calendar_last_modified",
            "calendar_checked_at",
            "calendar_refreshed_at",
            "calendar_error",
            "calendar_unmapped",
        ],
        # A private calendar's URL carries its own token.
        "mask_fields": ["calendar_url"],
    },
    "schedules.LayerMember": {},
    "schedules.LayerRestriction": {},
    "schedules.Override": {},
    "schedules.CalendarFeed": {"exclude_fields": ["token"]},
    "escalation.EscalationPolicy": {},
    "escalation.Tier": {"m2m_fields": {"users", "schedules"}},
    # Rows made one by one (admin's level rows); `tier.users.set()` is the Tier's m2m entry.
    "escalation.TierUser": {},
    "escalation.TierSchedule": {},
    # A level's team target; who it picked last is the round-robin pointer paging moves.
    "escalation.TierTeam": {"exclude_fields": ["last_picked"]},
}

# Models without a `team_path` of their own whose rows still belong to a team.
TEAM_PATHS = {
    "accounts.Membership": "team",
    "escalation.TierUser": "tier__policy__team",
    "escalation.TierSchedule": "tier__policy__team",
    "escalation.TierTeam": "tier__policy__team",  # the policy's team, not the target team
    "schedules.CalendarFeed": "schedule__team",
}


def mask(value: str) -> str:
    """Return what the log shows for a secret's value."""
    return EMPTY if value in ("", "None") else MASK


def register_all() -> None:
    """Register every configuration model with auditlog (once, from AppConfig.ready)."""
    for label, options in MODELS.items():
        model = apps.get_model(label)
        if not auditlog.contains(model):
            auditlog.register(model, mask_callable="audit.registry.mask", **options)


def team_of(instance: Model) -> int | None:
    """Return the id of the team an entry about `instance` belongs to (None: a person's rows)."""
    if isinstance(instance, Team):
        return instance.pk
    try:
        path = TEAM_PATHS.get(instance._meta.label)
        if path:
            return access.team_id_along(instance, path)
        return access.team_id_of(instance)
    except ObjectDoesNotExist:  # its parent went first in a cascade
        return None
