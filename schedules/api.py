"""REST API for schedules: read them, ask who is on call, list shifts; manage overrides."""

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from accounts.models import User
from oncall.apibase import (
    ConfigViewSet,
    ReplacesNested,
    RoleViewSet,
    StrictModelSerializer,
    StrictSerializer,
    TeamField,
    holds,
    model_clean,
    refuse_body,
    team_chosen,
)
from oncall.timezones import INSTANT_HELP, parse_instant
from schedules.imports import CalendarImportError, parse, url_hint
from schedules.layers import schedule_set_layers
from schedules.models import (
    CalendarFeed,
    Layer,
    LayerKind,
    LayerRestriction,
    Override,
    Schedule,
    feed_recreate,
    feeds_revoke,
    rotation_people_error,
)
from schedules.overrides import CoverRefused, cover, cover_refusal, cover_remove
from schedules.resolver import oncall_at, shifts

MAX_WINDOW = dt.timedelta(days=400)


class PersonSerializer(StrictModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name"]


class RestrictionSerializer(StrictModelSerializer):
    class Meta:
        model = LayerRestriction
        fields = ["kind", "start_day", "start_time", "end_day", "end_time"]


class ParticipantsField(serializers.ListField):
    """The rotation's people as user ids, in order (one person may appear twice)."""

    child = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())

    def to_representation(self, members) -> list[int]:
        return [m.user_id for m in members.all()]


class LayerSerializer(StrictModelSerializer):
    participants = ParticipantsField(source="members", required=False)
    restrictions = RestrictionSerializer(many=True, required=False)
    calendar_ics = serializers.CharField(
        source="calendar_body",
        write_only=True,
        required=False,
        help_text="kind ical_file: the .ics file's text (kept when left out).",
    )
    level = serializers.IntegerField(
        min_value=1,
        max_value=32767,
        required=False,
        help_text="Default: its place in the list, from 1.",
    )

    class Meta:
        model = Layer
        fields = [
            "id",
            "name",
            "level",
            "shift_count",
            "shift_unit",
            "handoff_date",
            "handoff_time",
            "participants",
            "restrictions",
            "kind",
            "calendar_url",
            "calendar_ics",
            "calendar_refreshed_at",
            "calendar_error",
        ]
        read_only_fields = ["calendar_refreshed_at", "calendar_error"]
        extra_kwargs = {"shift_count": {"min_value": 1}}

    def to_representation(self, layer: Layer) -> dict:
        """Show a calendar's URL (it grants reading the calendar) only to who may change it."""
        data = super().to_representation(layer)
        if data["calendar_url"] and not access.may_configure(self.context["request"].user, layer):
            data["calendar_url"] = url_hint(data["calendar_url"])
        return data

    def validate(self, attrs: dict) -> dict:
        plain = {k: v for k, v in attrs.items() if k not in ("members", "restrictions")}
        model_clean(Layer(**plain))
        error = rotation_people_error(
            plain.get("kind", LayerKind.ROTATION), len(attrs.get("members", []))
        )
        if error:
            raise ValidationError({"participants": [error]})
        return attrs

    def validate_calendar_ics(self, text: str) -> str:
        """Refuse a file too large or not iCalendar before anything is stored, as admin does."""
        try:
            parse(text.encode())
        except CalendarImportError as error:
            raise ValidationError(f"the .ics file's text is {error}") from None
        return text


class ScheduleSerializer(ReplacesNested, StrictModelSerializer):
    nested = "layers"

    team = TeamField(required=False)
    layers = LayerSerializer(
        many=True,
        required=False,
        help_text="The layers, replaced as a whole when given (matched by level: a calendar "
        "layer whose source stays keeps its events).",
    )

    class Meta:
        model = Schedule
        fields = ["id", "name", "team", "description", "time_zone", "handoff_notice", "layers"]

    def validate(self, attrs: dict) -> dict:
        return team_chosen(self, attrs)

    def validate_layers(self, layers: list[dict]) -> list[dict]:
        for position, layer in enumerate(layers):
            layer.setdefault("level", position + 1)
        levels = [layer["level"] for layer in layers]
        if len(set(levels)) != len(levels):
            raise ValidationError("each layer needs its own level")
        stored = set()
        if self.instance is not None:
            files = self.instance.layers.filter(kind=LayerKind.ICAL_FILE).exclude(calendar_body="")
            stored = set(files.values_list("level", flat=True))
        for layer in layers:
            new_file = layer.get("kind") == LayerKind.ICAL_FILE and layer["level"] not in stored
            if new_file and not layer.get("calendar_body"):
                raise ValidationError({"calendar_ics": "give the .ics file's text"})
        return layers

    def replace_nested(self, schedule: Schedule, layers: list[dict]) -> None:
        schedule_set_layers(schedule=schedule, layers=layers)


class ShiftSerializer(StrictSerializer):
    person = PersonSerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    source = serializers.CharField(help_text="the layer's name, or 'override'")


def _instant(request: Request, name: str, default: dt.datetime | None = None) -> dt.datetime:
    raw = request.query_params.get(name)
    if raw is None and default is not None:
        return default
    when = parse_instant((raw or "").replace(" ", "+"))  # an unencoded '+' arrives as a space
    if when is None:
        raise ValidationError({name: INSTANT_HELP})
    return when


class ScheduleViewSet(ConfigViewSet):
    """Schedules with their layers; who is on call at an instant; the shifts in a window."""

    queryset = Schedule.objects.select_related("team").prefetch_related(
        Prefetch("layers", Layer.objects.defer("calendar_body")),  # an .ics can be large
        "layers__members",
        "layers__restrictions",
    )
    serializer_class = ScheduleSerializer
    filter_fields = {"name": "name", "team": "team__slug"}

    @extend_schema(
        parameters=[OpenApiParameter("at", OpenApiTypes.DATETIME, description="default: now")],
        responses=PersonSerializer(many=True),
    )
    # A plain list, neither paginated nor filtered (the schema said paginated).
    @action(detail=True, pagination_class=None, filter_backends=[])
    def oncall(self, request: Request, pk: str) -> Response:
        """Return who is on call at `at` (default now)."""
        schedule = self.get_object()
        at = _instant(request, "at", timezone.now())
        people = oncall_at(schedule.snapshot(at, at + dt.timedelta(seconds=1)), at)
        found = User.objects.in_bulk(people)
        return Response(PersonSerializer([found[p] for p in people if p in found], many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, required=True),
            OpenApiParameter("end", OpenApiTypes.DATETIME, required=True),
        ],
        responses=ShiftSerializer(many=True),
    )
    @action(detail=True, pagination_class=None, filter_backends=[])
    def shifts(self, request: Request, pk: str) -> Response:
        """Return the final shifts within [start, end) (at most 400 days)."""
        schedule = self.get_object()
        start, end = _instant(request, "start"), _instant(request, "end")
        if end <= start:
            raise ValidationError({"end": "must be after start"})
        if end - start > MAX_WINDOW:
            raise ValidationError({"end": "the window may span at most 400 days"})
        found = shifts(schedule.snapshot(start, end), start, end)
        people = User.objects.in_bulk({s.person for s in found})
        rows = [
            {"person": people[s.person], "start": s.start, "end": s.end, "source": s.source}
            for s in found
            if s.person in people
        ]
        return Response(ShiftSerializer(rows, many=True).data)


class OverrideSerializer(StrictModelSerializer):
    class Meta:
        model = Override
        fields = ["id", "schedule", "user", "replaces", "start", "end", "created_at"]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict) -> dict:
        start = attrs.get("start", getattr(self.instance, "start", None))
        end = attrs.get("end", getattr(self.instance, "end", None))
        if start and end and end <= start:
            raise ValidationError({"end": "must be after start"})
        user = attrs.get("user", getattr(self.instance, "user", None))
        if user is not None and attrs.get("replaces") == user:
            raise ValidationError({"replaces": "someone cannot replace themselves"})
        return attrs


class OverrideViewSet(ConfigViewSet):
    """Overrides: someone covers a span of a schedule (or one person's part of it).

    A team's responders take shifts for themselves, its managers for anyone (403 with words
    otherwise); the people an override takes off call are told by SMS and e-mail.
    """

    queryset = Override.objects.order_by("start", "id")
    serializer_class = OverrideSerializer
    # Everyone signed in gets this far: schedules.overrides asks accounts.access per override.
    everyone_may = frozenset({"view", "add", "change", "delete"})
    filter_fields = {"schedule": "schedule_id", "user": "user_id"}

    def get_queryset(self):
        return access.readable(self.request.user, super().get_queryset())

    def get_object(self) -> Override:
        """Refuse, in words and before reading the body, a change to whose override it is not."""
        override = super().get_object()
        if self.request.method in ("PUT", "PATCH"):
            refusal = cover_refusal(self.request.user, override.schedule, override.user)
            if refusal:
                raise PermissionDenied(refusal)
        return override

    def perform_create(self, serializer: OverrideSerializer) -> None:
        serializer.instance = self._cover(serializer.validated_data, None)

    def perform_update(self, serializer: OverrideSerializer) -> None:
        serializer.instance = self._cover(serializer.validated_data, serializer.instance)

    def perform_destroy(self, instance: Override) -> None:
        try:
            cover_remove(self.request.user, instance)
        except CoverRefused as error:
            raise PermissionDenied(str(error)) from None

    def _cover(self, data: dict, override: Override | None) -> Override:
        def given(name: str):
            return data[name] if name in data else getattr(override, name, None)

        try:
            return cover(
                self.request.user,
                given("schedule"),
                given("user"),
                given("start"),
                given("end"),
                given("replaces"),
                override=override,
            )
        except CoverRefused as error:
            raise PermissionDenied(str(error)) from None
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from None


class CalendarFeedSerializer(StrictModelSerializer):
    url = serializers.CharField(read_only=True, help_text="Paste into a calendar app.")
    created_by = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,  # feeds made before it was recorded
        help_text="Who made the URL: they may revoke it.",
    )

    class Meta:
        model = CalendarFeed
        fields = ["id", "user", "schedule", "url", "created_by", "created_at", "revoked_at"]
        read_only_fields = ["created_at", "revoked_at"]

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("user") is None) == (attrs.get("schedule") is None):
            raise ValidationError({"user": "give either a user or a schedule, not both"})
        request = self.context["request"]
        user = attrs.get("user")
        if (
            user is not None
            and user != request.user
            and not holds(request.user, CalendarFeed, "add")
        ):
            raise ValidationError({"user": "you can only create your own feed"})
        return attrs


class CalendarFeedViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    RoleViewSet,
):
    """Calendar feed URLs: your own and schedules' (all with the view permission); revoke."""

    queryset = CalendarFeed.objects.all()  # narrowed per user in get_queryset
    serializer_class = CalendarFeedSerializer
    owner_may = frozenset({"add", "change", "delete"})

    def get_queryset(self):
        feeds = CalendarFeed.objects.order_by("-created_at", "-id")
        if holds(self.request.user, CalendarFeed, "view"):
            return feeds
        me = self.request.user
        return feeds.filter(Q(user=me) | Q(created_by=me) | Q(schedule__isnull=False))

    def owns(self, user, feed: CalendarFeed) -> bool:
        """Return whether `feed` is `user`'s: their own calendar, or one they made."""
        return user.pk in (feed.user_id, feed.created_by_id)

    def perform_create(self, serializer: CalendarFeedSerializer) -> None:
        serializer.save(created_by=self.request.user)

    def owns_new(self, request: Request) -> bool:
        """Let the serializer refuse a feed for someone else: a 400 naming the field."""
        return True

    @extend_schema(request=None, responses=CalendarFeedSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        """Make the feed's URL answer 404 from now on."""
        feed = self.get_object()
        refuse_body(request)
        feeds_revoke(CalendarFeed.objects.filter(pk=feed.pk))
        feed.refresh_from_db()
        return Response(CalendarFeedSerializer(feed).data)

    @extend_schema(request=None, responses=CalendarFeedSerializer)
    @action(detail=True, methods=["post"])
    def recreate(self, request: Request, pk: str) -> Response:
        """Revoke the feed and return a new one (a new URL) for the same person or schedule."""
        feed = self.get_object()
        refuse_body(request)
        new = feed_recreate(feed=feed, by=request.user)
        return Response(CalendarFeedSerializer(new).data, status=201)
