"""People who are paged, administer the service, or both."""

from django.contrib.auth.models import AbstractUser
from django.db import models

from oncall.timezones import validate_time_zone


class User(AbstractUser):
    """A person: responders are paged, staff also configure the service."""

    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    def __str__(self) -> str:
        return self.get_full_name() or self.username
