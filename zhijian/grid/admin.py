from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from zhijian.coordination.admin import industry_names
from zhijian.org.models import Department

from . import routing
from .models import EmergencyOrder, GridCase, RoutingRule, Warning, WarningRun


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """Routing rules are legally relevant (谁许可，谁监管): every save and delete here, including the
    list's "active" column and the bulk delete action, goes through ``routing.rule_save`` /
    ``routing.rule_delete``, which trace what the rule said before and after."""

    list_display = ["priority", "name", "matter", "industries", "keywords", "target", "department_name", "active"]
    list_filter = ["target", "matter", "active"]
    list_editable = ["active"]
    search_fields = ["name", "department_code", "keywords"]

    @admin.display(description=_("行业"))
    def industries(self, obj):
        return industry_names(obj.industry_list()) or _("任何行业")

    @admin.display(description=_("许可部门"))
    def department_name(self, obj):
        if not obj.department_code:
            return ""
        names = list(Department.objects.filter(code__startswith=obj.department_code).values_list("name", flat=True)[:3])
        return "、".join(names) or obj.department_code

    def save_model(self, request, obj, form, change):
        routing.rule_save(actor=request.user, rule=obj)

    def delete_model(self, request, obj):
        routing.rule_delete(actor=request.user, rule=obj)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            routing.rule_delete(actor=request.user, rule=rule)


@admin.register(GridCase)
class GridCaseAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "state", "grid", "assignee", "step_due_on"]
    list_filter = ["state", "trigger"]
    search_fields = ["number", "title", "place_name"]
    readonly_fields = [f.name for f in GridCase._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Warning)
class WarningAdmin(admin.ModelAdmin):
    list_display = ["item_type", "item_id", "step", "level", "due_on", "recipient", "raised_at", "acknowledged"]
    list_filter = ["item_type", "level", "acknowledged"]
    readonly_fields = [f.name for f in Warning._meta.fields]


admin.site.register(WarningRun)
admin.site.register(EmergencyOrder)
