import datetime as dt
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.models import User
from schedules.models import (
    CalendarFeed,
    Layer,
    LayerMember,
    LayerRestriction,
    Override,
    Schedule,
    feed_recreate,
)
from schedules.resolver import shifts


class LayerInline(admin.TabularInline):
    model = Layer
    extra = 0
    show_change_link = True


class OverrideInline(admin.TabularInline):
    model = Override
    extra = 0
    fields = ("user", "replaces", "start", "end")
    autocomplete_fields = ["user", "replaces"]


class LayerMemberInline(admin.TabularInline):
    model = LayerMember
    extra = 0
    autocomplete_fields = ["user"]


class RestrictionInline(admin.TabularInline):
    model = LayerRestriction
    extra = 0


PREVIEW_DAYS = 14


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone")
    search_fields = ("name",)
    readonly_fields = ("preview",)
    inlines = [LayerInline, OverrideInline]

    @admin.display(description="On call now and the next 14 days")
    def preview(self, schedule: Schedule) -> str:
        if not schedule.pk:
            return "(shown once saved)"
        now = timezone.now()
        end = now + dt.timedelta(days=PREVIEW_DAYS)
        found = shifts(schedule.snapshot(now, end), now, end)
        names = {u.pk: str(u) for u in User.objects.filter(pk__in={s.person for s in found})}
        zone = ZoneInfo(schedule.time_zone)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    names.get(s.person, s.person),
                    f"{s.start.astimezone(zone):%a %d %b %H:%M}",
                    f"{s.end.astimezone(zone):%a %d %b %H:%M}",
                    s.source,
                )
                for s in found
            ),
        )
        current = names.get(found[0].person) if found and found[0].start <= now else "nobody"
        return format_html(
            "<p><strong>On call now: {}</strong> (times in {})</p><table><tr><th>who</th>"
            "<th>from</th><th>until</th><th>from layer</th></tr>{}</table>",
            current,
            schedule.time_zone,
            rows,
        )


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ("__str__", "level", "shift_count", "shift_unit", "handoff_date", "handoff_time")
    list_select_related = ("schedule",)
    inlines = [LayerMemberInline, RestrictionInline]


@admin.register(Override)
class OverrideAdmin(admin.ModelAdmin):
    list_display = ("schedule", "user", "replaces", "start", "end")
    list_select_related = ("schedule", "user", "replaces")
    list_filter = ("schedule",)
    autocomplete_fields = ["user", "replaces"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Feed URLs to paste into calendar apps; revoking makes the URL answer 404."""

    list_display = ("__str__", "url", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("user", "schedule")
    fields = ("user", "schedule", "url", "created_at", "revoked_at")
    readonly_fields = ("url", "created_at", "revoked_at")
    autocomplete_fields = ["user", "schedule"]
    actions = ["revoke", "recreate"]

    @admin.display(description="Subscribe URL")
    def url(self, feed: CalendarFeed) -> str:
        return feed.url if feed.pk else "(shown once saved)"

    @admin.action(description="Revoke selected feeds")
    def revoke(self, request, queryset) -> None:
        done = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{done} feed(s) revoked.", messages.SUCCESS)

    @admin.action(description="Revoke and re-create selected feeds (new URLs)")
    def recreate(self, request, queryset) -> None:
        for feed in queryset:
            feed_recreate(feed=feed)
        self.message_user(request, f"{len(queryset)} feed(s) re-created.", messages.WARNING)
