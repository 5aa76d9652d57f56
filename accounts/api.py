"""REST API for personal API tokens: create (the token is shown once), list, revoke."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from accounts.models import ApiToken, Membership, Team, User, tokens_revoke
from oncall.apibase import (
    ConfigViewSet,
    ReplacesNested,
    RoleViewSet,
    StrictModelSerializer,
    is_id,
    refuse_body,
)


class ApiTokenSerializer(StrictModelSerializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        help_text="Yourself (the default): a token acts only as its owner.",
    )

    class Meta:
        model = ApiToken
        fields = ["id", "user", "name", "hint", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["hint", "created_at", "last_used_at", "revoked_at"]

    def validate_user(self, user: User) -> User:
        # Not even a superuser: a token minted for someone else would act in their name.
        if user != self.context["request"].user:
            raise ValidationError("a token can only be created for yourself")
        return user


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text="The token itself: shown only in this answer, never again."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class ApiTokenViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    RoleViewSet,
):
    """Your API tokens (site administrators: everyone's); DELETE or `revoke` stops one working."""

    queryset = ApiToken.objects.all()  # narrowed per user in get_queryset
    serializer_class = ApiTokenSerializer

    def get_queryset(self) -> QuerySet[ApiToken]:
        tokens = ApiToken.objects.order_by("-created_at", "-id")
        if access.is_site_admin(self.request.user):
            return tokens
        return tokens.filter(user=self.request.user)

    def may_request(self, request: Request, verb: str) -> bool:
        return True  # everyone lists and makes their own; the rows are asked one by one

    def may_object(self, user: User, token: ApiToken, verb: str) -> bool:
        return token.user_id == user.pk or access.is_site_admin(user)

    def owns_new(self, request: Request) -> bool:
        """Let the serializer refuse a token for someone else: a 400 naming the field."""
        return True

    @extend_schema(request=ApiTokenSerializer, responses={201: NewApiTokenSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        owner = serializer.validated_data.get("user", request.user)
        token, raw = ApiToken.issue(user=owner, name=serializer.validated_data["name"])
        token.token = raw
        return Response(NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, token: ApiToken) -> None:
        tokens_revoke(ApiToken.objects.filter(pk=token.pk))

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        """Make the token stop working at once (it stays listed, with when it was revoked)."""
        token = self.get_object()
        refuse_body(request)
        self.perform_destroy(token)
        token.refresh_from_db()
        return Response(ApiTokenSerializer(token).data)


class MemberSerializer(StrictModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.CharField(source="user.__str__", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "username", "name", "role"]


# Everyone signed in sees the teams they are in (with TEAMS_OPEN_READ: every team's name);
# who is in a team, with their roles, only its members and site administrators (null for
# others). No e-mail address is ever shown here.
class TeamSerializer(ReplacesNested, StrictModelSerializer):
    nested = "memberships"

    members = MemberSerializer(
        source="memberships",
        many=True,
        required=False,
        allow_null=True,
        help_text="Everyone in the team with their role; replaced as a whole when given. "
        "null unless you are in the team.",
    )

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "members"]

    def to_representation(self, team: Team) -> dict:
        data = super().to_representation(team)
        if not access.may_see_members(self.context["request"].user, team):
            data["members"] = None
        return data

    def validate_members(self, members: list[dict] | None) -> list[dict]:
        """Refuse a person listed twice, naming them (each is in a team once, with one role)."""
        seen, twice = set(), []
        for member in members or []:
            if member["user"].pk in seen:
                twice.append(member["user"].username)
            seen.add(member["user"].pk)
        if twice:
            raise ValidationError(f"listed more than once: {', '.join(twice)}")
        return members or []

    def replace_nested(self, team: Team, members: list[dict]) -> None:
        team_set_members(team=team, members=members)


def team_set_members(*, team: Team, members: list[dict]) -> None:
    """Make `members` (people with their roles) the whole of `team`."""
    team.memberships.exclude(user__in=[m["user"] for m in members]).delete()
    for member in members:
        Membership.objects.update_or_create(
            team=team, user=member["user"], defaults={"role": member["role"]}
        )


SLUG_OR_ID = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="the team's slug or id"
)


@extend_schema_view(
    retrieve=extend_schema(parameters=[SLUG_OR_ID]),
    update=extend_schema(parameters=[SLUG_OR_ID]),
    partial_update=extend_schema(parameters=[SLUG_OR_ID]),
    destroy=extend_schema(parameters=[SLUG_OR_ID]),
)
class TeamViewSet(ConfigViewSet):
    """Teams and who is in them; site administrators make, change and delete them."""

    queryset = Team.objects.all()  # narrowed per user in get_queryset
    serializer_class = TeamSerializer
    lookup_value_regex = "[-a-zA-Z0-9_]+"  # a slug or an id
    filter_fields = {"slug": "slug"}

    def get_queryset(self) -> QuerySet[Team]:
        teams = access.readable_teams(self.request.user).order_by("name")
        return teams.prefetch_related("memberships__user")

    def get_object(self) -> Team:
        raw = self.kwargs["pk"]
        team = get_object_or_404(
            self.get_queryset(), **({"pk": raw} if is_id(raw) else {"slug": raw})
        )
        self.check_object_permissions(self.request, team)
        return team

    def may_request(self, request: Request, verb: str) -> bool:
        return verb == "view" or access.is_site_admin(request.user)

    def may_object(self, user: User, team: Team, verb: str) -> bool:
        return verb == "view" or access.is_site_admin(user)

    def perform_update(self, serializer: TeamSerializer) -> None:
        super().perform_update(serializer)
        access.forget_roles(self.request.user)
