"""REST API for services, their maintenance windows and their integrations (webhook URLs)."""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from oncall.apibase import (
    ConfigViewSet,
    ReadableRelatedField,
    StrictModelSerializer,
    TeamField,
    cleaned,
    parent_configurable,
    refuse_body,
    team_chosen,
)
from paging.engine import maintenance_changed
from paging.models import Integration, IntegrationKind, MaintenanceWindow, Service


# A child row (window, integration) names its service among those the requester may read, and
# must be a manager of its team: a service they may not read answers 400 as one that does not
# exist; one they read but do not manage, 400 saying so. Always 400 naming `service`, never 404.
class ServiceChildSerializer(StrictModelSerializer):
    service = ReadableRelatedField(queryset=Service.objects.all())

    def validate_service(self, service: Service) -> Service:
        return parent_configurable(self, service)


class MaintenanceWindowSerializer(ServiceChildSerializer):
    created_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = MaintenanceWindow
        fields = ["id", "service", "starts_at", "ends_at", "reason", "created_by"]

    def validate(self, attrs: dict) -> dict:
        return cleaned(self, attrs)


class WindowInServiceSerializer(MaintenanceWindowSerializer):
    class Meta(MaintenanceWindowSerializer.Meta):
        fields = ["id", "starts_at", "ends_at", "reason"]


class ServiceSerializer(StrictModelSerializer):
    team = TeamField(required=False)
    maintenance_windows = WindowInServiceSerializer(many=True, read_only=True)

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "team",
            "description",
            "escalation_policy",
            "urgency",
            "storm_cap",
            "storm_window",
            "ack_timeout",
            "auto_resolve_after",
            "maintenance_windows",
        ]

    def validate(self, attrs: dict) -> dict:
        for field in ("storm_window", "ack_timeout", "auto_resolve_after"):
            if attrs.get(field) is not None and attrs[field].total_seconds() <= 0:
                raise ValidationError({field: "must be longer than zero"})
        return team_chosen(self, attrs)


class ServiceViewSet(ConfigViewSet):
    """Services: where alerts arrive and which escalation policy pages for them."""

    queryset = (
        Service.objects.select_related("team")
        .prefetch_related("maintenance_windows")
        .order_by("name")
    )
    serializer_class = ServiceSerializer
    filter_fields = {
        "name": "name",
        "team": "team__slug",
        "escalation_policy": "escalation_policy_id",
    }


class MaintenanceWindowViewSet(ConfigViewSet):
    """Spans in which a service's incidents are recorded but nobody is paged."""

    queryset = MaintenanceWindow.objects.order_by("starts_at", "id")
    serializer_class = MaintenanceWindowSerializer
    filter_fields = {"service": "service_id"}

    @transaction.atomic
    def perform_create(self, serializer: MaintenanceWindowSerializer) -> None:
        window = serializer.save(created_by=self.request.user)
        maintenance_changed(service_id=window.service_id)

    @transaction.atomic
    def perform_update(self, serializer: MaintenanceWindowSerializer) -> None:
        was = serializer.instance.service_id
        window = serializer.save()
        for service_id in {was, window.service_id}:
            maintenance_changed(service_id=service_id)

    @transaction.atomic
    def perform_destroy(self, instance: MaintenanceWindow) -> None:
        super().perform_destroy(instance)
        maintenance_changed(service_id=instance.service_id)


class IntegrationSerializer(ServiceChildSerializer):
    url = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The full URL to paste into the tool (null unless you manage its team).",
    )
    routing_key = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id",
            "name",
            "kind",
            "service",
            "enabled",
            "disabled_reason",
            "url",
            "routing_key",
            "grouping",
            "signing_secret",
            "signing_header",
            "signing_timestamp_header",
            "signing_timestamp_required",
            "heartbeat_interval",
            "heartbeat_grace",
            "last_ping_at",
            "created_at",
        ]
        read_only_fields = ["last_ping_at", "created_at"]
        extra_kwargs = {"signing_secret": {"write_only": True}}

    def get_routing_key(self, integration: Integration) -> str | None:
        """Return the key PagerDuty Events v2 clients send in the body, for that kind only."""
        return integration.key if integration.kind == IntegrationKind.PAGERDUTY_V2 else None

    def to_representation(self, integration: Integration) -> dict:
        """Show the URL and key (secrets: they accept alerts) only to who may change them."""
        data = super().to_representation(integration)
        if not access.may_configure(self.context["request"].user, integration):
            data["url"] = data["routing_key"] = None
        return data

    def validate(self, attrs: dict) -> dict:
        return cleaned(self, attrs)


class IntegrationViewSet(ConfigViewSet):
    """Integrations with their full webhook URLs (they hold secret keys: see who may read)."""

    queryset = Integration.objects.select_related("service").order_by("service__name", "name")
    serializer_class = IntegrationSerializer
    filter_fields = {"service": "service_id", "kind": "kind"}

    def visible(self, user, rows):
        """Only the owning team's managers and site admins: a URL's key accepts alerts."""
        return access.configurable(user, rows)

    def may_see(self, user, integration: Integration) -> bool:
        return access.may_configure(user, integration)

    @extend_schema(request=None, responses=IntegrationSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request: Request, pk: str) -> Response:
        """Replace the key: the old URL stops working at once."""
        integration = self.get_object()
        refuse_body(request)
        integration.rotate_key()
        return Response(self.get_serializer(integration).data)
