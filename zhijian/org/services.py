"""Writes to people: accounts, role grants and jurisdictions (三员分立).

Every write is one atomic function that checks the acting administrator's power
(``zhijian.security.roles``), writes an audit entry (``security.audit``) and a trace entry
(``core.trace``). ``actor=None`` is the installer's console or the demo builder. The admin site
calls these functions; it never saves a person by itself.

Personal data (ID number, phone) enters the trace masked: the ledger shows that it changed, not
what it is.
"""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from zhijian.core import trace
from zhijian.core.errors import ApplicationError
from zhijian.security import audit
from zhijian.security.choices import AuditEvent
from zhijian.security.masking import mask_id_number, mask_phone
from zhijian.security.passwords import require_password_change
from zhijian.security.roles import ADMIN_ROLES, check_separation, is_security_admin, is_system_admin
from zhijian.security.services import Denied

from .choices import RoleCode
from .models import Role, User

# What a system administrator edits on an account (grants are the security administrator's).
ACCOUNT_FIELDS = ("username", "full_name", "enforcement_cert_no", "phone", "id_number", "bureau", "department",
                  "scope_division", "home_division", "is_active")
_MASKED = {"phone": mask_phone, "id_number": mask_id_number}
_FOREIGN = {"bureau", "department"}


def account_snapshot(user: User) -> dict:
    """The account as the trace records it (personal data masked, units by id)."""
    out = {}
    for f in ACCOUNT_FIELDS:
        value = getattr(user, f"{f}_id") if f in _FOREIGN else getattr(user, f)
        out[f] = _MASKED[f](value) if f in _MASKED else value
    return out


def _changed(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _by(actor) -> str:
    return actor.get_username() if actor is not None else ""


def _check_system_admin(actor) -> None:
    if actor is not None and not is_system_admin(actor):
        raise Denied(_("只有系统管理员可以管理账户。"))


def _forget(user: User, *attrs: str) -> None:
    for attr in attrs:
        user.__dict__.pop(attr, None)


@transaction.atomic
def user_create(*, actor, user: User) -> User:
    """Save a new account a system administrator filled in (its password already hashed by the
    form). An administrator-set password is temporary: it must be changed at first sign-in."""
    _check_system_admin(actor)
    if user.pk:
        raise ApplicationError(_("账户已存在"), code="duplicate")
    user.full_clean(exclude=["password"])
    user.save()
    if actor is not None:
        require_password_change(user)
    after = account_snapshot(user)
    audit.record(AuditEvent.ADMIN_ACTION, user=actor, username=_by(actor), obj=user, detail={"action": "account_create"})
    trace.record(actor=actor, action="org.user_created", obj=user, after=after)
    return user


@transaction.atomic
def user_update(*, actor, user: User, **changes) -> User:
    """Change account fields (``ACCOUNT_FIELDS``) of ``user``; a system administrator's power."""
    _check_system_admin(actor)
    unknown = set(changes) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ApplicationError(_("不能在此修改这些字段：%(f)s") % {"f": ", ".join(sorted(unknown))}, code="bad_field")
    locked = User.objects.select_for_update().get(pk=user.pk)
    before = account_snapshot(locked)
    for field, value in changes.items():
        setattr(locked, field, value)
    locked.full_clean(exclude=["password"])
    changed = _changed(before, account_snapshot(locked))
    if not changed:
        return locked
    fields = [f for f in ACCOUNT_FIELDS if f in changes]
    locked.save(update_fields=[*fields, *(["scope_division"] if "scope_division" not in fields else [])])
    _forget(locked, "_jurisdiction_cache")
    audit.record(AuditEvent.ADMIN_ACTION, user=actor, username=_by(actor), obj=locked,
                 detail={"action": "account_update", "fields": sorted(changed)})
    trace.record(actor=actor, action="org.user_updated", obj=locked, before=before, after=account_snapshot(locked))
    return locked


def _role_codes(roles) -> set[str]:
    codes = set()
    for r in roles:
        code = r.code if isinstance(r, Role) else str(r)
        if code not in RoleCode.values:
            raise ApplicationError(_("未知角色：%(code)s") % {"code": code}, code="unknown_role")
        codes.add(code)
    return codes


@transaction.atomic
def user_roles_assign(*, actor, user: User, roles) -> User:
    """Set ``user``'s roles. Only a security administrator grants roles (``actor=None`` is the
    installer's console), never to themselves; the three administrator roles stay separate.
    Holders of an administrator role get admin-site access (is_staff); nobody else does."""
    if actor is not None:
        if not is_security_admin(actor):
            raise Denied(_("只有安全管理员可以分配角色。"))
        if actor.pk == user.pk:
            raise Denied(_("不能修改自己的角色。"))
    codes = _role_codes(roles)
    check_separation(codes)
    before = sorted(user.role_codes()) if user.pk else []
    for code in codes:
        Role.objects.get_or_create(code=code)
    user.roles.set(Role.objects.filter(code__in=codes))
    is_admin = bool(codes & ADMIN_ROLES)
    if user.is_staff != is_admin:
        user.is_staff = is_admin
        user.save(update_fields=["is_staff"])
    _forget(user, "_role_cache", "_jurisdiction_cache")
    after = sorted(codes)
    audit.record(AuditEvent.ROLE_CHANGE, user=actor, username=_by(actor), obj=user, detail={"before": before, "after": after})
    trace.record(actor=actor, action="org.user_roles_assigned", obj=user, before={"roles": before}, after={"roles": after})
    return user


@transaction.atomic
def user_jurisdiction_set(*, actor, user: User, own_jurisdiction: str) -> User:
    """A security administrator narrows a person's jurisdiction (division-code prefixes)."""
    if actor is not None and not is_security_admin(actor):
        raise Denied(_("只有安全管理员可以授予辖区。"))
    prefixes = [p.strip() for p in (own_jurisdiction or "").split(",") if p.strip()]
    if any(not p.isdigit() for p in prefixes):
        raise ApplicationError(_("辖区只能是数字区划代码前缀。"), code="invalid")
    if prefixes and user.has_role(*ADMIN_ROLES):
        raise ApplicationError(_("三员分立：管理员账户不能被授予业务辖区。"), code="separation_of_duties")
    before = user.own_jurisdiction
    user.own_jurisdiction = ",".join(prefixes)
    user.save(update_fields=["own_jurisdiction"])
    _forget(user, "_jurisdiction_cache")
    audit.record(AuditEvent.JURISDICTION_CHANGE, user=actor, username=_by(actor), obj=user,
                 detail={"before": before, "after": user.own_jurisdiction})
    trace.record(actor=actor, action="org.user_jurisdiction_set", obj=user, before={"own_jurisdiction": before},
                 after={"own_jurisdiction": user.own_jurisdiction})
    return user
