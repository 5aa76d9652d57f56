"""Pieces every API module shares: strict serializers, permissions, filters, model validation."""

import difflib
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import ProtectedError
from django.utils import timezone
from rest_framework import filters, permissions, serializers, status, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from oncall.limits import Limited

# Django's form field for the CSRF token: the browsable API's HTML forms post it with the fields.
CSRF_FIELD = "csrfmiddlewaretoken"


def closest(name: str, known: Iterable[str]) -> str | None:
    """Return the known name `name` is most likely a misspelling of, if one is close."""
    found = difflib.get_close_matches(str(name), list(known), n=1)
    return found[0] if found else None


def unknown_fields(data: Mapping, known: Iterable[str]) -> dict[str, list[str]]:
    """Return an error for each key of `data` that is not in `known`, suggesting a close one."""
    names = list(known)
    errors = {}
    for key in data:
        if key in names or key == CSRF_FIELD:
            continue
        match = closest(key, names)
        errors[key] = [f'Unknown field. Did you mean "{match}"?' if match else "Unknown field."]
    return errors


# Refuse a body with keys that name no field, at every level of nesting (400 naming them).
# Read-only fields are fields too: a client can PUT back what it got. A misspelt key would
# otherwise be dropped silently, leaving a half-configured object. Every API serializer derives
# from StrictSerializer or StrictModelSerializer. (Comments, not docstrings: the OpenAPI schema
# would describe each serializer without a docstring of its own with the first one it inherits.)
class StrictFields:
    def to_internal_value(self, data: object) -> dict:
        unknown = unknown_fields(data, self.fields) if isinstance(data, Mapping) else {}
        try:
            value = super().to_internal_value(data)
        except ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise ValidationError({**unknown, **error.detail}) from None
            raise
        if unknown:
            raise ValidationError(unknown)
        return value


class StrictSerializer(StrictFields, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFields, serializers.ModelSerializer):
    pass


def refuse_body(request: Request) -> None:
    """Refuse any field sent to an action that takes none (`acknowledge`, `revoke` …)."""
    unknown = unknown_fields(request.data, ()) if isinstance(request.data, Mapping) else {}
    if unknown:
        raise ValidationError(unknown)


class StaffWritesOthersRead(permissions.BasePermission):
    """Everyone signed in reads; only staff create, change or delete."""

    message = "Only staff can change the configuration."

    def has_permission(self, request: Request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user.is_staff)


class OwnOrStaff(permissions.BasePermission):
    """Everyone reads; staff change all, a responder only rows whose `user` is themselves."""

    message = "Responders can only manage their own."

    def has_permission(self, request: Request, view) -> bool:
        if request.method in permissions.SAFE_METHODS or request.user.is_staff:
            return True
        if request.method != "POST":
            return True  # decided per object
        data = request.data if isinstance(request.data, dict) else {}
        return str(data.get("user", request.user.pk)) == str(request.user.pk)

    def has_object_permission(self, request: Request, view, obj: models.Model) -> bool:
        safe = request.method in permissions.SAFE_METHODS
        return safe or request.user.is_staff or obj.user_id == request.user.pk


def keep_owner(serializer: serializers.Serializer, attrs: dict) -> dict:
    """Refuse a responder's change that would hand their row to someone else."""
    request = serializer.context["request"]
    user = attrs.get("user")
    if user is not None and user != request.user and not request.user.is_staff:
        raise ValidationError({"user": "responders can only manage their own"})
    return attrs


def model_clean(instance: models.Model) -> None:
    """Run the model's own clean() (the rules admin applies) and answer 400 naming the field."""
    try:
        instance.clean()
    except DjangoValidationError as error:
        raise ValidationError(
            error.message_dict
            if hasattr(error, "error_dict")
            else {"non_field_errors": error.messages}
        ) from None


def cleaned(serializer: serializers.ModelSerializer, attrs: dict) -> dict:
    """Validate `attrs` merged over the instance being changed with the model's clean()."""
    model = serializer.Meta.model
    plain = {k: v for k, v in attrs.items() if not isinstance(v, list | dict)}
    instance = serializer.instance or model()
    current = {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields}
    probe = model(**current)
    for name, value in plain.items():
        setattr(probe, name, value)
    model_clean(probe)
    return attrs


class FieldFilters(filters.BaseFilterBackend):
    """Filter a list by the query parameters the view names in `filter_fields`.

    `filter_fields = {"user": "user_id"}` turns `?user=7` into `.filter(user_id=7)`; a lookup
    ending in `_id` takes integers only and anything else is 400 naming the parameter.
    """

    def filter_queryset(self, request: Request, queryset, view):
        for param, lookup in getattr(view, "filter_fields", {}).items():
            raw = request.query_params.get(param)
            if raw is None or raw == "":
                continue
            if lookup.endswith("_id") and not raw.isdigit():
                raise ValidationError({param: "must be an id (a whole number)"})
            queryset = queryset.filter(**{lookup: raw})
        return queryset

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": param,
                "required": False,
                "in": "query",
                "description": f"only those whose {lookup.replace('__', ' ')} is this",
                "schema": {"type": "integer" if lookup.endswith("_id") else "string"},
            }
            for param, lookup in getattr(view, "filter_fields", {}).items()
        ]


class InUse(APIException):
    status_code = 409
    default_detail = "It is still in use."
    default_code = "in_use"


class RefuseDeleteInUse:
    """Answer 409 naming what still uses an object, instead of a 500, when it is protected."""

    def perform_destroy(self, instance: models.Model) -> None:
        try:
            instance.delete()
        except ProtectedError as error:
            users = sorted({str(o._meta.verbose_name_plural) for o in error.protected_objects})
            raise InUse(f"{instance} is still used by {', '.join(users)}") from None


class ConfigViewSet(RefuseDeleteInUse, viewsets.ModelViewSet):
    """A configuration object: everyone reads, staff change; filtered by `filter_fields`."""

    permission_classes = [permissions.IsAuthenticated, StaffWritesOthersRead]
    filter_backends = [FieldFilters]
    filter_fields: dict[str, str] = {}


class LimitedSerializer(StrictSerializer):
    """What a 429 says: why, what is limited, and the seconds to wait (also in Retry-After)."""

    error = serializers.CharField()
    limited = serializers.CharField()
    retry_after = serializers.IntegerField()


def limited_response(error: Limited) -> Response:
    """Answer a refused-for-now action: 429, Retry-After, and a body naming what is limited."""
    wait = error.retry_after(timezone.now())
    body = {"error": str(error), "limited": error.what, "retry_after": wait}
    return Response(body, status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": wait})
