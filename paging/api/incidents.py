"""REST API for incidents: list, read, and acknowledge / resolve / escalate.

Views parse and render; the state changes are the same actions admin and SMS replies use.
"""

import datetime as dt

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from oncall.apibase import (
    LimitedSerializer,
    RoleViewSet,
    StrictModelSerializer,
    StrictSerializer,
    limited_response,
    refuse_body,
)
from oncall.limits import Limited
from oncall.timezones import INSTANT_HELP, parse_instant
from paging.actions import (
    REFUSALS,
    incident_acknowledge,
    incident_escalate_now,
    incident_resolve,
)
from paging.models import (
    Alert,
    Incident,
    IncidentStatus,
    TimelineEntry,
)

# An alert storm can hold thousands of alerts; the detail view shows the newest ones.
DETAIL_ALERTS = 100


class ServiceRefSerializer(StrictSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class IncidentSerializer(StrictModelSerializer):
    number = serializers.SerializerMethodField()
    service = ServiceRefSerializer(read_only=True)
    # null until someone acknowledges / resolves (or when the system did it).
    acknowledged_by = serializers.StringRelatedField(allow_null=True)
    resolved_by = serializers.StringRelatedField(allow_null=True)
    escalation_level = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "summary",
            "severity",
            "urgency",
            "status",
            "service",
            "dedup_key",
            "alert_count",
            "created_at",
            "last_alert_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledged_via",
            "resolved_at",
            "resolved_by",
            "resolved_via",
            "escalation_level",
            "escalation_loop",
            "escalation_due_at",
            "links",
            "details",
        ]

    def get_number(self, incident: Incident) -> str:
        return f"#{incident.pk}"

    def get_escalation_level(self, incident: Incident) -> int | None:
        """Return the level last paged (1 is Level 1), or None before any."""
        tier = incident.escalation_tier
        return None if tier is None else tier + 1


class AlertSerializer(StrictModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "received_at",
            "updated_at",
            "action",
            "status",
            "dedup_key",
            "fingerprint",
            "summary",
            "severity",
            "starts_at",
            "ends_at",
            "payload",
        ]


class TimelineEntrySerializer(StrictModelSerializer):
    actor = serializers.StringRelatedField(allow_null=True)  # null: the system did it

    class Meta:
        model = TimelineEntry
        fields = ["at", "kind", "message", "actor"]


class IncidentDetailSerializer(IncidentSerializer):
    alerts = serializers.SerializerMethodField()
    timeline = TimelineEntrySerializer(many=True, read_only=True)

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "alerts", "timeline"]

    @extend_schema_field(AlertSerializer(many=True))
    def get_alerts(self, incident: Incident) -> list[dict]:
        """Return the newest alerts (the count is in alert_count)."""
        return AlertSerializer(incident.alerts.all()[:DETAIL_ALERTS], many=True).data


def _statuses(raw: str) -> list[str]:
    wanted = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(IncidentStatus.values))
    if unknown:
        choices = ", ".join(IncidentStatus.values)
        raise ValidationError({"status": f"unknown status {', '.join(unknown)}; use {choices}"})
    return wanted


def _since(raw: str) -> dt.datetime:
    when = parse_instant(raw)
    if when is None:
        raise ValidationError({"since": INSTANT_HELP})
    return when


def _service_filter(raw: str) -> dict[str, object]:
    return {"service_id": int(raw)} if raw.isdigit() else {"service__name": raw}


INCIDENT_FILTERS = [
    OpenApiParameter(
        "status",
        OpenApiTypes.STR,
        description="triggered, acknowledged, resolved; comma-separated for several",
    ),
    OpenApiParameter("service", OpenApiTypes.STR, description="service id or name"),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="created at or after"),
    OpenApiParameter("team", OpenApiTypes.STR, description="the slug of its service's team"),
    OpenApiParameter("mine", OpenApiTypes.BOOL, description="true: only those that paged you"),
]


def _mine(raw: str) -> bool:
    if raw.lower() not in ("true", "false"):
        raise ValidationError({"mine": "must be true or false"})
    return raw.lower() == "true"


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RoleViewSet):
    """Incidents, newest first; read-only apart from acknowledge, resolve and escalate.

    Who reads them and who acts on them is accounts/access.py's: `readable` / `may_read`, and
    `may_act` for the actions (403 saying so to someone who may read but not act).
    """

    queryset = Incident.objects.all()  # filtered in get_queryset

    def get_queryset(self) -> QuerySet[Incident]:
        incidents = access.readable(
            self.request.user,
            Incident.objects.select_related("service", "acknowledged_by", "resolved_by"),
        )
        if self.action == "retrieve":
            incidents = incidents.prefetch_related("timeline__actor")
        params = self.request.query_params
        if params.get("status"):
            incidents = incidents.filter(status__in=_statuses(params["status"]))
        if params.get("service"):
            incidents = incidents.filter(**_service_filter(params["service"]))
        if params.get("since"):
            incidents = incidents.filter(created_at__gte=_since(params["since"]))
        if params.get("team"):
            incidents = incidents.filter(service__team__slug=params["team"])
        if params.get("mine") and _mine(params["mine"]):
            paged = Incident.objects.filter(**{Incident.paged_lookup: self.request.user.pk})
            incidents = incidents.filter(pk__in=paged.values("pk"))
        return incidents.order_by("-created_at", "-id")

    def may_object(self, user, incident: Incident, verb: str) -> bool:
        """Read: may_read; the actions: may_act, refused in words to who may only read."""
        if verb == "view":
            return access.may_read(user, incident)
        if access.may_act(user, incident):
            return True
        raise PermissionDenied(
            "You may read this incident but not act on it: acknowledging, resolving and "
            "escalating are for its team's responders and managers and the people it paged."
        )

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return IncidentDetailSerializer if self.action == "retrieve" else IncidentSerializer

    @extend_schema(parameters=INCIDENT_FILTERS)
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    def _act(self, change, refusal: str) -> Response:
        incident = self.get_object()
        refuse_body(self.request)
        token = getattr(self.request.auth, "name", "")  # request.auth is the ApiToken, if any
        via = f"API token {token}" if token else "API"
        try:
            changed = change(incident=incident, by=self.request.user, via=via)
        except Limited as error:
            return limited_response(error)
        if not changed:
            return Response(
                {"error": refusal.format(status=incident.status)}, status=status.HTTP_409_CONFLICT
            )
        incident.refresh_from_db()
        return Response(IncidentSerializer(incident).data)

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        """Acknowledge a triggered incident: escalation stops."""
        return self._act(incident_acknowledge, REFUSALS["acknowledge"])

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        """Resolve an open incident."""
        return self._act(incident_resolve, REFUSALS["resolve"])

    @extend_schema(request=None, responses={200: IncidentSerializer, 429: LimitedSerializer})
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str) -> Response:
        """Page the next level now (re-triggering an acknowledged incident)."""
        return self._act(incident_escalate_now, REFUSALS["escalate"])
