import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts import access
from accounts.admin_access import (
    TeamOwnedAdmin,
    TeamOwnedInline,
    may_add_anything,
    may_use_admin,
)
from accounts.models import User
from oncall.timezones import from_local
from schedules import imports
from schedules.models import (
    CALENDAR_KINDS,
    CalendarFeed,
    Layer,
    LayerKind,
    LayerMember,
    LayerRestriction,
    Override,
    Schedule,
    feed_recreate,
    feeds_revoke,
    rotation_people_error,
)
from schedules.overrides import CoverRefused, cover, cover_refusal, cover_remove
from schedules.picture import PICTURE_DAYS, Picture, local_label, schedule_picture
from schedules.resolver import ScheduleData


class CalendarUrlToChangers:
    """Show a private calendar URL (it reads the whole calendar) only to who may change it."""

    @admin.display(description="calendar URL")
    def calendar_host(self, layer: Layer) -> str:
        return imports.url_hint(layer.calendar_url) or "-"

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "calendar_host")

    def hide_url(self, request, obj, names) -> list[str]:
        """Return `names` with the URL swapped for its host unless `request` may change it."""
        if obj is None or self.has_change_permission(request, obj):
            return list(names)  # an add form holds no URL yet
        return ["calendar_host" if n == "calendar_url" else n for n in names]


class LayerInline(CalendarUrlToChangers, TeamOwnedInline, admin.TabularInline):
    """Add layers here; existing ones are summed up above, each fully edited on its own page.

    A table row cannot leave out the fields of the other kind, so a saved rotation would show
    an empty calendar URL box (and a calendar a shift length): the summary shows only its own.
    """

    model = Layer
    extra = 0
    verbose_name_plural = "add layers (people and restrictions are added on the layer's page)"
    fields = (
        "name",
        "level",
        "kind",
        "shift_count",
        "shift_unit",
        "handoff_date",
        "handoff_time",
        "calendar_url",
    )

    def get_fields(self, request, obj=None):
        return self.hide_url(request, obj, super().get_fields(request, obj))

    def get_queryset(self, request):
        return super().get_queryset(request).none()


class ScheduleDateTimeField(forms.SplitDateTimeField):
    """A date and time read as wall-clock time; its form places it in the schedule's zone."""

    zone: str | None = None

    def prepare_value(self, value):
        # Shown in the schedule's zone, not the viewer's: the widget keeps a naive value as is.
        if isinstance(value, dt.datetime) and value.tzinfo is not None and self.zone:
            return value.astimezone(ZoneInfo(self.zone)).replace(tzinfo=None)
        return super().prepare_value(value)

    def compress(self, data_list):
        if not data_list or data_list[0] is None or data_list[1] is None:
            return super().compress(data_list)
        return dt.datetime.combine(*data_list)  # naive: clean() knows the schedule


class OverrideForm(forms.ModelForm):
    """An override whose start and end are read and shown in its schedule's zone."""

    start = ScheduleDateTimeField(widget=AdminSplitDateTime)
    end = ScheduleDateTimeField(widget=AdminSplitDateTime)

    class Meta:
        model = Override
        fields = ["schedule", "user", "replaces", "start", "end"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        zone = self.instance.schedule.time_zone if self.instance.schedule_id else None
        for name in ("start", "end"):
            self.fields[name].zone = zone
            self.fields[name].help_text = f"in {zone}" if zone else "in the schedule's time zone"

    # Who fills the form in (set by the admin classes below): schedules.overrides asks may_cover.
    actor: User | None = None

    def clean(self) -> dict:
        data = super().clean()
        schedule = data.get("schedule") or (
            self.instance.schedule if self.instance.schedule_id else None
        )
        for name in ("start", "end"):
            if isinstance(data.get(name), dt.datetime) and data[name].tzinfo is None:
                data[name] = self.placed(name, data[name], schedule)
        if self.actor is not None and schedule is not None:
            self.check_actor(schedule, data)
        return data

    def check_actor(self, schedule: Schedule, data: dict) -> None:
        """Refuse, in words, what the person filling the form in may not do."""
        old = Override.objects.filter(pk=self.instance.pk).select_related("schedule", "user")
        old = old.first() if self.instance.pk else None
        if data.get("DELETE"):
            if old and not access.may_uncover(self.actor, old.schedule, old.user):
                self.add_error(None, f"You may not remove {old.user}'s override.")
            return
        refusal = old and cover_refusal(self.actor, old.schedule, old.user)
        if data.get("user") is not None:
            refusal = refusal or cover_refusal(self.actor, schedule, data["user"])
        if refusal:
            self.add_error("user" if "user" in self.fields else None, refusal)

    def placed(self, name: str, naive: dt.datetime, schedule: Schedule | None):
        """Return the instant `naive` names in the schedule's zone (the viewer's if unknown)."""
        if schedule is None:
            return timezone.make_aware(naive)
        found = from_local(naive, schedule.time_zone)
        if found is None:
            self.add_error(
                name,
                f"{naive:%H:%M on %d %b} does not exist in {schedule.time_zone} "
                "(the clocks skip it).",
            )
        return found


@admin.display(description="in UTC")
def override_in_utc(override: Override) -> str:
    """Write an override's times in UTC, to check the local times were read as meant."""
    if override.start is None or override.end is None:
        return "-"
    return f"{to_utc(override.start)} to {to_utc(override.end)}"


def to_utc(instant: dt.datetime) -> str:
    return f"{instant.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def overrides_save(request, schedule: Schedule, formset) -> None:
    """Save an inline's overrides through schedules.overrides (its rules and notices).

    Fills in what admin's history message reads from a formset that saved itself.
    """
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.deleted_forms:
        if form.instance.pk:
            formset.deleted_objects.append(form.instance)
            cover_remove(request.user, form.instance)
    for form in formset.forms:
        if form in formset.deleted_forms or not form.has_changed() or not form.cleaned_data:
            continue
        data = form.cleaned_data
        if form.instance.pk:
            formset.changed_objects.append((form.instance, form.changed_data))
        else:
            formset.new_objects.append(form.instance)
        cover(
            request.user,
            schedule,
            data["user"],
            data["start"],
            data["end"],
            data.get("replaces"),
            override=form.instance,
        )


class OverrideInline(TeamOwnedInline, admin.TabularInline):
    model = Override
    form = OverrideForm
    extra = 0
    fields = ("user", "replaces", "start", "end", override_in_utc)
    readonly_fields = (override_in_utc,)
    autocomplete_fields = ["user", "replaces"]

    def get_formset(self, request, obj=None, **kwargs):
        form = type("OverrideForm", (self.form,), {"actor": request.user})
        return super().get_formset(request, obj, form=form, **kwargs)


class MembersFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        error = rotation_people_error(self.instance.kind, len(kept))
        if error:
            raise forms.ValidationError(error)


class LayerMemberInline(TeamOwnedInline, admin.TabularInline):
    model = LayerMember
    formset = MembersFormSet
    extra = 0
    verbose_name_plural = "people, in order"
    autocomplete_fields = ["user"]


class RestrictionInline(TeamOwnedInline, admin.TabularInline):
    model = LayerRestriction
    extra = 0


def picture_of(schedule: Schedule, now: dt.datetime) -> Picture:
    """Return the schedule's picture of the next PICTURE_DAYS days from `now`."""
    # A day of margin either side: the picture starts at local midnight, in any zone.
    data = schedule.snapshot(now - dt.timedelta(days=1), now + dt.timedelta(days=PICTURE_DAYS + 1))
    return schedule_picture(data, now, _names(data))


def _names(data: ScheduleData) -> dict[int, str]:
    """Return the display name of everyone the schedule data names."""
    people = {p for layer in data.layers for p in layer.rotation}
    people |= {e.person for layer in data.layers for e in layer.events or ()}
    people |= {o.person for o in data.overrides}
    return {u.pk: str(u) for u in User.objects.filter(pk__in=people)}


def layer_summary(layer: Layer, zone: ZoneInfo) -> dict:
    """Return what the schedule page says about `layer`: only the fields of its kind."""
    item = {"layer": layer, "url": reverse("admin:schedules_layer_change", args=[layer.pk])}
    if layer.is_calendar:
        item["source"] = imports.url_hint(layer.calendar_url) or "an uploaded .ics file"
        if layer.calendar_refreshed_at:
            item["refreshed"] = local_label(layer.calendar_refreshed_at, zone)
        return item
    item["people"] = [str(m.user) for m in layer.members.all()]
    item["restrictions"] = [str(r) for r in layer.restrictions.all()]
    if layer.handoff_date:
        first = dt.datetime.combine(layer.handoff_date, layer.handoff_time, tzinfo=zone)
        item["handoff"] = f"{first:%a} {first.day} {first:%b %Y %H:%M} {first.tzname()}"
    return item


@admin.register(Schedule)
class ScheduleAdmin(TeamOwnedAdmin):
    list_display = ("name", "team", "time_zone", "handoff_notice")
    list_select_related = ("team",)
    search_fields = ("name",)
    readonly_fields = ("layer_list", "picture")
    inlines = [LayerInline, OverrideInline]

    class Media:
        css = {"all": ["schedules/picture.css"]}

    def get_urls(self):
        picture = self.admin_site.admin_view(self.picture_view)
        own = [path("<path:object_id>/picture/", picture, name="schedules_schedule_picture")]
        return own + super().get_urls()

    def picture_view(self, request, object_id: str):
        """Show the schedule's picture, read-only, to anyone who may view schedules."""
        schedule = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, schedule):
            raise PermissionDenied
        if schedule is None:
            raise Http404("No such schedule.")
        context = {
            **self.admin_site.each_context(request),
            "title": f"{schedule.name}: the next {PICTURE_DAYS} days",
            "schedule": schedule,
            "days": PICTURE_DAYS,
            "picture": picture_of(schedule, timezone.now()),
        }
        return TemplateResponse(request, "admin/schedules/schedule/picture.html", context)

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is Override:
            overrides_save(request, form.instance, formset)
            return
        for layer_form in formset.forms if formset.model is Layer else ():
            if "calendar_url" in layer_form.changed_data:
                layer_form.instance.forget_validators()
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Calendar layers added here are fetched now rather than at the next beat tick.
        now = timezone.now()
        new = form.instance.layers.filter(kind__in=CALENDAR_KINDS, calendar_checked_at=None)
        for layer in new.select_related("schedule"):
            imports.calendar_refresh(layer=layer, now=now)
        self._warn_empty_rotations(request, form.instance)

    def _warn_empty_rotations(self, request, schedule: Schedule) -> None:
        """Warn about rotations without people: a new one cannot get them on this page."""
        empty = schedule.layers.filter(kind=LayerKind.ROTATION, members__isnull=True)
        for layer in empty:
            message = f"Rotation “{layer.name}” pages nobody yet: add people on its page."
            self.message_user(request, message, messages.WARNING)

    @admin.display(description="layers (the highest level that has someone wins)")
    def layer_list(self, schedule: Schedule) -> str:
        if not schedule.pk:
            return "(shown once saved)"
        zone = ZoneInfo(schedule.time_zone)
        layers = schedule.layers.prefetch_related("members__user", "restrictions")
        items = [layer_summary(layer, zone) for layer in layers]
        return render_to_string("schedules/layers.html", {"layers": items})  # already escaped

    @admin.display(description=f"on call, the next {PICTURE_DAYS} days")
    def picture(self, schedule: Schedule) -> str:
        if not schedule.pk:
            return "(shown once saved)"
        link = reverse("admin:schedules_schedule_picture", args=[schedule.pk])
        now = timezone.now()
        return format_html(
            '{}<p><a href="{}">Open this picture on its own page</a></p>',
            render_to_string("schedules/picture.html", {"picture": picture_of(schedule, now)}),
            link,
        )


class LayerForm(forms.ModelForm):
    """A layer, with an optional .ics upload that must parse before anything is stored."""

    calendar_upload = forms.FileField(
        label="upload .ics",
        required=False,
        help_text="For an uploaded-calendar layer: replaces the stored copy.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        zone = self.instance.schedule.time_zone if self.instance.schedule_id else None
        where = f"in {zone}" if zone else "in the schedule's time zone"
        for name in ("handoff_date", "handoff_time"):
            if name in self.fields:
                self.fields[name].help_text = f"The first handoff, {where}."

    class Meta:
        model = Layer
        fields = [
            "schedule",
            "name",
            "level",
            "kind",
            "shift_count",
            "shift_unit",
            "handoff_date",
            "handoff_time",
            "calendar_url",
        ]

    def clean_calendar_upload(self) -> bytes | None:
        upload = self.cleaned_data.get("calendar_upload")
        if upload is None:
            return None
        limit = settings.CALENDAR_IMPORT_MAX_BYTES
        body = upload.read(limit + 1)
        if len(body) > limit:
            raise forms.ValidationError(f"The file is larger than {limit} bytes.")
        try:
            imports.parse(body)
        except imports.CalendarImportError:
            raise forms.ValidationError("This file is not an iCalendar (.ics) file.") from None
        return body

    def clean(self) -> dict:
        cleaned = super().clean()
        stored = self.instance.pk and self.instance.calendar_body
        if cleaned.get("kind") == LayerKind.ICAL_FILE and not (
            stored or cleaned.get("calendar_upload")
        ):
            self.add_error("calendar_upload", "Upload the .ics file of this calendar.")
        return cleaned


@admin.register(Layer)
class LayerAdmin(CalendarUrlToChangers, TeamOwnedAdmin):
    form = LayerForm
    parent_fields = ("schedule",)
    list_display = (
        "__str__",
        "level",
        "kind",
        "shift_count",
        "shift_unit",
        "handoff_date",
        "handoff_time",
        "calendar_refreshed_at",
        "refresh_failing",
    )
    list_select_related = ("schedule",)
    list_filter = ("kind",)
    inlines = [LayerMemberInline, RestrictionInline]
    readonly_fields = (
        "calendar_refreshed_at",
        "calendar_checked_at",
        "calendar_error",
        "unmapped",
        "imported",
    )
    fieldsets = [
        (None, {"fields": ["schedule", "name", "level", "kind"]}),
        ("Rotation", {"fields": ["shift_count", "shift_unit", "handoff_date", "handoff_time"]}),
        (
            "Imported calendar",
            {
                "description": "Events map to people by attendee e-mail, a username or e-mail "
                "in the summary, else the organizer's e-mail. Refreshed every "
                "CALENDAR_REFRESH_SECONDS; a failed refresh keeps the last good copy.",
                "fields": [
                    "calendar_url",
                    "calendar_upload",
                    "calendar_refreshed_at",
                    "calendar_checked_at",
                    "calendar_error",
                    "unmapped",
                    "imported",
                ],
            },
        ),
    ]
    actions = ["refresh_now"]

    def get_fieldsets(self, request, obj=None):
        """Show a saved layer only the fields of its own kind (and the handoff in UTC)."""
        other = None
        if obj is not None:
            other = "Rotation" if obj.is_calendar else "Imported calendar"
        fieldsets = [
            (name, {**options, "fields": self.hide_url(request, obj, options["fields"])})
            for name, options in super().get_fieldsets(request, obj)
            if other is None or name != other
        ]
        if obj is not None and not obj.is_calendar:
            fieldsets[1][1]["fields"] = [*fieldsets[1][1]["fields"], "handoff_in_utc"]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # A saved layer keeps its kind: its people or its calendar are what it is made of.
        fields = (*super().get_readonly_fields(request, obj), "handoff_in_utc")
        return (*fields, "kind") if obj is not None else fields

    def get_inlines(self, request, obj):
        if obj is not None and obj.is_calendar:
            return [RestrictionInline]  # a calendar names its people itself
        return super().get_inlines(request, obj)

    @admin.display(description="first handoff in UTC")
    def handoff_in_utc(self, layer: Layer) -> str:
        if layer.pk is None or layer.handoff_date is None:
            return "-"
        local = dt.datetime.combine(layer.handoff_date, layer.handoff_time)
        instant = from_local(local, layer.schedule.time_zone)
        return to_utc(instant) if instant is not None else "-"

    @admin.display(description="last refresh failed", boolean=True)
    def refresh_failing(self, layer: Layer) -> bool | None:
        return bool(layer.calendar_error) if layer.is_calendar else None

    @admin.display(description="events not mapped to anyone")
    def unmapped(self, layer: Layer) -> str:
        if not layer.calendar_unmapped:
            return "-"
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}</li>", ((n,) for n in layer.calendar_unmapped)),
        )

    @admin.display(description="imported events (next 10)")
    def imported(self, layer: Layer) -> str:
        if not layer.pk or not layer.is_calendar:
            return "-"
        upcoming = layer.imported_events.filter(end__gt=timezone.now()).select_related("user")
        total = layer.imported_events.count()
        rows = format_html_join("", "<li>{}</li>", ((str(e),) for e in upcoming[:10]))
        return format_html("<p>{} in all</p><ul>{}</ul>", total, rows)

    def save_model(self, request, obj: Layer, form, change: bool) -> None:
        upload = form.cleaned_data.get("calendar_upload")
        if upload is not None:
            obj.calendar_body = upload.decode("utf-8", "replace")
        if "calendar_url" in form.changed_data:
            obj.forget_validators()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if form.instance.is_calendar:
            self._refresh(request, [form.instance])

    @admin.action(description="Refresh selected imported calendars now")
    def refresh_now(self, request, queryset) -> None:
        mine = access.configurable(request.user, queryset)
        layers = list(mine.select_related("schedule"))
        if not any(layer.is_calendar for layer in layers):
            message = "No imported calendar selected: rotations have nothing to refresh."
            self.message_user(request, message, messages.WARNING)
        self._refresh(request, layers)

    def _refresh(self, request, layers: list[Layer]) -> None:
        now = timezone.now()
        for layer in layers:
            if not layer.is_calendar:
                continue
            if imports.calendar_refresh(layer=layer, now=now) == "refreshed":
                self.message_user(request, f"{layer}: calendar refreshed.", messages.SUCCESS)
            else:
                layer.refresh_from_db(fields=["calendar_error"])
                error = f"{layer}: refresh failed, kept the last good copy: {layer.calendar_error}"
                self.message_user(request, error, messages.ERROR)


@admin.register(Override)
class OverrideAdmin(TeamOwnedAdmin):
    """Overrides: who may put whom on call is access.may_cover's answer."""

    form = OverrideForm
    parent_fields = ("schedule",)
    list_display = ("schedule", "user", "replaces", "start", "end")
    readonly_fields = (override_in_utc,)
    list_select_related = ("schedule", "user", "replaces")
    list_filter = ("schedule",)
    autocomplete_fields = ["user", "replaces"]

    def has_add_permission(self, request) -> bool:
        """Responders in admin (staff) may cover for themselves; may_cover decides for whom."""
        user = request.user
        if not may_use_admin(user):
            return False
        return may_add_anything(user) or access.coverable(user, Schedule.objects.all()).exists()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "schedule":
            kwargs["queryset"] = access.coverable(request.user, Schedule.objects.all())
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is None:
            return super().has_change_permission(request, obj)
        return access.may_cover(request.user, obj.schedule, obj.user)

    def get_form(self, request, obj=None, **kwargs):
        form = type("OverrideForm", (self.form,), {"actor": request.user})
        return super().get_form(request, obj, form=form, **kwargs)

    def save_model(self, request, obj: Override, form, change: bool) -> None:
        """Save through schedules.overrides: its rules, and the notice to who is replaced."""
        cover(request.user, obj.schedule, obj.user, obj.start, obj.end, obj.replaces, override=obj)

    def delete_model(self, request, obj: Override) -> None:
        try:
            cover_remove(request.user, obj)
        except CoverRefused as error:
            raise PermissionDenied(str(error)) from None

    def delete_queryset(self, request, queryset) -> None:
        for override in queryset.select_related("schedule__team", "user"):
            self.delete_model(request, override)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Feed URLs to paste into calendar apps; revoking makes the URL answer 404.

    A feed URL reads a calendar without signing in: a person's feeds are seen by who manages
    that person, a schedule's by who may configure the schedule, and each feed by its maker.
    """

    list_display = ("__str__", "url", "created_by", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("user", "schedule", "created_by")
    fields = ("user", "schedule", "url", "created_by", "created_at", "revoked_at")
    readonly_fields = ("url", "created_by", "created_at", "revoked_at")
    autocomplete_fields = ["user", "schedule"]
    actions = ["revoke", "recreate"]

    def get_queryset(self, request):
        user = request.user
        schedules = access.configurable(user, Schedule.objects.all())
        mine = (
            Q(user__in=access.manageable_people(user))
            | Q(schedule__in=schedules)
            | Q(created_by=user.pk)
        )
        return super().get_queryset(request).filter(mine)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = access.manageable_people(request.user)
        elif db_field.name == "schedule":
            kwargs["queryset"] = access.readable(request.user, Schedule.objects.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request) -> bool:
        return may_use_admin(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        if obj is None:
            return may_use_admin(request.user)
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request) -> bool:
        return may_use_admin(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    @admin.display(description="Subscribe URL")
    def url(self, feed: CalendarFeed) -> str:
        return feed.url if feed.pk else "(shown once saved)"

    def save_model(self, request, feed: CalendarFeed, form, change) -> None:
        if not change:
            feed.created_by = request.user
        super().save_model(request, feed, form, change)

    @admin.action(description="Revoke selected feeds")
    def revoke(self, request, queryset) -> None:
        done = feeds_revoke(queryset)
        self.message_user(request, f"{done} feed(s) revoked.", messages.SUCCESS)

    @admin.action(description="Revoke and re-create selected feeds (new URLs)")
    def recreate(self, request, queryset) -> None:
        for feed in queryset:
            feed_recreate(feed=feed, by=request.user)
        self.message_user(request, f"{len(queryset)} feed(s) re-created.", messages.WARNING)
