"""Unified social credit code (GB 32100-2015): validation, type, and generation for demos.

The check digit is validated by python-stdnum. A code on the administrator's exceptions list
(early pilot codes that are legally valid yet fail the check) is accepted with a warning.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exc
from stdnum.cn import uscc

from .choices import EntityType

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 11714 organisation code: 8 body characters + 1 check character.
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# Position 2 when position 1 is '9' (market regulation registers these).
_TYPE_BY_DIGIT = {"1": EntityType.ENTERPRISE, "2": EntityType.INDIVIDUAL, "3": EntityType.COOPERATIVE}


class CreditCodeError(ValueError):
    pass


@dataclass(frozen=True)
class CheckedCode:
    code: str
    entity_type: str
    warning: str = ""


def normalise(raw: str) -> str:
    return "".join((raw or "").split()).replace("-", "").upper()


def check_char(first17: str) -> str:
    """GB 32100-2015 check character (LAW.md); equal to python-stdnum's, which the tests assert."""
    return ALPHABET[-sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS)) % 31]


def entity_type_of(code: str) -> str:
    if code[:1] == "9":
        return _TYPE_BY_DIGIT.get(code[1:2], EntityType.OTHER)
    return EntityType.OTHER


def check(raw: str, exceptions: set[str] | frozenset[str] = frozenset()) -> CheckedCode:
    """Validate a code; raise CreditCodeError with a message a clerk understands."""
    code = normalise(raw)
    if not code:
        raise CreditCodeError(_("统一社会信用代码为空"))
    if len(code) != 18:
        raise CreditCodeError(_("统一社会信用代码应为18位，实际%(n)d位") % {"n": len(code)})
    bad = [c for c in code if c not in ALPHABET]
    if bad:
        raise CreditCodeError(_("统一社会信用代码含非法字符：%(c)s（不使用 I、O、S、V、Z）") % {"c": "".join(bad)})
    if check_char(code[:17]) == code[17]:
        return CheckedCode(code, entity_type_of(code))
    # Slow path: only for codes that fail; python-stdnum gives the authoritative verdict.
    try:
        uscc.validate(code)
    except stdnum_exc.InvalidChecksum:
        if code in exceptions:
            return CheckedCode(code, entity_type_of(code), _("校验位不符，但在例外名单中，已接受"))
        raise CreditCodeError(_("统一社会信用代码校验位错误：应为 %(e)s") % {"e": check_char(code[:17])}) from None
    except stdnum_exc.ValidationError as exc:
        raise CreditCodeError(_("统一社会信用代码格式错误：%(m)s") % {"m": exc.message}) from exc
    return CheckedCode(code, entity_type_of(code))


def _org_check(body: str) -> str:
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(body, _ORG_WEIGHTS))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def generate(rng: random.Random, division6: str, type_digit: str = "1") -> str:
    """A syntactically valid code (both check digits right) for demo and test data."""
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    org = body + _org_check(body)
    if org[-1] not in ALPHABET:  # organisation check 'X' is fine, but keep the code in the alphabet
        org = org[:-1] + "0"
    first17 = "9" + type_digit + division6 + org
    return first17 + check_char(first17)
