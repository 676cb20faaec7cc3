"""Admin for bureaus, departments, people and roles, honouring 三员分立.

Powers are decided by role (zhijian.security.roles), not by Django's per-model permissions, and not
by ``is_superuser``: nobody holds all three powers.
- system administrator: accounts (create, edit, deactivate, reset passwords), bureaus,
  departments; issues integrator API tokens. Cannot grant roles or jurisdictions.
- security administrator: grants roles and jurisdictions (through ``services.user_roles_assign``
  and ``services.user_jurisdiction_set``), unlocks accounts, resets OTP devices. Cannot edit
  accounts otherwise.
- audit administrator: nothing here; reads the audit log.

Accounts are created and changed through ``zhijian.org.services`` (audit entry and trace entry),
never by the admin's own ``save()``.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from zhijian.core.admin import coded
from zhijian.core.errors import ApplicationError
from zhijian.security import audit
from zhijian.security import services as security_services
from zhijian.security.choices import AuditEvent
from zhijian.security.passwords import require_password_change
from zhijian.security.roles import check_separation, is_security_admin, is_system_admin

from . import services
from .models import Bureau, Department, Role, User

# The site itself (who enters, sign-in through the platform's pages): admin_site.ZhijianAdminSite.


class SystemAdminOnly(admin.ModelAdmin):
    """Full management for the system administrator; read-only for the security administrator."""

    def has_module_permission(self, request):
        return is_system_admin(request.user) or is_security_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_system_admin(request.user) or is_security_admin(request.user)

    def has_add_permission(self, request):
        return is_system_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_system_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_system_admin(request.user)


@admin.register(Bureau)
class BureauAdmin(SystemAdminOnly):
    list_display = ["name", "short_name", "level", coded("division_code", _("所在区划")), coded("jurisdiction", _("辖区"))]
    list_filter = ["level"]
    search_fields = ["name", "division_code"]


@admin.register(Department)
class DepartmentAdmin(SystemAdminOnly):
    list_display = ["name", coded("division_code", _("所属区划")), coded("jurisdiction", _("辖区"))]
    search_fields = ["name", "code"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    """Roles are a fixed list (RoleCode); shown for reference to those who grant or audit them."""

    list_display = ["__str__"]

    def has_module_permission(self, request):
        return is_security_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_security_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AccountCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "full_name", "bureau", "department")


class AccountChangeForm(forms.ModelForm):
    """The change form; role and jurisdiction grants are checked here so errors show on the form."""

    actor = None

    class Meta:
        model = User
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if "roles" in self.changed_data and "roles" in cleaned:
            try:
                if self.actor is not None and self.instance.pk == self.actor.pk:
                    raise ApplicationError(_("不能修改自己的角色。"))
                check_separation({r.code for r in cleaned["roles"]})
            except ApplicationError as exc:
                raise ValidationError({"roles": exc.message}) from None
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = AccountChangeForm
    add_form = AccountCreationForm
    add_form_template = "org/user_add_form.html"  # Django's own note is English in zh-hans
    list_display = ["username", "full_name", "bureau", "department", "role_list", "is_active", "last_login"]
    list_filter = ["is_active", "roles", "bureau"]
    search_fields = ["username", "full_name"]
    ordering = ["username"]
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    fieldsets = (
        (None, {"fields": ("username", "password_reset")}),
        (_("个人信息"), {"fields": ("full_name", "enforcement_cert_no", "phone", "id_number")}),
        (_("单位"), {"fields": ("bureau", "department", "scope_division", "home_division")}),
        (_("角色与辖区（安全管理员）"), {"fields": ("roles", "own_jurisdiction")}),
        (_("状态"), {"fields": ("is_active", "is_staff", "last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "full_name", "bureau", "department", "password1", "password2")}),)
    ACCOUNT_FIELDS = ("username", "full_name", "enforcement_cert_no", "phone", "id_number", "bureau", "department",
                      "scope_division", "home_division", "is_active")
    GRANT_FIELDS = ("roles", "own_jurisdiction")
    actions = ["unlock_accounts", "reset_otp_devices", "issue_api_token"]

    @admin.display(description=_("密码"))
    def password_reset(self, obj):
        """Never the hash: the system administrator sets a temporary one on the reset page."""
        if obj is None or not obj.pk:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:auth_user_password_change", args=[obj.pk]),
                           _("重置密码（临时密码，首次登录须修改）"))

    @admin.display(description=_("角色"))
    def role_list(self, obj):
        return "、".join(str(r) for r in obj.roles.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("roles").select_related("bureau", "department")

    # --- powers -------------------------------------------------------------------------------
    def has_module_permission(self, request):
        return is_system_admin(request.user) or is_security_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_system_admin(request.user) or is_security_admin(request.user)

    def has_add_permission(self, request):
        return is_system_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_system_admin(request.user) or is_security_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are deactivated, never deleted: the audit log refers to them

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        all_fields = [f for _name, opts in self.fieldsets for f in opts["fields"]]
        if is_security_admin(request.user):
            editable = set(self.GRANT_FIELDS)
        elif is_system_admin(request.user):
            editable = set(self.ACCOUNT_FIELDS)
        else:
            editable = set()
        return [f for f in all_fields if f not in editable]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            form = type(form.__name__, (form,), {"actor": request.user})
        return form

    def get_actions(self, request):
        actions = super().get_actions(request)
        allowed = set()
        if is_security_admin(request.user):
            allowed |= {"unlock_accounts", "reset_otp_devices"}
        if is_system_admin(request.user):
            allowed |= {"issue_api_token"}
        return {name: a for name, a in actions.items() if name in allowed}

    # --- saving through the services ----------------------------------------------------------
    def save_model(self, request, obj, form, change):
        if not change:
            services.user_create(actor=request.user, user=obj)  # the password is temporary
            return
        if is_security_admin(request.user):
            if "own_jurisdiction" in form.changed_data:
                services.user_jurisdiction_set(actor=request.user, user=obj, own_jurisdiction=form.cleaned_data["own_jurisdiction"])
            return
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f in services.ACCOUNT_FIELDS}
        if changes:
            services.user_update(actor=request.user, user=obj, **changes)

    def save_related(self, request, form, formsets, change):
        if "roles" in form.fields and "roles" in form.changed_data:
            services.user_roles_assign(actor=request.user, user=form.instance, roles=form.cleaned_data["roles"])
            for formset in formsets:
                self.save_formset(request, form, formset, change=change)
            return
        super().save_related(request, form, formsets, change)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            require_password_change(User.objects.get(pk=id))
        return response

    # --- actions --------------------------------------------------------------------------------
    @admin.action(description=_("解锁所选账户"))
    def unlock_accounts(self, request, queryset):
        n = sum(security_services.unlock_account(actor=request.user, username=u.username) for u in queryset)
        self.message_user(request, _("已解锁 %(n)d 个账户。") % {"n": n}, messages.SUCCESS)

    @admin.action(description=_("重置所选账户的动态口令（下次登录重新绑定）"))
    def reset_otp_devices(self, request, queryset):
        devices = TOTPDevice.objects.filter(user__in=queryset)
        for device in devices:
            audit.record(AuditEvent.ADMIN_ACTION, user=request.user, obj=device, detail={"action": "otp_reset", "for": device.user.username})
        n, _detail = devices.delete()
        self.message_user(request, _("已重置 %(n)d 个动态口令设备。") % {"n": n}, messages.SUCCESS)

    @admin.action(description=_("签发接口令牌（对接系统账户）"))
    def issue_api_token(self, request, queryset):
        for user in queryset:
            try:
                key = security_services.issue_token(actor=request.user, user=user)
            except ApplicationError as exc:
                self.message_user(request, f"{user.username}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, _("%(user)s 的接口令牌：%(key)s") % {"user": user.username, "key": key}, messages.SUCCESS)
