"""One stored object behind each detail URL of the API, for tests that walk every route."""

import datetime as dt

from accounts.models import ApiToken
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import MaintenanceWindow, NotificationRule, Service
from schedules.models import CalendarFeed, Override, Schedule
from tests.factories import IntegrationFactory

WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def one_of_each(*, owner, service: Service, schedule: Schedule, covering) -> dict[str, object]:
    """Return an object of each API resource by model name; `owner` holds the owned ones."""
    integration = IntegrationFactory(service=service, name="prometheus")
    event = Event(action="trigger", summary="Disk full", dedup_key="disk")
    method = owner.contact_methods.get()
    return {
        "incident": alert_ingest(integration=integration, event=event, payload={}),
        "service": service,
        "maintenancewindow": MaintenanceWindow.objects.create(
            service=service, starts_at=WHEN, ends_at=WHEN + dt.timedelta(hours=1)
        ),
        "integration": integration,
        "escalationpolicy": service.escalation_policy,
        "schedule": schedule,
        "override": Override.objects.create(
            schedule=schedule, user=covering, start=WHEN, end=WHEN + dt.timedelta(hours=8)
        ),
        "calendarfeed": CalendarFeed.objects.create(user=owner),
        "user": owner,
        "contactmethod": method,
        "notificationrule": NotificationRule.objects.create(user=owner, contact_method=method),
        "apitoken": ApiToken.issue(user=owner, name="laptop")[0],
        "team": service.team,
    }
