"""Replace a schedule's layers as a whole (API and configuration files), matched by level."""

from collections.abc import Callable

from django.db import transaction

from schedules.models import Layer, LayerMember, LayerRestriction, Schedule

CALENDAR_SOURCE = ("kind", "calendar_url", "calendar_body")


@transaction.atomic
def schedule_set_layers(
    *,
    schedule: Schedule,
    layers: list[dict],
    check: Callable[[Layer, int], None] | None = None,
) -> None:
    """Make the schedule's layers `layers` (each with a `level`, `members`, `restrictions`).

    A layer already at a level is changed in place, so an imported calendar whose source stays
    keeps its stored copy and events (no gap until the next refresh); layers at other levels
    go. `check(layer, index)` validates each layer before it is saved.
    """
    existing = {layer.level: layer for layer in schedule.layers.all()}
    wanted = {data["level"] for data in layers}
    for level, layer in existing.items():
        if level not in wanted:
            layer.delete()
    for index, data in enumerate(layers):
        _set_layer(schedule, existing.get(data["level"]), dict(data), index, check)


def _set_layer(schedule: Schedule, layer: Layer | None, data: dict, index: int, check) -> None:
    people, restrictions = data.pop("members", []), data.pop("restrictions", [])
    layer = layer or Layer(schedule=schedule)
    before = [getattr(layer, f) for f in CALENDAR_SOURCE]
    for field, value in data.items():
        setattr(layer, field, value)
    if layer.pk and before != [getattr(layer, f) for f in CALENDAR_SOURCE]:
        layer.forget_validators()
        layer.calendar_checked_at = None  # the next refresh (within a minute) reads the new one
    if check is not None:
        check(layer, index)
    layer.save()
    LayerMember.objects.filter(layer=layer).delete()
    LayerMember.objects.bulk_create(
        LayerMember(layer=layer, user=user, position=n) for n, user in enumerate(people)
    )
    LayerRestriction.objects.filter(layer=layer).delete()
    LayerRestriction.objects.bulk_create(
        LayerRestriction(layer=layer, **rule) for rule in restrictions
    )
