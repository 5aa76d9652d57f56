"""Pieces every API module shares: strict serializers, permissions, filters, model validation."""

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters, mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from accounts.models import Team
from oncall.durations import DURATION_HINT, parse_duration
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


# A wall-clock time in the schedule's zone ("09:00:00"), without an offset. OpenAPI's "time"
# format is RFC 3339's full-time, which needs one, so the schema says what is really sent.
@extend_schema_field(
    {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$", "example": "09:00:00"}
)
class WallTimeField(serializers.TimeField):
    pass


# A duration as the README writes it (`5m`, `1h30m`, `2d`) or as before (`00:05:00`, seconds).
# Answers keep Django's `[days ]HH:MM:SS`, which clients already read and can send back.
@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$|^(\d+ )?\d{2}:\d{2}:\d{2}(\.\d{1,6})?$",
        "example": "1h30m",
        "description": "30s, 5m, 1h30m, 2d or 1w; also 00:05:00. Answers read 01:30:00.",
    }
)
class WrittenDurationField(serializers.DurationField):
    default_error_messages = {"invalid": DURATION_HINT}

    def to_internal_value(self, value: object):
        found = value if isinstance(value, dt.timedelta) else parse_duration(value)
        if found is None:
            self.fail("invalid")
        return found


class StrictModelSerializer(StrictFields, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.TimeField: WallTimeField,
        models.DurationField: WrittenDurationField,
    }


# A serializer with one nested list that is replaced as a whole when given (a schedule's layers,
# a policy's levels, a team's members): `nested` names it in validated_data, and
# `replace_nested(obj, rows)` stores it, in the transaction that saves the object.
class ReplacesNested:
    nested: str

    def replace_nested(self, obj: models.Model, rows: list[dict]) -> None:
        raise NotImplementedError

    @transaction.atomic
    def create(self, validated_data: dict) -> models.Model:
        rows = validated_data.pop(self.nested, [])
        obj = self.Meta.model.objects.create(**validated_data)
        self.replace_nested(obj, rows)
        return obj

    @transaction.atomic
    def update(self, obj: models.Model, validated_data: dict) -> models.Model:
        rows = validated_data.pop(self.nested, None)
        obj = super().update(obj, validated_data)
        if rows is not None:
            self.replace_nested(obj, rows)
        return obj


def refuse_body(request: Request) -> None:
    """Refuse any field sent to an action that takes none (`acknowledge`, `revoke` …)."""
    unknown = unknown_fields(request.data, ()) if isinstance(request.data, Mapping) else {}
    if unknown:
        raise ValidationError(unknown)


# The Django permission each HTTP method asks of a model; POST to a list is `add` (see verb_of).
METHOD_VERBS = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "DELETE": "delete"}


def verb_of(request: Request, view) -> str:
    """Return the Django permission (`view`, `add`, `change`, `delete`) a request asks for."""
    if getattr(view, "action", None) == "create":
        return "add"
    return METHOD_VERBS.get(request.method, "change")  # PUT, PATCH and actions such as revoke


def holds(user, model: type[models.Model], verb: str) -> bool:
    """Return whether `user` holds `verb` on `model` as admin grants it (view: view or change).

    Only for rows no team owns (calendar feeds): on a team's rows, team roles decide.
    """
    if not (user.is_staff or user.is_superuser):
        return False  # admin lets no one else in, whatever permissions they were given
    opts = model._meta
    verbs = (verb, "change") if verb == "view" else (verb,)
    # has_perm is False for a deactivated account and True for an active superuser.
    return any(user.has_perm(f"{opts.app_label}.{v}_{opts.model_name}") for v in verbs)


class ModelPermissions(permissions.BasePermission):
    """Ask the viewset, which asks accounts/access.py for a team's rows (see RoleViewSet)."""

    message = "Your role does not allow this."

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if not hasattr(view, request.method.lower()):
            return True  # the route has no such method: let it answer 405, not 403
        return view.may_request(request, verb_of(request, view))

    def has_object_permission(self, request: Request, view, obj: models.Model) -> bool:
        user, verb = request.user, verb_of(request, view)
        return view.may_touch(user, obj, verb) and view.may_object(user, obj, verb)


class RoleViewSet(viewsets.GenericViewSet):
    """A viewset under ModelPermissions.

    Rows a team owns (the model has a `team_path`): lists hold only what `access.readable`
    returns (a row you may not see is a 404, not a 403); changing and deleting ask
    `access.may_configure`; adding is for people who manage a team (the serializer's `team` or
    parent field then decides where the row goes). Django model permissions grant nothing here;
    an `owner_may` share (a person's own overrides) still adds to what the team role allows.

    Other rows: the model's permissions as admin grants them, plus a person's share named by
    the viewset: `everyone_may` (verbs on every row it lists) and `owner_may` (verbs on rows
    that are their own, as `owns` says). The actions in `admin_actions` are never part of a
    share. `may_touch` can refuse an object to everyone, whatever they hold.
    """

    permission_classes = [ModelPermissions]
    everyone_may: frozenset[str] = frozenset({"view"})
    owner_may: frozenset[str] = frozenset()
    admin_actions: frozenset[str] = frozenset()
    owner_field = "user"

    @classmethod
    def team_owned(cls) -> bool:
        """Return whether a team owns the rows (then team roles decide, not permissions)."""
        return access.team_path(cls.queryset.model) is not None

    def get_queryset(self) -> models.QuerySet:
        rows = super().get_queryset()
        return self.visible(self.request.user, rows) if self.team_owned() else rows

    def visible(self, user, rows: models.QuerySet) -> models.QuerySet:
        """Return the team-owned rows `user` may see (the same rule as `may_see`)."""
        return access.readable(user, rows)

    def may_see(self, user, obj: models.Model) -> bool:
        """Return whether `user` may see the team-owned `obj`."""
        return access.may_read(user, obj)

    def may_request(self, request: Request, verb: str) -> bool:
        """Return whether the request may go on (objects are asked again one by one)."""
        user = request.user
        if self.team_owned():
            if verb != "add" or access.manages_any(user) or access.is_site_admin(user):
                return True
            if self._shared(verb, "everyone_may"):
                return True  # the viewset asks accounts.access itself (overrides: may_cover)
            return self._shared(verb, "owner_may") and self.owns_new(request)
        if holds(user, self.queryset.model, verb) or self._shared(verb, "everyone_may"):
            return True
        if not self._shared(verb, "owner_may"):
            return False
        return verb != "add" or self.owns_new(request)  # a row's owner is decided per object

    def may_object(self, user, obj: models.Model, verb: str) -> bool:
        """Return whether `user` may do `verb` to `obj`."""
        owned = self._shared(verb, "owner_may") and self.owns(user, obj)
        if self.team_owned():
            if verb == "view":
                return self.may_see(user, obj)
            shared = self._shared(verb, "everyone_may")  # the viewset asks access itself
            return access.may_configure(user, obj) or owned or shared
        if holds(user, self.queryset.model, verb) or self._shared(verb, "everyone_may"):
            return True
        return owned

    def _shared(self, verb: str, share: str) -> bool:
        return verb in getattr(self, share, ()) and self.action not in self.admin_actions

    def owns(self, user, obj: models.Model) -> bool:
        """Return whether `obj` is `user`'s own row."""
        return getattr(obj, f"{self.owner_field}_id", None) == user.pk

    def owns_new(self, request: Request) -> bool:
        """Return whether the row a POST would create is the requester's own (the default)."""
        data = request.data if isinstance(request.data, Mapping) else {}
        return str(data.get(self.owner_field, request.user.pk)) == str(request.user.pk)

    def may_touch(self, user, obj: models.Model, verb: str) -> bool:
        """Return False to refuse `verb` on `obj` to `user` whatever permissions they hold."""
        return True


def keep_owner(serializer: serializers.Serializer, attrs: dict) -> dict:
    """Refuse a row for someone whose own rows the requester may not manage (400 naming user)."""
    request = serializer.context["request"]
    user = attrs.get("user")
    if user is not None and not access.may_manage_person(request.user, user):
        raise ValidationError({"user": "you can only manage your own"})
    return attrs


@extend_schema_field({"type": "string", "example": "payments"})
class TeamField(serializers.RelatedField):
    """A team named by its slug or its id; answers carry the slug."""

    default_error_messages = {
        "does_not_exist": "there is no team {value}: give its slug or id",
        "incorrect_type": "give the team's slug or id",
    }

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("queryset", Team.objects.all())
        kwargs.setdefault(
            "help_text",
            "The owning team's slug (or id). Left out on create: the one team you manage, "
            "or Default.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> Team:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("incorrect_type")
        raw = str(data)
        lookup = {"pk": int(raw)} if is_id(raw) else {"slug": raw}
        found = self.get_queryset().filter(**lookup).first()
        if found is None:
            self.fail("does_not_exist", value=raw[:100])
        return found

    def to_representation(self, team: Team) -> str:
        return team.slug


def team_chosen(serializer: serializers.Serializer, attrs: dict) -> dict:
    """Put the team a new row joins in `attrs`; refuse a team the requester does not manage.

    Moving a row to another team needs manager rights on both: the old one is asked before the
    serializer runs (access.may_configure on the object), the new one here.
    """
    user = serializer.context["request"].user
    team = attrs.get("team")
    if serializer.instance is None:
        try:
            attrs["team"] = access.team_for_new(user, team)
        except PermissionError as error:
            why = str(error)
            raise ValidationError({"team": [f"{why[:1].upper()}{why[1:]}."]}) from None
    elif team is not None and not access.may_configure_team(user, team):
        raise ValidationError({"team": [f"You are not a manager of {team.name}."]})
    return attrs


def parent_configurable(serializer: serializers.Serializer, parent: models.Model) -> object:
    """Refuse a parent (a service …) the requester may not change, as a 400 naming the field.

    The field's choices are only the parents the requester may read, so a parent of a team they
    cannot see answers as one that does not exist (400 too): it is never told apart from it.
    """
    if parent is not None and not access.may_configure(serializer.context["request"].user, parent):
        raise ValidationError(f"you are not a manager of {parent}'s team")
    return parent


class ReadableRelatedField(serializers.PrimaryKeyRelatedField):
    """A parent chosen by id among the rows the requester may read (others do not exist)."""

    def get_queryset(self) -> models.QuerySet:
        return access.readable(self.context["request"].user, super().get_queryset())


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


# The largest id a database holds (a 64-bit primary key).
MAX_ID = 2**63 - 1


def is_id(raw: str) -> bool:
    """Return whether `raw` is an id a database can hold.

    Not str.isdigit alone: it takes "²" (int() does not), and a number past 64 bits made SQLite
    fail the query (a 500) where PostgreSQL finds nothing.
    """
    return raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID


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
            if lookup.endswith("_id") and not is_id(raw):
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
                "schema": _filter_schema(lookup),
            }
            for param, lookup in getattr(view, "filter_fields", {}).items()
        ]


def _filter_schema(lookup: str) -> dict:
    """Return the OpenAPI schema of the query parameter that filters by `lookup`."""
    if lookup.endswith("_id"):
        return {"type": "integer", "minimum": 0, "maximum": MAX_ID}
    return {"type": "string"}


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


class ConfigViewSet(
    RefuseDeleteInUse,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    RoleViewSet,
):
    """A configuration object, under RoleViewSet's rules; `filter_fields` filter its list."""

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
