from django.contrib import admin

from escalation.models import EscalationPolicy, Tier


class TierInline(admin.StackedInline):
    model = Tier
    extra = 0
    filter_horizontal = ("users", "schedules")


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "repeat")
    search_fields = ("name",)
    inlines = [TierInline]
