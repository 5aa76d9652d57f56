from django.contrib import admin

from schedules.models import Layer, LayerMember, Schedule


class LayerInline(admin.TabularInline):
    model = Layer
    extra = 0
    show_change_link = True


class LayerMemberInline(admin.TabularInline):
    model = LayerMember
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone")
    search_fields = ("name",)
    inlines = [LayerInline]


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ("__str__", "level", "shift_count", "shift_unit", "handoff_date", "handoff_time")
    list_select_related = ("schedule",)
    inlines = [LayerMemberInline]
