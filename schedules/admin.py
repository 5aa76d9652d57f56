from django.contrib import admin, messages
from django.utils import timezone

from schedules.models import (
    CalendarFeed,
    Layer,
    LayerMember,
    LayerRestriction,
    Override,
    Schedule,
    feed_recreate,
)


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


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone")
    search_fields = ("name",)
    inlines = [LayerInline, OverrideInline]


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
