"""Password policy: complexity, history (no reuse of the last N) and maximum age.

The two validators are listed in AUTH_PASSWORD_VALIDATORS. Django calls every validator's
``password_changed`` after a user with a new password is saved, which is where the history and
the change time are recorded — for every path that sets a password (forms, admin, create_user).
"""
from __future__ import annotations

import string
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import AccountSecurity, PasswordHistory


def _classes(password: str) -> int:
    kinds = [
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() or c in string.punctuation for c in password),
    ]
    return sum(kinds)


class ComplexityValidator:
    """At least ``min_length`` characters, at least ``min_classes`` of upper case, lower case,
    digits and symbols, and not containing the username."""

    def __init__(self, min_length: int = 10, min_classes: int = 3):
        self.min_length = min_length
        self.min_classes = min_classes

    def validate(self, password, user=None):
        errors = []
        if len(password) < self.min_length:
            errors.append(ValidationError(
                ngettext("密码至少需要 %(n)d 个字符。", "密码至少需要 %(n)d 个字符。", self.min_length) % {"n": self.min_length},
                code="password_too_short",
            ))
        if _classes(password) < self.min_classes:
            errors.append(ValidationError(
                _("密码须至少包含大写字母、小写字母、数字、符号中的 %(n)d 类。") % {"n": self.min_classes},
                code="password_too_simple",
            ))
        username = getattr(user, "username", "") if user is not None else ""
        if username and len(username) >= 3 and username.lower() in password.lower():
            errors.append(ValidationError(_("密码不能包含用户名。"), code="password_contains_username"))
        if errors:
            raise ValidationError(errors)

    def get_help_text(self):
        return _("至少 %(n)d 个字符，包含大写字母、小写字母、数字、符号中的至少 %(c)d 类，且不含用户名。") % {
            "n": self.min_length,
            "c": self.min_classes,
        }


class PasswordHistoryValidator:
    """None of the last ``keep`` passwords (the current one included) may be used again."""

    def __init__(self, keep: int = 5):
        self.keep = keep

    def validate(self, password, user=None):
        if user is None or not getattr(user, "pk", None):
            return
        hashes = list(PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True)[: self.keep])
        current = get_user_model().objects.filter(pk=user.pk).values_list("password", flat=True).first()
        if current and current not in hashes:
            hashes.insert(0, current)
        for encoded in hashes[: self.keep]:
            if check_password(password, encoded):
                raise ValidationError(
                    _("不能使用最近 %(n)d 次用过的密码。") % {"n": self.keep}, code="password_reused"
                )

    def password_changed(self, password, user=None):
        if user is None or not getattr(user, "pk", None):
            return
        record_password(user)
        stale = PasswordHistory.objects.filter(user_id=user.pk).values_list("pk", flat=True)[self.keep :]
        PasswordHistory.objects.filter(pk__in=list(stale)).delete()

    def get_help_text(self):
        return _("不能与最近 %(n)d 次用过的密码相同。") % {"n": self.keep}


def record_password(user, keep: int = 5) -> None:
    """Remember the user's current password hash and restart the age clock."""
    latest = PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True).first()
    if user.password and user.has_usable_password() and latest != user.password:
        PasswordHistory.objects.create(user_id=user.pk, password=user.password)
    AccountSecurity.objects.update_or_create(
        user_id=user.pk, defaults={"password_changed_at": timezone.now(), "must_change_password": False}
    )


def password_expired(user) -> bool:
    """True when the user must change the password now: older than PASSWORD_MAX_AGE_DAYS, or
    flagged (e.g. a temporary password set by an administrator)."""
    state = AccountSecurity.objects.filter(user_id=user.pk).first()
    if state is not None and state.must_change_password:
        return True
    max_age = settings.PASSWORD_MAX_AGE_DAYS
    if not max_age:
        return False
    changed = state.password_changed_at if state is not None and state.password_changed_at else user.date_joined
    return changed < timezone.now() - timedelta(days=max_age)


def require_password_change(user) -> None:
    AccountSecurity.objects.update_or_create(user_id=user.pk, defaults={"must_change_password": True})
