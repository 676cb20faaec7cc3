from django.contrib import admin

from .models import Clue, EmergencyOrder, GridCase, RoutingRule, Warning, WarningRun


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["priority", "name", "matter", "industry_prefixes", "keywords", "target", "department_code", "active"]
    list_filter = ["target", "matter", "active"]
    list_editable = ["active"]
    search_fields = ["name", "department_code", "keywords"]


@admin.register(GridCase)
class GridCaseAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "state", "grid", "assignee", "step_due_on"]
    list_filter = ["state", "trigger"]
    search_fields = ["number", "title", "place_name"]
    readonly_fields = [f.name for f in GridCase._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Clue)
class ClueAdmin(admin.ModelAdmin):
    list_display = ["place_name", "kind", "state", "grid", "reporter", "created_at"]
    readonly_fields = [f.name for f in Clue._meta.fields]


@admin.register(Warning)
class WarningAdmin(admin.ModelAdmin):
    list_display = ["item_type", "item_id", "step", "level", "due_on", "recipient", "raised_at", "acknowledged"]
    list_filter = ["item_type", "level", "acknowledged"]
    readonly_fields = [f.name for f in Warning._meta.fields]


admin.site.register(WarningRun)
admin.site.register(EmergencyOrder)
