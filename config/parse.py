"""Read a configuration file into specs, naming the place of every problem in it.

Pure: no queries. Names the file refers to must be defined in the file or be in `known`
(what the database already holds and the apply keeps).
"""

import itertools
import re

import yaml
from django.utils.text import slugify

from accounts.models import DEFAULT_TEAM_SLUG, Role
from config.fields import (
    Bad,
    ConfigError,
    Reader,
    boolean,
    choice,
    clock,
    duration,
    instant,
    integer,
    integration_key,
    local,
    naive_local,
    name,
    shift,
    text,
    time_zone,
)
from config.spec import (
    WEEKDAYS,
    ContactMethodSpec,
    Document,
    IntegrationSpec,
    LayerSpec,
    MemberSpec,
    OverrideSpec,
    PolicySpec,
    RestrictionSpec,
    RuleSpec,
    ScheduleSpec,
    ServiceSpec,
    TeamSpec,
    TierSpec,
    UserSpec,
    WindowSpec,
)
from paging.models import ContactKind, Grouping, IntegrationKind, Urgency
from schedules import imports
from schedules.models import NO_PEOPLE, LayerKind, rotation_people_error

CALENDAR_URL = re.compile(r"^(?i:https?|webcal)://\S+$")
SECTIONS = ("users", "teams", "schedules", "escalation_policies", "services")
NAME_KEYS = {"users": "username", "schedules": "name", "escalation_policies": "name"}


def parse_text(source: str, *, known: dict[str, set[str]] | None = None) -> Document:
    """Return the configuration `source` (YAML) describes; raise ConfigError naming places."""
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([(where, f"not valid YAML: {problem}")]) from None
    return parse_data({} if data is None else data, known=known or {})


def parse_data(data: object, *, known: dict[str, set[str]]) -> Document:
    """Return the configuration in loaded YAML data; raise ConfigError naming places."""
    names = {k: set(known.get(k, ())) | _declared(data, k, key) for k, key in NAME_KEYS.items()}
    names["teams"] = set(known.get("teams", ())) | {DEFAULT_TEAM_SLUG} | _declared_teams(data)
    reader = Reader(names)
    top = reader.mapping(data, "", SECTIONS) or {}
    document = Document(
        users=_unique(
            reader,
            "users",
            "username",
            [_user(reader, p, u) for p, u in reader.items(top, "users", "")],
        ),
        teams=_unique(
            reader,
            "teams",
            "slug",
            [_team(reader, p, t) for p, t in reader.items(top, "teams", "")],
        ),
        schedules=_unique(
            reader,
            "schedules",
            "name",
            [_schedule(reader, p, s) for p, s in reader.items(top, "schedules", "")],
        ),
        escalation_policies=_unique(
            reader,
            "escalation_policies",
            "name",
            [_policy(reader, p, x) for p, x in reader.items(top, "escalation_policies", "")],
        ),
        services=_unique(
            reader,
            "services",
            "name",
            [_service(reader, p, x) for p, x in reader.items(top, "services", "")],
        ),
    )
    if reader.problems:
        raise ConfigError(reader.problems)
    return document


def _declared(data: object, section: str, key: str) -> set[str]:
    """Return the names a section declares, before reading it (so references can be checked)."""
    items = data.get(section) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return set()
    return {str(i[key]) for i in items if isinstance(i, dict) and isinstance(i.get(key), str | int)}


def _declared_teams(data: object) -> set[str]:
    """Return the slugs the teams section declares (given, or made from the name)."""
    items = data.get("teams") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return set()
    return {_team_slug(i) for i in items if isinstance(i, dict)} - {""}


def _team_slug(obj: dict) -> str:
    """Return a team's slug: the one given, else Django's slugify of its name."""
    given = obj.get("slug")
    if isinstance(given, str | int) and not isinstance(given, bool):
        return str(given)
    named = obj.get("name")
    return slugify(named) if isinstance(named, str) else ""


def _unique(reader: Reader, section: str, key: str, specs: list) -> tuple:
    """Return the specs read without problems, recording names given twice."""
    seen: dict[str, int] = {}
    for n, spec in enumerate(specs):
        if spec is None:
            continue
        value = getattr(spec, key if key in ("username", "slug") else "name")
        if value in seen:
            reader.fail(f"{section}[{n}].{key}", f'"{value}" is already {section}[{seen[value]}]')
        seen.setdefault(value, n)
    return tuple(s for s in specs if s is not None)


def _names_once(reader: Reader, path: str, specs: list, what: str) -> None:
    seen: set[str] = set()
    for n, spec in enumerate(specs):
        if spec is not None and spec.name in seen:
            reader.fail(f"{path}[{n}].name", f'another {what} is already named "{spec.name}"')
        if spec is not None:
            seen.add(spec.name)


def _user(reader: Reader, path: str, raw: object) -> UserSpec | None:
    keys = ("username", "name", "first_name", "last_name", "email", "time_zone", "staff")
    obj = reader.mapping(raw, path, (*keys, "contact_methods", "notification_rules"))
    if obj is None:
        return None
    first, last = _names(reader, path, obj)
    methods = [_method(reader, p, m) for p, m in reader.items(obj, "contact_methods", path)]
    _names_once(reader, f"{path}.contact_methods", methods, "contact method")
    known = {m.name for m in methods if m is not None}
    rules = [_rule(reader, p, r, known) for p, r in reader.items(obj, "notification_rules", path)]
    return UserSpec(
        username=reader.take(obj, "username", path, name),
        first_name=first,
        last_name=last,
        email=reader.take(obj, "email", path, text, ""),
        time_zone=reader.take(obj, "time_zone", path, time_zone, "UTC"),
        staff=reader.take(obj, "staff", path, boolean, None),
        contact_methods=tuple(sorted((m for m in methods if m), key=lambda m: m.name)),
        notification_rules=tuple(
            sorted((r for r in rules if r), key=lambda r: (r.after, r.contact_method))
        ),
    )


def _team(reader: Reader, path: str, raw: object) -> TeamSpec | None:
    obj = reader.mapping(raw, path, ("name", "slug", "members"))
    if obj is None:
        return None
    team_name = reader.take(obj, "name", path, name)
    slug = reader.take(obj, "slug", path, _slug, None)
    if slug is None and team_name is not None:
        slug = slugify(team_name)
        if not slug:
            reader.fail(f"{path}.slug", "is required when the name has no letters or digits")
    members = [_member(reader, p, m) for p, m in reader.items(obj, "members", path)]
    seen: dict[str, int] = {}
    for n, member in enumerate(members):
        if member is not None and member.user in seen:
            where = f"{path}.members[{n}].user"
            reader.fail(where, f'"{member.user}" is already members[{seen[member.user]}]')
        if member is not None:
            seen.setdefault(member.user, n)
    return TeamSpec(
        slug=slug,
        name=team_name,
        members=tuple(sorted(m for m in members if m)) if "members" in obj else None,
    )


def _slug(value: object) -> str:
    value = name(value)
    if slugify(value) != value:
        raise Bad(
            f'must be a slug: lowercase letters, digits, "-" and "_", e.g. "{slugify(value)}"'
        )
    return value


def _member(reader: Reader, path: str, raw: object) -> MemberSpec | None:
    obj = reader.mapping(raw, path, ("user", "role"))
    if obj is None:
        return None
    user = reader.refer(f"{path}.user", reader.take(obj, "user", path, name), "users", "user")
    role = reader.take(obj, "role", path, choice(Role.values))
    return MemberSpec(user=user, role=role) if user and role else None


def _owner(reader: Reader, obj: dict, path: str) -> str:
    """Return the slug of the team that owns an object (the Default team when not named)."""
    slug = reader.take(obj, "team", path, name, DEFAULT_TEAM_SLUG)
    return reader.refer(f"{path}.team", slug, "teams", "team") or DEFAULT_TEAM_SLUG


def _names(reader: Reader, path: str, obj: dict) -> tuple[str, str]:
    """Return (first, last): `name: Alice Adams` splits at the first space."""
    if "name" in obj and ("first_name" in obj or "last_name" in obj):
        reader.fail(f"{path}.name", "give either name or first_name/last_name, not both")
    if "name" in obj:
        first, _, last = (reader.take(obj, "name", path, text, "") or "").partition(" ")
        return first, last
    return reader.take(obj, "first_name", path, text, ""), reader.take(
        obj, "last_name", path, text, ""
    )


def _method(reader: Reader, path: str, raw: object) -> ContactMethodSpec | None:
    obj = reader.mapping(raw, path, ("name", "type", "address", "verified"))
    if obj is None:
        return None
    return ContactMethodSpec(
        name=reader.take(obj, "name", path, name),
        kind=reader.take(obj, "type", path, choice(ContactKind.values)),
        address=reader.take(obj, "address", path, name),
        verified=reader.take(obj, "verified", path, boolean, None),
        at=path,
    )


def _rule(reader: Reader, path: str, raw: object, methods: set[str]) -> RuleSpec | None:
    obj = reader.mapping(raw, path, ("contact_method", "after"))
    if obj is None:
        return None
    method = reader.take(obj, "contact_method", path, name)
    if method is not None and method not in methods:
        reader.fail(f"{path}.contact_method", f'no contact method named "{method}" above')
    return RuleSpec(
        contact_method=method,
        after=reader.take(obj, "after", path, duration, None) or duration("0s"),
    )


def _schedule(reader: Reader, path: str, raw: object) -> ScheduleSpec | None:
    keys = ("name", "team", "description", "time_zone", "handoff_notice", "layers", "overrides")
    obj = reader.mapping(raw, path, keys)
    if obj is None:
        return None
    zone = reader.take(obj, "time_zone", path, time_zone, "UTC") or "UTC"
    layers = [
        _layer(reader, p, la, n) for n, (p, la) in enumerate(reader.items(obj, "layers", path))
    ]
    levels: dict[int, int] = {}
    for n, layer in enumerate(layers):
        if layer is not None and layer.level in levels:
            reader.fail(
                f"{path}.layers[{n}].level",
                f"layers[{levels[layer.level]}] has level {layer.level} too",
            )
        if layer is not None:
            levels.setdefault(layer.level, n)
    overrides = [_override(reader, p, o, zone) for p, o in reader.items(obj, "overrides", path)]
    return ScheduleSpec(
        name=reader.take(obj, "name", path, name),
        team=_owner(reader, obj, path),
        description=reader.take(obj, "description", path, text, ""),
        time_zone=zone,
        handoff_notice=reader.take(obj, "handoff_notice", path, boolean, False),
        layers=tuple(sorted((la for la in layers if la), key=lambda la: la.level)),
        overrides=tuple(o for o in overrides if o) if "overrides" in obj else None,
    )


ROTATION_KEYS = ("participants", "shift", "start")
CALENDAR_KEYS = ("calendar", "ics")


def _layer(reader: Reader, path: str, raw: object, position: int) -> LayerSpec | None:
    keys = ("name", "level", *ROTATION_KEYS, *CALENDAR_KEYS, "restrictions")
    obj = reader.mapping(raw, path, keys)
    if obj is None:
        return None
    restrictions = [_restrictions(reader, p, r) for p, r in reader.items(obj, "restrictions", path)]
    common = {
        "name": reader.take(obj, "name", path, name),
        "level": reader.take(obj, "level", path, integer(1, 32767), position + 1),
        "restrictions": tuple(sorted(itertools.chain.from_iterable(r for r in restrictions if r))),
        "at": path,
    }
    sources = [k for k in CALENDAR_KEYS if k in obj]
    if not sources:
        return _rotation(reader, path, obj, common)
    if len(sources) > 1 or any(k in obj for k in ROTATION_KEYS):
        reader.fail(
            path,
            "a layer is a rotation (participants, shift, start), a calendar URL "
            "(calendar) or an .ics file's text (ics): one of them",
        )
        return None
    if "calendar" in obj:
        return LayerSpec(**common, calendar_url=reader.take(obj, "calendar", path, calendar_url))
    return LayerSpec(**common, ics=reader.take(obj, "ics", path, ics_text))


def calendar_url(value: object) -> str:
    if not CALENDAR_URL.match(text(value)):
        raise Bad("must be an http, https or webcal URL of an iCal feed")
    return value


def ics_text(value: object) -> str:
    try:
        imports.parse(text(value).encode())
    except imports.CalendarImportError as error:
        raise Bad(str(error)) from None
    return value


def _rotation(reader: Reader, path: str, obj: dict, common: dict) -> LayerSpec:
    people = obj.get("participants")
    if not isinstance(people, list):
        reader.fail(f"{path}.participants", "must be a list of usernames")
        people = []
    participants = []
    for n, person in enumerate(people):
        where = f"{path}.participants[{n}]"
        participants.append(reader.refer(where, reader.value(person, where, name), "users", "user"))
    if isinstance(people, list) and rotation_people_error(LayerKind.ROTATION, len(people)):
        reader.fail(f"{path}.participants", NO_PEOPLE)
    count, unit = reader.take(obj, "shift", path, shift) or (1, "weeks")
    return LayerSpec(
        **common,
        shift_count=count,
        shift_unit=unit,
        handoff=reader.take(obj, "start", path, _handoff),
        participants=tuple(participants),
    )


def _handoff(value: object):
    return naive_local(value.isoformat() if hasattr(value, "isoformat") else text(value))


def _restrictions(reader: Reader, path: str, raw: object) -> list[RestrictionSpec] | None:
    """Read `{start, end}` (daily), `{days, start, end}` or `{start: "fri 18:00", end: ...}`."""
    obj = reader.mapping(raw, path, ("days", "start", "end"))
    if obj is None:
        return None
    if "days" not in obj and isinstance(obj.get("start"), str) and " " in obj["start"]:
        start, end = (
            reader.take(obj, "start", path, _day_clock),
            reader.take(obj, "end", path, _day_clock),
        )
        if start and end:
            return [RestrictionSpec("weekly", start[0], start[1], end[0], end[1])]
        return None
    start, end = reader.take(obj, "start", path, clock), reader.take(obj, "end", path, clock)
    if start is None or end is None:
        return None
    if "days" not in obj:
        return [RestrictionSpec("daily", 0, start, 0, end)]
    days = obj["days"] if isinstance(obj["days"], list) and obj["days"] else None
    if days is None or any(d not in WEEKDAYS for d in days):
        reader.fail(f"{path}.days", f"must be a list of days: {', '.join(WEEKDAYS)}")
        return None
    overnight = end <= start  # 22:00-06:00 ends the next morning
    return [
        RestrictionSpec(
            "weekly", WEEKDAYS.index(d), start, (WEEKDAYS.index(d) + overnight) % 7, end
        )
        for d in days
    ]


def _day_clock(value: object):
    day, _, when = text(value).partition(" ")
    if day.lower() not in WEEKDAYS:
        raise Bad(f'must be a day and a time such as "fri 18:00" (days: {", ".join(WEEKDAYS)})')
    return WEEKDAYS.index(day.lower()), clock(when)


def _override(reader: Reader, path: str, raw: object, zone: str) -> OverrideSpec | None:
    obj = reader.mapping(raw, path, ("user", "replaces", "start", "end"))
    if obj is None:
        return None
    start = reader.take(obj, "start", path, local(zone))
    end = reader.take(obj, "end", path, local(zone))
    if start and end and end <= start:
        reader.fail(f"{path}.end", "must be after the start")
    return OverrideSpec(
        user=reader.refer(f"{path}.user", reader.take(obj, "user", path, name), "users", "user"),
        start=start,
        end=end,
        replaces=reader.refer(
            f"{path}.replaces", reader.take(obj, "replaces", path, name, None), "users", "user"
        ),
        at=path,
    )


def _policy(reader: Reader, path: str, raw: object) -> PolicySpec | None:
    obj = reader.mapping(raw, path, ("name", "team", "description", "repeat", "tiers"))
    if obj is None:
        return None
    tiers = [_tier(reader, p, t) for p, t in reader.items(obj, "tiers", path)]
    return PolicySpec(
        name=reader.take(obj, "name", path, name),
        team=_owner(reader, obj, path),
        description=reader.take(obj, "description", path, text, ""),
        repeat=reader.take(obj, "repeat", path, integer(0, 32767), 0),
        tiers=tuple(t for t in tiers if t),
    )


def _tier(reader: Reader, path: str, raw: object) -> TierSpec | None:
    obj = reader.mapping(raw, path, ("targets", "ack_timeout"))
    if obj is None:
        return None
    users, schedules = [], []
    for where, target in reader.items(obj, "targets", path):
        target = reader.mapping(target, where, ("user", "schedule"))
        if target is None:
            continue
        if len(target) != 1:
            reader.fail(where, "must name one user or one schedule, e.g. {user: bob}")
        elif "user" in target:
            users.append(
                reader.refer(
                    f"{where}.user", reader.take(target, "user", where, name), "users", "user"
                )
            )
        else:
            found = reader.take(target, "schedule", where, name)
            schedules.append(reader.refer(f"{where}.schedule", found, "schedules", "schedule"))
    timeout = reader.take(obj, "ack_timeout", path, duration, None)
    if timeout is not None and timeout.total_seconds() < 1:
        reader.fail(f"{path}.ack_timeout", "must be at least 1s")
    return TierSpec(
        ack_timeout=timeout or duration("5m"),
        users=tuple(sorted(set(u for u in users if u))),
        schedules=tuple(sorted(set(s for s in schedules if s))),
        at=path,
    )


def _service(reader: Reader, path: str, raw: object) -> ServiceSpec | None:
    keys = ("name", "team", "description", "escalation_policy", "urgency", "ack_timeout")
    more = ("auto_resolve", "storm_cap", "storm_window", "integrations", "maintenance_windows")
    obj = reader.mapping(raw, path, (*keys, *more))
    if obj is None:
        return None
    hooks = [_integration(reader, p, i) for p, i in reader.items(obj, "integrations", path)]
    _names_once(reader, f"{path}.integrations", hooks, "integration")
    windows = [_window(reader, p, w) for p, w in reader.items(obj, "maintenance_windows", path)]
    policy = reader.take(obj, "escalation_policy", path, name, None)
    return ServiceSpec(
        name=reader.take(obj, "name", path, name),
        team=_owner(reader, obj, path),
        description=reader.take(obj, "description", path, text, ""),
        escalation_policy=reader.refer(
            f"{path}.escalation_policy", policy, "escalation_policies", "policy"
        ),
        urgency=reader.take(obj, "urgency", path, choice(["", *Urgency.values]), ""),
        ack_timeout=reader.take(obj, "ack_timeout", path, duration, None),
        auto_resolve=reader.take(obj, "auto_resolve", path, duration, None),
        storm_cap=reader.take(obj, "storm_cap", path, integer(0, 2**31 - 1), 20),
        storm_window=reader.take(obj, "storm_window", path, duration, duration("5m")),
        integrations=tuple(sorted((h for h in hooks if h), key=lambda h: h.name)),
        maintenance_windows=(
            tuple(sorted(w for w in windows if w)) if "maintenance_windows" in obj else None
        ),
    )


_TIMESTAMP_KEYS = ("signing_timestamp_header", "signing_timestamp_required")


def _integration(reader: Reader, path: str, raw: object) -> IntegrationSpec | None:
    keys = ("name", "kind", "key", "enabled", "disabled_reason", "grouping", "interval", "grace")
    signing = ("signing_secret", "signing_header", *_TIMESTAMP_KEYS)
    obj = reader.mapping(raw, path, (*keys, *signing))
    if obj is None:
        return None
    return IntegrationSpec(
        name=reader.take(obj, "name", path, name),
        kind=reader.take(obj, "kind", path, choice(IntegrationKind.values)),
        key=reader.take(obj, "key", path, integration_key, None),
        enabled=reader.take(obj, "enabled", path, boolean, True),
        disabled_reason=reader.take(obj, "disabled_reason", path, text, ""),
        grouping=reader.take(obj, "grouping", path, choice(Grouping.values), "group"),
        interval=reader.take(obj, "interval", path, duration, None),
        grace=reader.take(obj, "grace", path, duration, duration("1m")),
        signing_secret=reader.take(obj, "signing_secret", path, text, ""),
        signing_header=reader.take(
            obj, "signing_header", path, name, "X-Grafana-Alerting-Signature"
        ),
        signing_timestamp_header=reader.take(
            obj, "signing_timestamp_header", path, name, "X-Grafana-Alerting-Signature-Timestamp"
        ),
        signing_timestamp_required=reader.take(
            obj, "signing_timestamp_required", path, boolean, False
        ),
        at=path,
    )


def _window(reader: Reader, path: str, raw: object) -> WindowSpec | None:
    obj = reader.mapping(raw, path, ("start", "end", "reason"))
    if obj is None:
        return None
    start, end = reader.take(obj, "start", path, instant), reader.take(obj, "end", path, instant)
    if start and end and end <= start:
        reader.fail(f"{path}.end", "must be after the start")
    reason = reader.take(obj, "reason", path, text, "")
    return WindowSpec(start=start, end=end, reason=reason, at=path)
