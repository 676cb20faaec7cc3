"""Who holds which of the three administrator powers (三员分立), in one place."""
from __future__ import annotations

from zhijian.org.choices import ADMIN_ROLES, RoleCode


def _has(user, code) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_role(code))


def is_system_admin(user) -> bool:
    """Accounts, bureaus, departments, configuration; issues integrator tokens."""
    return _has(user, RoleCode.SYSTEM_ADMIN)


def is_security_admin(user) -> bool:
    """Roles, jurisdictions, unlocking accounts, OTP devices."""
    return _has(user, RoleCode.SECURITY_ADMIN)


def is_audit_admin(user) -> bool:
    """Reads (and exports) the audit log; nothing else."""
    return _has(user, RoleCode.AUDIT_ADMIN)


def is_any_admin(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_role(*ADMIN_ROLES))
