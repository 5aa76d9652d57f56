"""REST API for people: users, their contact methods and their notification rules."""

from django.db.models import Prefetch
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError

from accounts.models import User
from oncall.apibase import ConfigViewSet, OwnOrStaff, keep_owner
from paging.models import ContactMethod, NotificationRule


class ContactMethodSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactMethod
        fields = ["id", "user", "name", "kind", "address"]

    def validate(self, attrs: dict) -> dict:
        return keep_owner(self, attrs)


class NotificationRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationRule
        fields = ["id", "user", "contact_method", "delay"]

    def validate(self, attrs: dict) -> dict:
        user = attrs.get("user", getattr(self.instance, "user", None))
        method = attrs.get("contact_method", getattr(self.instance, "contact_method", None))
        if user is not None and method is not None and method.user_id != user.pk:
            raise ValidationError({"contact_method": "must be one of the user's contact methods"})
        if "delay" in attrs and attrs["delay"].total_seconds() < 0:
            raise ValidationError({"delay": "must not be negative"})
        return keep_owner(self, attrs)


class MethodInUserSerializer(ContactMethodSerializer):
    class Meta(ContactMethodSerializer.Meta):
        fields = ["id", "name", "kind", "address"]


class RuleInUserSerializer(NotificationRuleSerializer):
    class Meta(NotificationRuleSerializer.Meta):
        fields = ["id", "contact_method", "delay"]


class UserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)
    contact_methods = MethodInUserSerializer(many=True, read_only=True)
    notification_rules = RuleInUserSerializer(many=True, read_only=True)

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

    def create(self, validated_data: dict) -> User:
        user = User(**validated_data)
        user.set_unusable_password()  # people sign in to admin only once staff set a password
        user.save()
        return user


class UserViewSet(ConfigViewSet):
    """People with their contact methods and notification rules; staff manage them."""

    queryset = User.objects.prefetch_related(
        "contact_methods",
        Prefetch("notification_rules", NotificationRule.objects.order_by("delay", "id")),
    ).order_by("username")
    serializer_class = UserSerializer
    filter_fields = {"username": "username"}


class OwnRowsViewSet(ConfigViewSet):
    """Rows that belong to a person: everyone reads, a responder changes only their own."""

    permission_classes = [permissions.IsAuthenticated, OwnOrStaff]
    filter_fields = {"user": "user_id"}


class ContactMethodViewSet(OwnRowsViewSet):
    """Phone numbers and e-mail addresses pages go to."""

    queryset = ContactMethod.objects.order_by("user_id", "kind", "id")
    serializer_class = ContactMethodSerializer


class NotificationRuleViewSet(OwnRowsViewSet):
    """Which contact method to use how long after a person is paged."""

    queryset = NotificationRule.objects.order_by("user_id", "delay", "id")
    serializer_class = NotificationRuleSerializer
