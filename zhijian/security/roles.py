"""Who holds which of the three administrator powers (三员分立), in one place.

Security sits below org in the layers: it knows people only as ``settings.AUTH_USER_MODEL``
(``user.has_role(code)``) and role codes only as data. The three administrator role codes are
security's own vocabulary (``org.choices.RoleCode`` takes its administrator members from here);
the business roles that see personal data unmasked are a setting (``PERSONAL_DATA_ROLES``,
see ``masking``). ``org.checks`` verifies at start-up that every code named here is a role.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from zhijian.core.errors import ApplicationError

SYSTEM_ADMIN = "system_admin"
SECURITY_ADMIN = "security_admin"
AUDIT_ADMIN = "audit_admin"
# 三员分立: these three may never be held together, nor with a business role.
ADMIN_ROLES = frozenset({SYSTEM_ADMIN, SECURITY_ADMIN, AUDIT_ADMIN})


def _has(user, code) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_role(code))


def is_system_admin(user) -> bool:
    """Accounts, bureaus, departments, configuration; issues integrator tokens."""
    return _has(user, SYSTEM_ADMIN)


def is_security_admin(user) -> bool:
    """Roles, jurisdictions, unlocking accounts, OTP devices."""
    return _has(user, SECURITY_ADMIN)


def is_audit_admin(user) -> bool:
    """Reads (and exports) the audit log; nothing else."""
    return _has(user, AUDIT_ADMIN)


def separation_violation(codes: Iterable[str]) -> str | None:
    """三员分立 as a rule over role codes: the reason a set of roles may not be held together, or None."""
    codes = {str(c) for c in codes}
    admin = codes & ADMIN_ROLES
    if len(admin) > 1:
        return _("三员分立：系统管理员、安全管理员、安全审计员不能由同一人兼任。")
    if admin and codes - admin:
        return _("三员分立：管理员不能兼任业务角色。")
    return None


def check_separation(codes: Iterable[str]) -> None:
    """Raise ``ApplicationError`` (code ``separation_of_duties``) when ``codes`` break 三员分立."""
    reason = separation_violation(codes)
    if reason:
        raise ApplicationError(reason, code="separation_of_duties")


def may_administer(user) -> bool:
    """Who enters the admin site (/admin/): the three administrators, each seeing only the screens
    of their own power. Business roles never do. A Django superuser with staff status (made by hand
    with ``createsuperuser``, which the platform never does; ``zhijian createadmin`` makes a
    role-based system administrator) also enters, as Django has it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.has_role(*ADMIN_ROLES) or (user.is_superuser and user.is_staff))


# What each administrator may do with which configuration tables in the admin site, as data
# ("app_label.model" → actions). Models not named here are decided by their own ModelAdmin
# (``has_*_permission`` by role) or not shown at all: business records (tasks, inspections, clues,
# cases) are never administrators' to read, their jurisdiction is empty.
ALL = ("view", "add", "change", "delete")
ADMIN_MODEL_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    SYSTEM_ADMIN: {
        # edited through the apps' services (each ModelAdmin saves through them, traced)
        "deadlines.holiday": ALL,
        "deadlines.deadlinerule": ALL,
        "coordination.supervisionmatter": ("view", "add", "change"),
        "coordination.pushrule": ("view", "add", "change"),
        "grid.routingrule": ALL,
        "inspections.checklistversion": ("view", "add"),  # "add" = publish a new version
        # read-only reference and operations
        "inspections.checkitem": ("view",),
        "inspections.businessline": ("view",),
        "inspections.law": ("view",),
        "deadlines.documentsequence": ("view",),
        "deadlines.sweeplease": ("view",),
        "coordination.pushreplay": ("view",),
        "core.webhooksubscription": ("view",),
        "core.event": ("view",),
        "core.delivery": ("view",),
        "core.signingkey": ("view",),
    },
    SECURITY_ADMIN: {},
    AUDIT_ADMIN: {},
}


def admin_model_permission(user, perm: str) -> bool:
    """``perm`` is Django's "app_label.action_model" (``deadlines.change_holiday``)."""
    if not may_administer(user) or "." not in perm:
        return False
    app_label, codename = perm.split(".", 1)
    action, _sep, model = codename.partition("_")
    label = f"{app_label}.{model}"
    return any(action in ADMIN_MODEL_PERMISSIONS.get(code, {}).get(label, ()) for code in user.role_codes() if code in ADMIN_ROLES)


class AdministratorPermissionBackend:
    """Answers Django's ``user.has_perm`` for the admin site from ``ADMIN_MODEL_PERMISSIONS``;
    authenticates nobody (sign-in stays with ``services.login_authenticate``)."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        return admin_model_permission(user_obj, perm)

    def has_module_perms(self, user_obj, app_label):
        if not may_administer(user_obj):
            return False
        return any(label.startswith(app_label + ".") for code in user_obj.role_codes() if code in ADMIN_ROLES
                   for label in ADMIN_MODEL_PERMISSIONS.get(code, {}))
