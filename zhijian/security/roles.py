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
