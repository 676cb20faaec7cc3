from django.contrib import admin

from .models import Task, TaskRecord, TaskStep, TaskTemplate, TaskUrge, TemplateRun


class StepInline(admin.TabularInline):
    model = TaskStep
    extra = 0
    readonly_fields = ["action", "from_state", "to_state", "actor", "comment", "at"]
    can_delete = False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Read-only: state moves only through the services (and their trace entries)."""

    list_display = ["number", "title", "state", "source", "business_line", "division_code", "bureau", "assignee", "due_on", "overdue"]
    list_filter = ["state", "source", "overdue"]
    search_fields = ["number", "title", "entity__credit_code", "entity__name"]
    inlines = [StepInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaskTemplate)
class TaskTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "business_lines", "deadline_rule", "division_code", "active"]
    list_filter = ["kind", "active"]


admin.site.register([TemplateRun, TaskRecord, TaskUrge], admin.ModelAdmin)
