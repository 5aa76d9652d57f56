"""REST API for personal API tokens: create (the token is shown once), list, revoke."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiToken, User, tokens_revoke
from oncall.apibase import RoleViewSet, StrictModelSerializer, holds, refuse_body


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
    """Your API tokens (all with the view permission); DELETE or `revoke` stops one working."""

    queryset = ApiToken.objects.all()  # narrowed per user in get_queryset
    serializer_class = ApiTokenSerializer
    owner_may = frozenset({"add", "change", "delete"})

    def get_queryset(self) -> QuerySet[ApiToken]:
        tokens = ApiToken.objects.order_by("-created_at", "-id")
        if holds(self.request.user, ApiToken, "view"):
            return tokens
        return tokens.filter(user=self.request.user)

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
