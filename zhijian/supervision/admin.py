from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from .models import Task, TaskRecord, TaskTemplate, TaskUrge, TemplateRun
from .procedure import TASK


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Read-only: state moves only through the services (and their trace entries). The timeline
    is the core step list (``core.WorkflowStep``, procedure ``supervision.task``)."""

    list_display = ["number", "title", "state", "source", "business_line", "division_code", "bureau", "assignee", "due_on", "overdue"]
    list_filter = ["state", "source", "overdue"]
    search_fields = ["number", "title", "entity__credit_code", "entity__name"]
    readonly_fields = ["timeline"]

    @admin.display(description=_("办理过程"))
    def timeline(self, obj):
        return format_html_join(
            "", "<div>{} {} {} → {} {} {}</div>",
            ((s.at.strftime("%Y-%m-%d %H:%M"), s.action_label, s.from_state_label, s.to_state_label, s.actor or "", s.comment)
             for s in TASK.timeline(obj)),
        )

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
