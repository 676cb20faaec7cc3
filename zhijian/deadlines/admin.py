"""Admin: a system administrator (or superuser) edits holidays and deadline rules; numbers and leases are read-only."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from zhijian.org.choices import RoleCode

from .models import DeadlineRule, DocumentSequence, Holiday, SweepLease


def _is_system_admin(request) -> bool:
    user = request.user
    return user.is_active and (user.is_superuser or (user.is_staff and user.has_role(RoleCode.SYSTEM_ADMIN)))


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


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(SystemAdminEditable):
    list_display = ["code", "version", "name", "amount", "unit", "effective_from", "effective_to", "confirmed"]
    list_filter = ["unit", "kind", "confirmed"]
    search_fields = ["code", "name", "legal_basis"]
    fieldsets = [
        (None, {"fields": ["code", "version", "name", "kind", "amount", "unit", "roll_forward", "window_start", "window_end"]}),
        (_("依据与有效期"), {"fields": ["legal_basis", "effective_from", "effective_to", "confirmed", "note"]}),
    ]


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(ReadOnly):
    list_display = ["bureau", "doc_type", "year", "last_number"]
    list_filter = ["doc_type", "year"]


@admin.register(SweepLease)
class SweepLeaseAdmin(ReadOnly):
    list_display = ["name", "last_status", "last_started_at", "last_finished_at", "next_run_at", "holder", "expires_at", "run_count"]
