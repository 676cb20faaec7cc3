"""Password policy: complexity, common passwords, history (no reuse of the last N) and maximum age.

Every validator in AUTH_PASSWORD_VALIDATORS is one of this module's, so every message a person
reads is the project's own Chinese msgid (Django's MinimumLengthValidator answered in English in
zh-hans: its plural form is missing from Django's Chinese catalogue; the length rule is
``ComplexityValidator``'s). Django calls every validator's
``password_changed`` after a user with a new password is saved, which is where the history and
the change time are recorded — for every path that sets a password (forms, admin, create_user).
"""
from __future__ import annotations

import gzip
import re
import string
import unicodedata
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import password_validation as django_validation
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import AccountSecurity, PasswordHistory


WORD_LISTS = Path(__file__).resolve().parent / "data" / "common_passwords_zh.txt"
DJANGO_LIST = Path(django_validation.__file__).resolve().parent / "common-passwords.txt.gz"


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


# --- common passwords --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def word_lists() -> dict[str, frozenset[str]]:
    """The sections of data/common_passwords_zh.txt, plus Django's 20,000 common passwords as
    ``django``."""
    sections: dict[str, set[str]] = {}
    current = None
    for raw in WORD_LISTS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], set())
            continue
        if current is not None:
            current.add(line.lower())
    with gzip.open(DJANGO_LIST, "rt", encoding="utf-8") as f:
        sections["django"] = {x.strip() for x in f if x.strip()}
    return {name: frozenset(words) for name, words in sections.items()}


_EDGE = re.compile(r"^[\W\d_]+|[\W\d_]+$")          # digits and symbols at both ends
_EDGE_SYMBOLS = re.compile(r"^[\W_]+|[\W_]+$")       # symbols only (keeps 5201314)
_LEET_SYMBOLS = str.maketrans({"@": "a", "$": "s", "!": "i", "|": "l"})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                       "@": "a", "$": "s", "!": "i", "|": "l", "+": "t"})


def password_cores(password: str) -> set[str]:
    """What is left of a password once the decoration people add is taken off: lower case,
    digits and symbols stripped from both ends, basic leetspeak undone. ``Password123!`` →
    {"password", …}; ``P@ssw0rd2024`` → {"password", …}; ``@dmin#1`` → {"admin", …}."""
    lower = unicodedata.normalize("NFKC", password).lower().strip()
    cores = {lower, _EDGE_SYMBOLS.sub("", lower)}
    for candidate in (lower, lower.translate(_LEET_SYMBOLS)):
        stripped = _EDGE.sub("", candidate)
        cores.add(stripped)
        cores.add(stripped.translate(_LEET))
        cores.add(stripped.replace("1", "l").translate(_LEET))
    return {c for c in cores if c}


def _pinyin_syllables(word: str, syllables: frozenset[str]) -> int | None:
    """The fewest pinyin syllables ``word`` splits into, or None when it is not pinyin."""
    n = len(word)
    best: list[int | None] = [0] + [None] * n
    for end in range(1, n + 1):
        for start in range(max(0, end - 6), end):
            if best[start] is not None and word[start:end] in syllables:
                count = best[start] + 1
                if best[end] is None or count < best[end]:
                    best[end] = count
    return best[n]


def common_reason(password: str) -> str | None:
    """Which common pattern the password follows (``word``, ``keyboard``, ``pinyin``,
    ``contains``), or None."""
    lists = word_lists()
    cores = password_cores(password)
    for core in cores:
        if core in lists["words"] or core in lists["django"]:
            return "word"
        if core in lists["keyboard"]:
            return "keyboard"
    for core in cores:
        if not core.isascii() or not core.isalpha():
            continue
        syllables = _pinyin_syllables(core, lists["syllables"])
        if syllables is not None and syllables <= 3:
            return "pinyin"
        for surname in lists["surnames"]:
            if core.startswith(surname) and len(core) > len(surname):
                rest = _pinyin_syllables(core[len(surname):], lists["syllables"])
                if rest is not None and rest <= 2:
                    return "pinyin"
    lower = unicodedata.normalize("NFKC", password).lower()
    leet = lower.translate(_LEET)
    if any(part in lower or part in leet for part in lists["contains"]):
        return "contains"
    return None


class CommonPasswordValidator:
    """Refuses common passwords and their usual decorations: Django's list of 20,000, common
    English words, pinyin names and phrases (zhangsan, woaini), lucky numbers (5201314) and
    keyboard walks (qwerty, 1qaz2wsx), with a capital, digits or a symbol added at the ends and
    basic leetspeak (``Password123!``, ``Admin@12345``, ``Zhangsan@123``, ``P@ssw0rd``)."""

    def validate(self, password, user=None):
        if common_reason(password):
            raise ValidationError(
                _("密码过于常见，容易被猜中：常用单词、拼音姓名、键盘序列或“5201314”之类的数字，"
                  "加上大写字母、数字或符号仍然常见。请换一个更难猜的密码。"),
                code="password_too_common",
            )

    def get_help_text(self):
        return _("不能是常见密码：常用单词、拼音姓名、键盘序列（如 qwerty、1qaz2wsx）加上数字或符号也不行。")


class AttributeSimilarityValidator(django_validation.UserAttributeSimilarityValidator):
    """Django's check that the password is not close to the user name, name or e-mail address,
    with the project's Chinese message."""

    def get_error_message(self):
        return _("密码与%(verbose_name)s过于相似。")

    def get_help_text(self):
        return _("密码不能与用户名、姓名、电子邮箱等个人信息过于相似。")


class NumericPasswordValidator(django_validation.NumericPasswordValidator):
    def get_error_message(self):
        return _("密码不能全是数字。")

    def get_help_text(self):
        return _("密码不能全是数字。")
