"""Admin: the system administrator edits holidays and deadline rules — through the
services, so every edit is validated, traced and (holidays) recomputes the provisional clocks;
numbers, clocks and leases are read-only."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from zhijian.security.roles import is_system_admin

from . import services
from .models import Clock, DeadlineRule, DocumentSequence, Holiday, SweepLease


def _is_system_admin(request) -> bool:
    return is_system_admin(request.user)  # by role (三员分立), not is_staff / is_superuser


class SystemAdminEditable(admin.ModelAdmin):
    """Staff with the view permission may look; only system administrators change."""

    def has_add_permission(self, request):
        return _is_system_admin(request)

    def has_change_permission(self, request, obj=None):
        return _is_system_admin(request)

    def has_delete_permission(self, request, obj=None):
        return _is_system_admin(request)

    def has_view_permission(self, request, obj=None):
        return _is_system_admin(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return _is_system_admin(request) or super().has_module_permission(request)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return _is_system_admin(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return _is_system_admin(request) or super().has_module_permission(request)


@admin.register(Holiday)
class HolidayAdmin(SystemAdminEditable):
    list_display = ["date", "name", "is_off_day", "year", "source", "note"]
    list_filter = ["year", "is_off_day", "source"]
    search_fields = ["name", "note"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        services.holiday_save(obj, actor=request.user, change=change)

    def delete_model(self, request, obj):
        services.holiday_delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.holiday_delete(obj, actor=request.user)


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(SystemAdminEditable):
    list_display = ["name", "code", "version", "amount", "unit", "effective_from", "effective_to", "confirmed"]
    list_filter = ["unit", "kind", "confirmed"]
    search_fields = ["code", "name", "legal_basis"]
    fieldsets = [
        (None, {"fields": ["code", "version", "name", "kind", "amount", "unit", "roll_forward", "window_start", "window_end",
                           "obligor", "remind_days"]}),
        (_("依据与有效期"), {"fields": ["legal_basis", "effective_from", "effective_to", "confirmed", "note"]}),
    ]

    def save_model(self, request, obj, form, change):
        services.rule_save(obj, actor=request.user, change=change)

    def delete_model(self, request, obj):
        services.rule_delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.rule_delete(obj, actor=request.user)


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(ReadOnly):
    list_display = ["bureau", "doc_type", "year", "last_number"]
    list_filter = ["doc_type", "year"]


@admin.register(Clock)
class ClockAdmin(ReadOnly):
    list_display = ["procedure", "object_id", "name", "rule_code", "rule_version", "started_on", "due_on", "provisional", "state",
                    "overdue", "division_code"]
    list_filter = ["state", "provisional", "overdue", "procedure"]
    search_fields = ["procedure", "rule_code", "division_code"]


@admin.register(SweepLease)
class SweepLeaseAdmin(ReadOnly):
    list_display = ["name", "last_status", "last_started_at", "last_finished_at", "next_run_at", "holder", "expires_at", "run_count"]
