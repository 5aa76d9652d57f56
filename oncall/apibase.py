"""Pieces every API module shares: permissions, list filters, and model validation."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import ProtectedError
from rest_framework import filters, permissions, serializers, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request


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
