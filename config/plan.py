"""Compare the file with the database: what to create, update, delete and leave alone. Pure."""

import dataclasses
from dataclasses import dataclass

from accounts.models import DEFAULT_TEAM_SLUG
from config.spec import (
    ContactMethodSpec,
    Document,
    ScheduleSpec,
    ServiceSpec,
    TeamSpec,
    UserSpec,
    differing,
)

# In the order they are written: a team's members are people; schedules and the rest, a team's.
KINDS = {
    "users": "user",
    "teams": "team",
    "schedules": "schedule",
    "escalation_policies": "escalation policy",
    "services": "service",
}


@dataclass(frozen=True)
class Change:
    """One top-level object and what the apply does to it."""

    action: str  # created, updated, deleted, unchanged
    section: str  # users, teams, schedules, escalation_policies, services
    name: str
    spec: object = None  # what it becomes (None when deleted)
    old: object = None  # what it was (None when created)
    index: int = -1  # its place in the file's section
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        what = f"{self.action} {KINDS[self.section]} {self.name}"
        return f"{what} ({', '.join(self.fields)})" if self.fields else what


def spec_name(spec: object) -> str:
    if isinstance(spec, UserSpec):
        return spec.username
    return spec.slug if isinstance(spec, TeamSpec) else spec.name


def plan(
    desired: Document, current: Document, *, prune: bool, keep: frozenset[str] = frozenset()
) -> list[Change]:
    """Return the changes, creations and updates first (in dependency order), then deletions.

    `keep` names users that pruning never deletes (superusers); nor does it delete the Default
    team, where objects that name no team go.
    """
    changes: list[Change] = []
    for section in KINDS:
        now = {spec_name(s): s for s in getattr(current, section)}
        for index, spec in enumerate(getattr(desired, section)):
            old = now.get(spec_name(spec))
            changes.append(_compare(section, index, _fill(spec, old), old))
    if prune:
        for section in reversed(KINDS):
            wanted = {spec_name(s) for s in getattr(desired, section)}
            for spec in getattr(current, section):
                name = spec_name(spec)
                kept = {"users": keep, "teams": {DEFAULT_TEAM_SLUG}}.get(section, ())
                if name not in wanted and name not in kept:
                    changes.append(Change("deleted", section, name, old=spec))
    return changes


def _compare(section: str, index: int, spec: object, old: object) -> Change:
    name = spec_name(spec)
    if old is None:
        return Change("created", section, name, spec, None, index)
    fields = tuple(differing(old, spec))
    action = "updated" if fields else "unchanged"
    return Change(action, section, name, spec, old, index, fields)


def _fill(spec: object, old: object) -> object:
    """Fill in what the file leaves to the database.

    A user's staff flag, integration keys, a team's members, a schedule's overrides or a service's
    maintenance windows when the file has no such key (people add those day to day).
    """
    if isinstance(spec, UserSpec):
        staff = (old.staff if old else False) if spec.staff is None else spec.staff
        methods = tuple(_fill_verified(m, old) for m in spec.contact_methods)
        return dataclasses.replace(spec, staff=staff, contact_methods=methods)
    if isinstance(spec, TeamSpec) and spec.members is None:
        return dataclasses.replace(spec, members=old.members if old else ())
    if isinstance(spec, ScheduleSpec) and spec.overrides is None:
        return dataclasses.replace(spec, overrides=old.overrides if old else ())
    if isinstance(spec, ServiceSpec):
        windows = spec.maintenance_windows
        windows = (old.maintenance_windows if old else ()) if windows is None else windows
        keys = {i.name: i.key for i in old.integrations} if old else {}
        hooks = tuple(
            dataclasses.replace(i, key=keys.get(i.name)) if i.key is None else i
            for i in spec.integrations
        )
        return dataclasses.replace(spec, integrations=hooks, maintenance_windows=windows)
    return spec


def _fill_verified(method: ContactMethodSpec, user: UserSpec | None) -> ContactMethodSpec:
    """Keep a method's verification while its address stays; a new address starts unverified."""
    if method.verified is not None:
        return method
    now = {m.name: m for m in user.contact_methods} if user else {}
    same = now.get(method.name)
    kept = same is not None and (same.kind, same.address) == (method.kind, method.address)
    return dataclasses.replace(method, verified=bool(kept and same.verified))


def summary(changes: list[Change]) -> str:
    """Return e.g. `2 created, 1 updated, 0 deleted, 5 unchanged`."""
    counts = {a: 0 for a in ("created", "updated", "deleted", "unchanged")}
    for change in changes:
        counts[change.action] += 1
    return ", ".join(f"{n} {action}" for action, n in counts.items())
