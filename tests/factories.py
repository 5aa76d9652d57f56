"""Small factories for the objects tests build; personas live in conftest."""

import datetime as dt

import factory

from accounts.models import Membership, Team, User, default_team_id
from escalation.models import EscalationPolicy, Tier
from paging.models import ContactMethod, Integration, Service


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")


class ContactMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactMethod

    user = factory.SubFactory(UserFactory)
    kind = "sms"
    address = factory.Sequence(lambda n: f"+1555020{n:04d}")
    verified = True


class PolicyFactory(factory.django.DjangoModelFactory):
    """A policy; `levels` lists each tier's targets (users or schedules) in order."""

    class Meta:
        model = EscalationPolicy
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"policy {n}")
    repeat = 0

    @factory.post_generation
    def levels(self, create, targets, **kwargs):
        timeout = kwargs.get("timeout", dt.timedelta(minutes=1))
        for position, level in enumerate(targets or []):
            tier = Tier.objects.create(policy=self, position=position, ack_timeout=timeout)
            tier.users.add(*[t for t in level if isinstance(t, User)])
            tier.schedules.add(*[t for t in level if not isinstance(t, User)])


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"service {n}")
    escalation_policy = factory.SubFactory(PolicyFactory)


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    service = factory.SubFactory(ServiceFactory)
    name = "Generic JSON"
    kind = "generic"


def join(user: User, role: str = "responder", team: Team | None = None) -> User:
    """Put `user` in `team` (the Default team when not named) with `role`; return them."""
    team_id = team.pk if team is not None else default_team_id()
    Membership.objects.update_or_create(team_id=team_id, user=user, defaults={"role": role})
    user.__dict__.pop("_team_roles", None)
    return user
