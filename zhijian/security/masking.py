"""Personal-data masking (complainants, reporters, ID numbers, phones).

Who may see personal data unmasked is decided in one place, ``can_see_personal_data``: the roles
in ``settings.PERSONAL_DATA_ROLES`` (role codes as data: security sits below org and does not know
its role list), and the handler of the record in question. The three administrators never do
(三员分立: they see no business data).
"""
from __future__ import annotations

from django.conf import settings

from .roles import ADMIN_ROLES

# Attributes naming a record's own handler(s), checked in this order.
HANDLER_ATTRS = ("handler_id", "handled_by_id", "assignee_id", "officer_id")

MASK = "*"


def mask_id_number(value: str | None) -> str:
    """110101199003071234 → 110101********1234 (region kept, birth date hidden)."""
    if not value:
        return ""
    value = str(value).strip()
    if len(value) <= 10:
        return value[:2] + MASK * max(len(value) - 2, 0)
    return value[:6] + MASK * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """13812345678 → 138****5678; other numbers keep at most their first 3 and last 4 digits."""
    if not value:
        return ""
    value = str(value).strip()
    if len(value) >= 11:
        return value[:-8] + MASK * 4 + value[-4:]
    if len(value) > 4:
        return MASK * (len(value) - 4) + value[-4:]
    return MASK * len(value)


def mask_name(value: str | None) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; Latin names keep the first letter of the first word."""
    if not value:
        return ""
    value = str(value).strip()
    return value[0] + MASK * max(len(value) - 1, 1)


MASKERS = {"id": mask_id_number, "phone": mask_phone, "name": mask_name}


def mask(value, kind: str) -> str:
    try:
        return MASKERS[kind](value)
    except KeyError:
        raise ValueError(f"unknown mask kind {kind!r}; use one of {sorted(MASKERS)}") from None


def can_see_personal_data(user, record=None) -> bool:
    """True when ``user`` may see personal data unmasked, in general or in ``record``."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.has_role(*ADMIN_ROLES):
        return False
    if user.has_role(*settings.PERSONAL_DATA_ROLES):
        return True
    if record is not None:
        for attr in HANDLER_ATTRS:
            handler_id = getattr(record, attr, None)
            if handler_id is not None:
                return handler_id == user.pk
    return False


def shown(value, kind: str, user, record=None) -> str:
    """The value as ``user`` may see it."""
    if value in (None, ""):
        return ""
    return str(value) if can_see_personal_data(user, record) else mask(value, kind)
