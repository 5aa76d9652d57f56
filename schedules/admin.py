from django.contrib import admin

from schedules.models import Layer, LayerMember, LayerRestriction, Override, Schedule


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
