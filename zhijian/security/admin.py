"""Admin for the audit log (audit administrator, read-only for everyone), login locks and OTP
devices (security administrator), API tokens (security and system administrators see and revoke
them; only the key's first 8 characters are kept to tell them apart)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .models import ApiToken, AuditLog, LoginThrottle, OTPDevice
from .roles import is_audit_admin, is_security_admin, is_system_admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """Nobody may add, change or delete audit entries here (the database refuses it too)."""

    list_display = ["created_at", "username", "ip", "event", "outcome", "object_repr"]
    list_filter = ["event", "outcome", "created_at"]
    list_display_links = None  # one entry is read on the audit page (security:audit-list), in words
    search_fields = ["username", "ip", "object_repr", "object_id"]
    date_hierarchy = "created_at"
    actions = None

    def has_module_permission(self, request):
        return is_audit_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_audit_admin(request.user)


@admin.register(LoginThrottle)
class LoginThrottleAdmin(ReadOnlyAdmin):
    list_display = ["username", "failures", "last_failure_at", "locked_until", "is_locked"]
    search_fields = ["username"]
    actions = ["unlock"]

    def has_module_permission(self, request):
        return is_security_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_security_admin(request.user)

    @admin.action(description=_("解锁所选账户"))
    def unlock(self, request, queryset):
        n = sum(services.unlock_account(actor=request.user, username=t.username) for t in queryset)
        self.message_user(request, _("已解锁 %(n)d 个账户。") % {"n": n}, messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        return actions if is_security_admin(request.user) else {}


if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(OTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    """The security administrator resets (deletes) a lost device; the person enrols again."""

    list_display = ["owner", "device_name", "is_confirmed", "last_used"]
    search_fields = ["user__username"]
    # django-otp's own labels and help texts are English: show the fields through Chinese columns.
    fields = ["owner", "device_name", "is_confirmed", "last_used"]
    readonly_fields = fields

    @admin.display(description=_("账户"), ordering="user__username")
    def owner(self, obj):
        return obj.user

    @admin.display(description=_("设备名称"))
    def device_name(self, obj):
        return obj.name

    @admin.display(description=_("已绑定"), boolean=True)
    def is_confirmed(self, obj):
        return obj.confirmed

    @admin.display(description=_("最近使用"))
    def last_used(self, obj):
        return obj.last_used_at or "—"

    def has_module_permission(self, request):
        return is_security_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_security_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_security_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TokenStateFilter(admin.SimpleListFilter):
    title = _("状态")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", _("有效")), ("ended", _("已撤销或已过期"))]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.live()
        if self.value() == "ended":
            return queryset.exclude(pk__in=queryset.live().values("pk"))
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Integrator API tokens: issued by the system administrator (user list action, ``zhijian
    token``), seen and revoked here by the security administrator (and the system administrator).
    The key is never shown: only its hash is stored."""

    list_display = ["key_prefix", "user", "integrator", "scope", "created_at", "expires_at", "last_used_at", "is_live",
                    "revoked_at", "revoked_reason"]
    list_filter = [TokenStateFilter, "scope", "revoked_reason"]
    search_fields = ["user__username", "integrator", "key_prefix"]
    list_select_related = ["user"]
    fields = ["key_prefix", "user", "integrator", "scope", "created_at", "created_by", "expires_at", "last_used_at",
              "revoked_at", "revoked_reason", "replaced_by"]
    readonly_fields = fields
    actions = ["revoke"]

    @staticmethod
    def _may_see(request) -> bool:
        return is_security_admin(request.user) or is_system_admin(request.user)

    def has_module_permission(self, request):
        return self._may_see(request)

    def has_view_permission(self, request, obj=None):
        return self._may_see(request)

    @admin.action(description=_("撤销所选接口令牌"))
    def revoke(self, request, queryset):
        n = sum(services.revoke_token(actor=request.user, token=t) for t in queryset)
        self.message_user(request, _("已撤销 %(n)d 个接口令牌。") % {"n": n}, messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        return actions if self._may_see(request) else {}
