"""One row per configuration change: auditlog's entry, with its team and the way it came in."""

from auditlog.models import DEFAULT_OBJECT_REPR, AbstractLogEntry, LogEntryManager
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from accounts.models import Team


class Via(models.TextChoices):
    """The way a change came in."""

    ADMIN = "admin", "Admin"
    API = "api", "API"
    APPLY = "apply", "oncall apply"
    WEB = "web", "Web pages"
    SSO = "sso", "Single sign-on"
    SYSTEM = "system", "System (tasks, commands)"


class AuditEntryManager(LogEntryManager):
    """auditlog's manager, filling in who, through what and which team from the context."""

    def log_create(self, instance, force_log: bool = False, **kwargs):
        """Record a change of `instance` (auditlog's, naming the object without failing)."""
        from auditlog.cid import get_cid

        if kwargs.get("changes") is None and not force_log:
            return None
        kwargs = _with_source(instance, kwargs)
        pk = self._get_pk_value(instance)
        kwargs.setdefault("content_type", ContentType.objects.get_for_model(instance))
        kwargs.setdefault("object_pk", pk)
        kwargs.setdefault("serialized_data", self._get_serialized_data_or_none(instance))
        if isinstance(pk, int):
            kwargs.setdefault("object_id", pk)
        kwargs.setdefault("cid", get_cid())
        return self.create(**kwargs)

    def log_m2m_changes(self, changed_queryset, instance, operation, field_name, **kwargs):
        kwargs = _with_source(instance, kwargs)
        return super().log_m2m_changes(changed_queryset, instance, operation, field_name, **kwargs)


def _with_source(instance: models.Model, kwargs: dict) -> dict:
    from audit.context import source_fields
    from audit.registry import team_of

    found = {**source_fields(), "team_id": team_of(instance), **kwargs}
    found.setdefault("object_repr", _repr(instance))
    return found


def _repr(instance: models.Model) -> str:
    """Return how the entry names the object; a failing __str__ must not fail the change."""
    try:
        return str(instance)
    except ObjectDoesNotExist:  # auditlog's own answer when a related row is gone
        return DEFAULT_OBJECT_REPR
    except Exception:  # any error in a model's __str__ (e.g. a value not yet cleaned)
        return f"{instance._meta.verbose_name} {instance.pk}"


class AuditEntry(AbstractLogEntry):
    """A change to one configuration object (auditlog's LogEntry, swapped in by settings)."""

    # Not a real foreign key: an entry keeps naming its team after the team is deleted.
    team = models.ForeignKey(
        Team,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    via = models.CharField(max_length=16, choices=Via.choices, default=Via.SYSTEM, db_index=True)
    # The API token used (its name and first characters, never the token) and its id.
    token_id = models.BigIntegerField(null=True, blank=True)
    token_label = models.CharField(max_length=140, blank=True)
    # Who ran `oncall apply` on the server, when no person was named.
    os_user = models.CharField(max_length=64, blank=True)

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["team", "-timestamp"], name="audit_team_time")]
