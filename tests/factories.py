"""Test data builders. Deterministic, small, and valid by the real rules."""
from __future__ import annotations

import itertools
import random

from zhijian.entities import creditcode
from zhijian.entities.models import MarketEntity
from zhijian.org.choices import BureauLevel
from zhijian.org.models import Bureau, Role, User

_seq = itertools.count(1)
_rng = random.Random(20261121)

PASSWORD = "Zj-test-Passw0rd!"


def make_bureau(jurisdiction: str = "4419", *, level=BureauLevel.CITY, name=None, division_code=None) -> Bureau:
    n = next(_seq)
    return Bureau.objects.create(
        name=name or f"测试市场监督管理局{n}",
        short_name="测市监",
        level=level,
        division_code=division_code or (jurisdiction.split(",")[0] or "00"),
        jurisdiction=jurisdiction,
    )


def make_user(*roles: str, bureau: Bureau | None = None, jurisdiction: str = "4419", username=None, **extra) -> User:
    if bureau is None:
        bureau = make_bureau(jurisdiction)
    n = next(_seq)
    extra.setdefault("full_name", f"测试员{n}")
    user = User.objects.create_user(username=username or f"user{n}", password=PASSWORD, bureau=bureau, **extra)
    for code in roles:
        role, _ = Role.objects.get_or_create(code=code)
        user.roles.add(role)
    return user


def credit_code(division6: str = "441900", type_digit: str = "1") -> str:
    return creditcode.generate(_rng, division6, type_digit)


def make_entity(division_code: str = "441900003001", **fields) -> MarketEntity:
    from zhijian.entities import services

    n = next(_seq)
    data = {
        "credit_code": credit_code(division_code[:6]),
        "name": f"东莞市测试商贸有限公司{n}",
        "legal_rep": "张三",
        "address": "东莞市莞城街道测试路1号",
        "division_code": division_code,
        "industry_code": "5211",
    }
    data.update(fields)
    return services.entity_create(actor=None, **data)
