"""`/api/v1/audit-log/`: the configuration audit log, by team, object, person and time."""

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters, permissions, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts import access
from accounts.models import Role, Team, User
from audit.models import AuditEntry
from oncall.apibase import is_id

ACTIONS = dict(AuditEntry.Action.choices)
NULLABLE_TEXT = {"type": "string", "nullable": True}


def visible(user: User, entries: QuerySet) -> QuerySet:
    """Return the entries `user` may read: all for site admins, their teams' for managers."""
    if access.is_site_admin(user):
        return entries
    return entries.filter(team_id__in=access.teams_where(user, Role.MANAGER))


def may_read_log(user: User) -> bool:
    """Return whether `user` reads the audit log at all: site administrators and team managers."""
    return access.is_site_admin(user) or access.manages_any(user)


def may_read_entry(user: User, entry: AuditEntry) -> bool:
    """Return whether `user` may read `entry` (the same rule as `visible`, with no query)."""
    return access.is_site_admin(user) or entry.team_id in access.teams_where(user, Role.MANAGER)


class MayReadAuditLog(permissions.BasePermission):
    """Site administrators and the managers of some team; everyone else is refused."""

    message = "Only site administrators and team managers read the audit log."

    def has_permission(self, request: Request, view) -> bool:
        return may_read_log(request.user)


class AuditEntrySerializer(serializers.ModelSerializer):
    action = serializers.SerializerMethodField()
    object_type = serializers.SerializerMethodField(
        help_text='The kind of object, as `app.model` ("paging.service").'
    )
    object_id = serializers.CharField(source="object_pk", read_only=True)
    team = serializers.SerializerMethodField(help_text="The slug of the object's team.")
    person = serializers.SerializerMethodField(help_text="Who made the change (username).")
    person_id = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    token = serializers.CharField(
        source="token_label", read_only=True, help_text="The API token used: name and hint."
    )
    changes = serializers.SerializerMethodField(
        help_text="Each changed field: [before, after]; m2m links: what was added or removed."
    )
    request_id = serializers.CharField(
        source="cid",
        read_only=True,
        allow_null=True,
        help_text="The X-Request-ID of the request that made the change, as in the server's log.",
    )

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "timestamp",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "team",
            "team_id",
            "person",
            "person_id",
            "via",
            "token",
            "token_id",
            "os_user",
            "remote_addr",
            "request_id",
            "changes",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": list(ACTIONS.values())})
    def get_action(self, entry: AuditEntry) -> str:
        return str(ACTIONS.get(entry.action, entry.action))

    def get_object_type(self, entry: AuditEntry) -> str:
        return f"{entry.content_type.app_label}.{entry.content_type.model}"

    @extend_schema_field(NULLABLE_TEXT)
    def get_team(self, entry: AuditEntry) -> str | None:
        team = _team(entry)
        return team.slug if team else None

    @extend_schema_field(NULLABLE_TEXT)
    def get_person(self, entry: AuditEntry) -> str | None:
        return entry.actor.username if entry.actor_id else None

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_changes(self, entry: AuditEntry) -> dict:
        return entry.changes or {}


def _team(entry: AuditEntry) -> Team | None:
    """Return the entry's team, or None when the team has been deleted since."""
    try:
        return entry.team
    except Team.DoesNotExist:
        return None


class AuditFilters(filters.BaseFilterBackend):
    """Filter by `team` (slug), `object` (`paging.service:12`), `person`, `since`, `until`."""

    PARAMS = {
        "team": "only the entries of the team with this slug",
        "object": "only the entries of one object, written `app.model:id` (paging.service:12)",
        "person": "only the changes this person made (their id or username)",
        "since": "only entries at or after this time (ISO 8601; without a zone, UTC)",
        "until": "only entries before this time (ISO 8601; without a zone, UTC)",
    }

    def filter_queryset(self, request: Request, queryset: QuerySet, view) -> QuerySet:
        params = request.query_params
        for name in self.PARAMS:
            raw = params.get(name, "").strip()
            if raw:
                queryset = queryset.filter(getattr(self, f"_{name}")(raw))
        return queryset

    def _team(self, raw: str) -> Q:
        team = Team.objects.filter(slug=raw).first()
        if team is None:
            raise ValidationError({"team": "no team has this slug"})
        return Q(team_id=team.pk)

    def _object(self, raw: str) -> Q:
        label, _, pk = raw.partition(":")
        app_label, _, model = label.lower().partition(".")
        if not (app_label and model and is_id(pk)):
            raise ValidationError({"object": "write it as app.model:id, e.g. paging.service:12"})
        kind = ContentType.objects.filter(app_label=app_label, model=model).first()
        if kind is None:
            raise ValidationError({"object": f"no kind of object is named {label}"})
        return Q(content_type=kind, object_pk=pk)

    def _person(self, raw: str) -> Q:
        if is_id(raw):
            return Q(actor_id=int(raw))
        person = User.objects.filter(username=raw).first()
        if person is None:
            raise ValidationError({"person": "no person has this id or username"})
        return Q(actor_id=person.pk)

    def _since(self, raw: str) -> Q:
        return Q(timestamp__gte=_instant("since", raw))

    def _until(self, raw: str) -> Q:
        return Q(timestamp__lt=_instant("until", raw))

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": "string"},
            }
            for name, description in self.PARAMS.items()
        ]


def _instant(param: str, raw: str) -> dt.datetime:
    """Return the time `raw` writes (a date is its midnight UTC), or raise 400 naming `param`."""
    try:
        found = parse_datetime(raw)
        if found is None and (day := parse_date(raw)) is not None:
            found = dt.datetime.combine(day, dt.time(0))
        if found is not None:
            aware = found if timezone.is_aware(found) else found.replace(tzinfo=dt.UTC)
            return aware.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # impossible (2026-02-30) or past year 9999 in UTC
        pass
    raise ValidationError({param: "must be an ISO 8601 time, e.g. 2026-12-05T09:00:00Z"})


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The configuration audit log, newest first: your managed teams' entries (admins: all)."""

    queryset = AuditEntry.objects.all()  # narrowed per user in get_queryset
    serializer_class = AuditEntrySerializer
    permission_classes = [MayReadAuditLog]
    filter_backends = [AuditFilters]

    def get_queryset(self) -> QuerySet[AuditEntry]:
        entries = AuditEntry.objects.select_related("content_type", "actor", "team")
        return visible(self.request.user, entries).order_by("-timestamp", "-id")
