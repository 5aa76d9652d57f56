"""The configuration as plain, comparable data: what a file says and what the database holds.

Both sides are brought to this one canonical form (sorted where order means nothing), so that
comparing them is `==`. References to other objects are by name.
"""

import datetime as dt
from dataclasses import dataclass, field, fields

from accounts.models import DEFAULT_TEAM_SLUG

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ContactMethodSpec:
    name: str
    kind: str
    address: str
    verified: bool | None = None  # None: as it is (a new or changed address: not verified)
    at: str = field(default="", compare=False, repr=False)  # its place in the file


@dataclass(frozen=True)
class RuleSpec:
    contact_method: str
    after: dt.timedelta = dt.timedelta(0)


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    time_zone: str = "UTC"
    staff: bool | None = None  # None: the file leaves it as it is
    contact_methods: tuple[ContactMethodSpec, ...] = ()
    notification_rules: tuple[RuleSpec, ...] = ()


@dataclass(frozen=True, order=True)
class MemberSpec:
    user: str
    role: str


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    members: tuple[MemberSpec, ...] | None = None  # None: the file leaves them alone


@dataclass(frozen=True, order=True)
class RestrictionSpec:
    kind: str  # daily or weekly
    start_day: int
    start_time: dt.time
    end_day: int
    end_time: dt.time


@dataclass(frozen=True)
class LayerSpec:
    """A rotation, or (with `calendar_url` or `ics`) an imported calendar."""

    name: str
    level: int
    shift_count: int = 1
    shift_unit: str = "weeks"
    handoff: dt.datetime | None = None  # naive, in the schedule's time zone
    participants: tuple[str, ...] = ()
    restrictions: tuple[RestrictionSpec, ...] = ()
    calendar_url: str = ""
    ics: str = ""

    @property
    def kind(self) -> str:
        return "ical_url" if self.calendar_url else "ical_file" if self.ics else "rotation"

    at: str = field(default="", compare=False, repr=False)  # its place in the file


@dataclass(frozen=True)
class OverrideSpec:
    user: str
    start: dt.datetime  # aware
    end: dt.datetime
    replaces: str | None = None
    at: str = field(default="", compare=False, repr=False)  # its place in the file


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    team: str = DEFAULT_TEAM_SLUG
    description: str = ""
    time_zone: str = "UTC"
    handoff_notice: bool = False
    layers: tuple[LayerSpec, ...] = ()
    overrides: tuple[OverrideSpec, ...] | None = None  # None: the file leaves them alone


@dataclass(frozen=True)
class TierSpec:
    ack_timeout: dt.timedelta
    users: tuple[str, ...] = ()
    schedules: tuple[str, ...] = ()
    at: str = field(default="", compare=False, repr=False)  # its place in the file


@dataclass(frozen=True)
class PolicySpec:
    name: str
    team: str = DEFAULT_TEAM_SLUG
    description: str = ""
    repeat: int = 0
    tiers: tuple[TierSpec, ...] = ()


@dataclass(frozen=True)
class IntegrationSpec:
    name: str
    kind: str
    key: str | None = None  # None: keep the current key, or generate one
    enabled: bool = True
    disabled_reason: str = ""
    grouping: str = "group"
    interval: dt.timedelta | None = None
    grace: dt.timedelta = dt.timedelta(minutes=1)
    signing_secret: str = ""
    signing_header: str = "X-Grafana-Alerting-Signature"
    signing_timestamp_header: str = "X-Grafana-Alerting-Signature-Timestamp"
    signing_timestamp_required: bool = False
    at: str = field(default="", compare=False, repr=False)  # its place in the file


@dataclass(frozen=True, order=True)
class WindowSpec:
    start: dt.datetime
    end: dt.datetime
    reason: str = ""
    at: str = field(default="", compare=False, repr=False)  # its place in the file


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    team: str = DEFAULT_TEAM_SLUG
    description: str = ""
    escalation_policy: str | None = None
    urgency: str = ""
    ack_timeout: dt.timedelta | None = None
    auto_resolve: dt.timedelta | None = None
    storm_cap: int = 20
    storm_window: dt.timedelta = dt.timedelta(minutes=5)
    integrations: tuple[IntegrationSpec, ...] = ()
    maintenance_windows: tuple[WindowSpec, ...] | None = None  # None: left alone


@dataclass(frozen=True)
class Document:
    """A whole configuration; each list in file order (the database's in name order)."""

    users: tuple[UserSpec, ...] = ()
    teams: tuple[TeamSpec, ...] = ()
    schedules: tuple[ScheduleSpec, ...] = ()
    escalation_policies: tuple[PolicySpec, ...] = ()
    services: tuple[ServiceSpec, ...] = ()


def differing(old: object, new: object) -> list[str]:
    """Return the names of the fields in which two specs of one kind differ."""
    return [f.name for f in fields(new) if getattr(old, f.name) != getattr(new, f.name)]
