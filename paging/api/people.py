"""REST API for people: users, their contact methods and their notification rules."""

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from accounts.models import User
from accounts.roles import may_change_person, may_grant_privileges
from oncall.apibase import (
    ConfigViewSet,
    LimitedSerializer,
    StrictModelSerializer,
    StrictSerializer,
    cleaned,
    keep_owner,
    limited_response,
    refuse_body,
)
from oncall.limits import Limited
from paging.models import ContactMethod, NotificationRule
from paging.notify.channels.base import DeliveryError
from paging.notify.verification import (
    contact_method_add,
    contact_method_mark_verified,
    contact_method_verification_send,
    contact_method_verify,
    verify_refused_why,
)


class ContactMethodSerializer(StrictModelSerializer):
    class Meta:
        model = ContactMethod
        fields = [
            "id",
            "user",
            "name",
            "kind",
            "address",
            "verified",
            "verified_at",
            "sms_stopped_at",
        ]
        read_only_fields = ["verified", "verified_at", "sms_stopped_at"]

    def validate(self, attrs: dict) -> dict:
        return cleaned(self, keep_owner(self, attrs))


class NotificationRuleSerializer(StrictModelSerializer):
    class Meta:
        model = NotificationRule
        fields = ["id", "user", "contact_method", "delay"]

    def validate(self, attrs: dict) -> dict:
        if "delay" in attrs and attrs["delay"].total_seconds() < 0:
            raise ValidationError({"delay": "must not be negative"})
        return cleaned(self, keep_owner(self, attrs))


class MethodInUserSerializer(ContactMethodSerializer):
    class Meta(ContactMethodSerializer.Meta):
        fields = ["id", "name", "kind", "address", "verified"]


class RuleInUserSerializer(NotificationRuleSerializer):
    class Meta(NotificationRuleSerializer.Meta):
        fields = ["id", "contact_method", "delay"]


# Names are read by everyone signed in; a person's e-mail address, contact methods and rules
# only by who may manage them (access.may_manage_person): null for everyone else.
PERSONAL = ("email", "contact_methods", "notification_rules")


class UserSerializer(StrictModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)
    contact_methods = MethodInUserSerializer(
        many=True, read_only=True, allow_null=True, help_text="null unless you may manage them."
    )
    notification_rules = RuleInUserSerializer(
        many=True, read_only=True, allow_null=True, help_text="null unless you may manage them."
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "first_name",
            "last_name",
            "email",
            "time_zone",
            "is_staff",
            "is_active",
            "contact_methods",
            "notification_rules",
        ]
        extra_kwargs = {
            "email": {"allow_null": True, "help_text": "null unless you may manage them."}
        }

    def to_representation(self, person: User) -> dict:
        data = super().to_representation(person)
        if not self._may_manage(person):
            data.update(dict.fromkeys(PERSONAL))
        return data

    def _may_manage(self, person: User) -> bool:
        """Ask access.manageable_people once per answer, not once per person listed."""
        user = self.context["request"].user
        if access.is_site_admin(user):
            return True
        if "manageable" not in self.context:
            people = access.manageable_people(user).values_list("pk", flat=True)
            self.context["manageable"] = set(people)
        return person.pk in self.context["manageable"]

    def validate_email(self, value: str | None) -> str:
        return value or ""

    def validate_is_staff(self, value: bool) -> bool:
        current = self.instance.is_staff if self.instance else False
        if value != current and not may_grant_privileges(self.context["request"].user):
            raise PermissionDenied("only a superuser can change is_staff")
        return value

    def create(self, validated_data: dict) -> User:
        user = User(**validated_data)
        user.set_unusable_password()  # people sign in to admin only once staff set a password
        user.save()
        return user


class UserViewSet(ConfigViewSet):
    """People (everyone signed in reads names); site administrators add and change them."""

    queryset = User.objects.prefetch_related(
        "contact_methods",
        Prefetch("notification_rules", NotificationRule.objects.order_by("delay", "id")),
    ).order_by("username")
    serializer_class = UserSerializer
    filter_fields = {"username": "username"}

    def may_request(self, request: Request, verb: str) -> bool:
        return verb == "view" or access.is_site_admin(request.user)

    def may_object(self, user: User, person: User, verb: str) -> bool:
        """Read: everyone signed in; change and delete: site admins, as accounts/roles.py says."""
        return verb == "view" or (access.is_site_admin(user) and may_change_person(user, person))


class OwnRowsViewSet(ConfigViewSet):
    """A person's own rows: seen and changed per access.may_manage_person, by nobody else.

    Others' rows are not listed and answer 404; a new row for someone else is a 400 naming
    `user` (keep_owner). The actions in `admin_actions` are for site administrators.
    """

    filter_fields = {"user": "user_id"}

    def get_queryset(self):
        people = access.manageable_people(self.request.user)
        return super().get_queryset().filter(user__in=people.values("pk"))

    def may_request(self, request: Request, verb: str) -> bool:
        return self.action not in self.admin_actions or access.is_site_admin(request.user)

    def may_object(self, user: User, row, verb: str) -> bool:
        if self.action in self.admin_actions:
            return access.is_site_admin(user)
        return access.may_manage_person(user, row.user)


class CodeSerializer(StrictSerializer):
    code = serializers.CharField(max_length=12)


class ContactMethodViewSet(OwnRowsViewSet):
    """Phone numbers and e-mail addresses pages go to; only verified ones are paged."""

    queryset = ContactMethod.objects.order_by("user_id", "kind", "id")
    serializer_class = ContactMethodSerializer
    admin_actions = frozenset({"mark_verified"})  # vouching without a code: site admins

    def perform_create(self, serializer: ContactMethodSerializer) -> None:
        """Add it the way admin does: a verification code goes out once it is stored."""
        data = serializer.validated_data
        name = data.get("name", ContactMethod._meta.get_field("name").default)
        serializer.instance = contact_method_add(
            user=data["user"], kind=data["kind"], address=data["address"], name=name
        )

    def perform_update(self, serializer: ContactMethodSerializer) -> None:
        """Save; a new number or address is unverified again (a typo must page nobody)."""
        before = (serializer.instance.kind, serializer.instance.address)
        method = serializer.save()
        if (method.kind, method.address) != before:
            contact_method_unverify(method=method)

    @extend_schema(request=None, responses={200: ContactMethodSerializer, 429: LimitedSerializer})
    @action(detail=True, methods=["post"], url_path="send-verification")
    def send_verification(self, request: Request, pk: str) -> Response:
        """Send a fresh verification code (SMS, call or e-mail) to the method."""
        method = self.get_object()
        refuse_body(request)
        try:
            contact_method_verification_send(method=method)
        except Limited as error:
            return limited_response(error)
        except DeliveryError as error:
            return Response({"error": f"not sent: {error}"}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(ContactMethodSerializer(method).data)

    @extend_schema(request=CodeSerializer, responses=ContactMethodSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str) -> Response:
        """Verify the method with the code its owner received."""
        method = self.get_object()
        body = CodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not contact_method_verify(method=method, code=body.validated_data["code"]):
            raise ValidationError({"code": verify_refused_why(method)})
        return Response(ContactMethodSerializer(method).data)

    @extend_schema(request=None, responses=ContactMethodSerializer)
    @action(detail=True, methods=["post"], url_path="mark-verified")
    def mark_verified(self, request: Request, pk: str) -> Response:
        """Vouch for the method without a code (site administrators only)."""
        method = self.get_object()
        refuse_body(request)
        contact_method_mark_verified(method=method)
        return Response(ContactMethodSerializer(method).data)


@transaction.atomic
def contact_method_unverify(*, method: ContactMethod) -> None:
    """Mark `method` unverified and send it a code once that is committed."""
    method.verified, method.verified_at = False, None
    method.save(update_fields=["verified", "verified_at"])
    transaction.on_commit(lambda: contact_method_verification_send(method=method), robust=True)


class NotificationRuleViewSet(OwnRowsViewSet):
    """Which contact method to use how long after a person is paged."""

    queryset = NotificationRule.objects.order_by("user_id", "delay", "id")
    serializer_class = NotificationRuleSerializer
