from django.contrib import admin

from .models import PushItem, PushReplay, PushRule, SupervisionMatter
from .rules import rules_changed


class RuleInline(admin.TabularInline):
    model = PushRule
    extra = 0
    fields = ("name", "industry_prefixes", "keywords", "licence_types", "active", "version")
    readonly_fields = ("version",)


@admin.register(SupervisionMatter)
class MatterAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "principle", "deadline_rule", "deadline_hours", "active")
    filter_horizontal = ("departments",)
    inlines = [RuleInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        rules_changed()  # compiled indexes rebuild on the next event


@admin.register(PushItem)
class PushItemAdmin(admin.ModelAdmin):
    list_display = ("id", "entity", "department", "matter", "state", "due_at", "created_at")
    list_filter = ("state", "trigger")
    raw_id_fields = ("entity", "rule", "reassigned_to", "claimed_by")
    readonly_fields = [f.name for f in PushItem._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(PushReplay)
class PushReplayAdmin(admin.ModelAdmin):
    list_display = ("id", "dry_run", "total", "actor", "created_at")
    readonly_fields = [f.name for f in PushReplay._meta.fields]
