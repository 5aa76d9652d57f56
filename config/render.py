"""Write specs as the configuration file's data: names for references, defaults left out."""

from collections import defaultdict

import yaml
from django.utils.text import slugify

from accounts.models import DEFAULT_TEAM_SLUG
from config.durations import format_clock, format_local, to_local_text, to_utc_text
from config.spec import (
    WEEKDAYS,
    ContactMethodSpec,
    Document,
    IntegrationSpec,
    LayerSpec,
    PolicySpec,
    RestrictionSpec,
    ScheduleSpec,
    ServiceSpec,
    TeamSpec,
    UserSpec,
)
from oncall.durations import format_duration

HEADER = "# On-call configuration: `python manage.py oncall apply` makes the database match it.\n"


class _Dumper(yaml.SafeDumper):
    """Write short lists of names and small flat mappings on one line, as people write them."""


def _flat(items) -> bool:
    return all(not isinstance(v, list | dict) for v in items)


def _list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_flat(data))


def _dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    flow = _flat(data.values()) and len(data) <= 4 and "username" not in data and "name" not in data
    flow = flow or set(data) <= {"name", "type", "address", "verified", "kind", "key", "interval"}
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None  # an .ics file reads as itself
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)
_Dumper.add_representer(dict, _dict)


def render_text(document: Document) -> str:
    """Return the YAML text of a configuration."""
    body = yaml.dump(
        render_data(document), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    return HEADER + body


def render_data(document: Document) -> dict:
    """Return a configuration as plain data, each section in name order."""
    sections = {
        "users": [_user(u) for u in sorted(document.users, key=lambda u: u.username)],
        "teams": [
            _team(t) for t in sorted(document.teams, key=lambda t: t.slug) if t != PLAIN_DEFAULT
        ],
        "schedules": [_schedule(s) for s in sorted(document.schedules, key=lambda s: s.name)],
        "escalation_policies": [
            _policy(p) for p in sorted(document.escalation_policies, key=lambda p: p.name)
        ],
        "services": [_service(s) for s in sorted(document.services, key=lambda s: s.name)],
    }
    return {k: v for k, v in sections.items() if v}


# Objects of the Default team say nothing of their team, as files written before teams did;
# nor does the file name that team while it is as made, without members.
OWNER = {"team": DEFAULT_TEAM_SLUG}
PLAIN_DEFAULT = TeamSpec(slug=DEFAULT_TEAM_SLUG, name="Default", members=())


def _drop(data: dict, defaults: dict) -> dict:
    """Leave out the keys whose values are their defaults."""
    return {k: v for k, v in data.items() if k not in defaults or v != defaults[k]}


def _user(user: UserSpec) -> dict:
    full = f"{user.first_name} {user.last_name}".strip()
    first, _, last = full.partition(" ")
    names = (
        {"name": full}
        if (first, last) == (user.first_name, user.last_name)
        else {
            "first_name": user.first_name,
            "last_name": user.last_name,
        }
    )
    data = {
        "username": user.username,
        **names,
        "email": user.email,
        "time_zone": user.time_zone,
        "staff": True if user.staff else None,
        "contact_methods": [_method(m) for m in user.contact_methods],
        "notification_rules": [
            {"contact_method": r.contact_method, "after": format_duration(r.after)}
            for r in user.notification_rules
        ],
    }
    defaults = {"name": "", "email": "", "staff": None}
    return _drop(data, defaults | {"contact_methods": [], "notification_rules": []})


def _team(team: TeamSpec) -> dict:
    data = {
        "name": team.name,
        "slug": team.slug,
        "members": [{"user": m.user, "role": m.role} for m in team.members or ()],
    }
    return _drop(data, {"slug": slugify(team.name), "members": []})


def _method(method: ContactMethodSpec) -> dict:
    data = {"name": method.name, "type": method.kind, "address": method.address}
    return data | {"verified": True} if method.verified else data


def _schedule(schedule: ScheduleSpec) -> dict:
    zone = schedule.time_zone
    data = {
        "name": schedule.name,
        "team": schedule.team,
        "description": schedule.description,
        "time_zone": zone,
        "handoff_notice": schedule.handoff_notice,
        "layers": [_layer(la, n) for n, la in enumerate(schedule.layers)],
        "overrides": [
            _drop(
                {
                    "user": o.user,
                    "replaces": o.replaces,
                    "start": to_local_text(o.start, zone),
                    "end": to_local_text(o.end, zone),
                },
                {"replaces": None},
            )
            for o in schedule.overrides or ()
        ],
    }
    defaults = {"description": "", "handoff_notice": False, "layers": [], "overrides": []}
    return _drop(data, defaults | OWNER)


def _layer(layer: LayerSpec, position: int) -> dict:
    if layer.kind != "rotation":
        source = {"calendar": layer.calendar_url} if layer.calendar_url else {"ics": layer.ics}
        data = {"name": layer.name, "level": layer.level, **source}
        data["restrictions"] = _restrictions(layer.restrictions)
        return _drop(data, {"level": position + 1, "restrictions": []})
    data = {
        "name": layer.name,
        "level": layer.level,
        "participants": list(layer.participants),
        "shift": f"{layer.shift_count}{layer.shift_unit[0]}",
        "start": format_local(layer.handoff),
        "restrictions": _restrictions(layer.restrictions),
    }
    return _drop(data, {"level": position + 1, "restrictions": []})


def _one_day(r: RestrictionSpec) -> bool:
    """Say whether a weekly window fits the `days: [...]` form (one day, or one night)."""
    if r.kind != "weekly":
        return False
    if r.end_time > r.start_time:
        return r.end_day == r.start_day
    return r.end_day == (r.start_day + 1) % 7


def _restrictions(restrictions: tuple[RestrictionSpec, ...]) -> list[dict]:
    """Write daily windows, same-hours days grouped as `days: [...]`, other weekly spans."""
    days: dict[tuple, list[str]] = defaultdict(list)
    out: list = []
    for r in restrictions:
        if r.kind == "daily":
            out.append({"start": format_clock(r.start_time), "end": format_clock(r.end_time)})
        elif _one_day(r):
            hours = (r.start_time, r.end_time)
            if hours not in days:
                out.append(hours)
            days[hours].append(WEEKDAYS[r.start_day])
        else:
            out.append(
                {
                    "start": f"{WEEKDAYS[r.start_day]} {format_clock(r.start_time)}",
                    "end": f"{WEEKDAYS[r.end_day]} {format_clock(r.end_time)}",
                }
            )
    return [
        {"days": days[item], "start": format_clock(item[0]), "end": format_clock(item[1])}
        if isinstance(item, tuple)
        else item
        for item in out
    ]


def _policy(policy: PolicySpec) -> dict:
    data = {
        "name": policy.name,
        "team": policy.team,
        "description": policy.description,
        "repeat": policy.repeat,
        "tiers": [
            {
                "targets": [{"user": u} for u in t.users] + [{"schedule": s} for s in t.schedules],
                "ack_timeout": format_duration(t.ack_timeout),
            }
            for t in policy.tiers
        ],
    }
    return _drop(data, {"description": "", "repeat": 0, "tiers": []} | OWNER)


def _service(service: ServiceSpec) -> dict:
    data = {
        "name": service.name,
        "team": service.team,
        "description": service.description,
        "escalation_policy": service.escalation_policy,
        "urgency": service.urgency,
        "ack_timeout": _maybe_duration(service.ack_timeout),
        "auto_resolve": _maybe_duration(service.auto_resolve),
        "storm_cap": service.storm_cap,
        "storm_window": format_duration(service.storm_window),
        "integrations": [_integration(i) for i in service.integrations],
        "maintenance_windows": [
            _drop(
                {"start": to_utc_text(w.start), "end": to_utc_text(w.end), "reason": w.reason},
                {"reason": ""},
            )
            for w in service.maintenance_windows or ()
        ],
    }
    defaults = {"description": "", "escalation_policy": None, "urgency": "", "ack_timeout": None}
    more = {"auto_resolve": None, "storm_cap": 20, "storm_window": "5m", "integrations": []}
    return _drop(data, defaults | more | {"maintenance_windows": []} | OWNER)


def _maybe_duration(value) -> str | None:
    return None if value is None else format_duration(value)


def _integration(hook: IntegrationSpec) -> dict:
    data = {
        "name": hook.name,
        "kind": hook.kind,
        "key": hook.key,
        "enabled": hook.enabled,
        "disabled_reason": hook.disabled_reason,
        "grouping": hook.grouping,
        "interval": _maybe_duration(hook.interval),
        "grace": format_duration(hook.grace),
        "signing_secret": hook.signing_secret,
        "signing_header": hook.signing_header,
        "signing_timestamp_header": hook.signing_timestamp_header,
        "signing_timestamp_required": hook.signing_timestamp_required,
    }
    defaults = {"key": None, "enabled": True, "disabled_reason": "", "grouping": "group"}
    more = {"interval": None, "grace": "1m", "signing_secret": ""}
    signing = {
        "signing_header": "X-Grafana-Alerting-Signature",
        "signing_timestamp_header": "X-Grafana-Alerting-Signature-Timestamp",
        "signing_timestamp_required": False,
    }
    return _drop(data, defaults | more | signing)
