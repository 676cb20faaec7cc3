import itertools

import pytest

from tests.factories import PASSWORD, make_bureau, make_user
from zhijian.core import events
from zhijian.core.dispatch import Dispatcher

_n = itertools.count(1)
TOWN = "441900003"            # 东莞 莞城街道
VILLAGE = "441900003001"
OTHER_CITY = "370102001001"   # 济南


def make_department(code, name, jurisdiction="4419", division_code="441900000000"):
    from zhijian.org.models import Department

    return Department.objects.create(code=code, name=name, division_code=division_code, jurisdiction=jurisdiction)


def make_department_user(department, *roles):
    from zhijian.org.models import Role, User

    user = User.objects.create_user(username=f"dept{next(_n)}", password=PASSWORD, department=department, full_name=f"部门员{next(_n)}")
    for code in ("department_staff", *roles):
        role, _ = Role.objects.get_or_create(code=code)
        user.roles.add(role)
    return user


def drain():
    """Run the dispatcher synchronously until nothing is due (handlers, then webhook deliveries)."""
    events.load_handlers()
    worker = Dispatcher(batch=200, concurrency=4, timeout=2)
    try:
        worker.drain()
    finally:
        worker.close()


@pytest.fixture
def depts(db):
    # The city bureau the village first-visit tasks (and clues) are numbered under.
    make_bureau("4419", name="东莞市市场监督管理局", division_code="441900000000")
    return {
        "health": make_department("wjj", "市卫生健康局"),
        "tobacco": make_department("ycj", "市烟草专卖局"),
        "fire": make_department("xfj", "市消防救援支队"),
        "jinan": make_department("jn-wjj", "济南市卫健委", jurisdiction="3701", division_code="370100000000"),
    }


@pytest.fixture
def rules(db, depts):
    """Three matters: catering (health, by industry 62 and keyword 餐饮服务, 1 h claim + 10 workdays),
    tobacco (by keyword 卷烟), public-place hygiene (health + 济南, by keyword 住宿服务)."""
    from zhijian.coordination import rules as push_rules

    catering = push_rules.matter_save(actor=None, code="catering", name="餐饮服务监管", legal_basis="《食品安全法》第三十五条",
                                    deadline_rule="grid.first_visit", deadline_hours=1, departments=[depts["health"]])
    tobacco = push_rules.matter_save(actor=None, code="tobacco", name="烟草专卖许可", principle="approval",
                                   deadline_rule="grid.first_visit", departments=[depts["tobacco"]])
    hotel = push_rules.matter_save(actor=None, code="hotel", name="公共场所卫生", departments=[depts["health"], depts["jinan"]])
    return {
        "catering": push_rules.rule_save(actor=None, matter=catering, name="餐饮行业", industry_prefixes="62", keywords="餐饮服务"),
        "tobacco": push_rules.rule_save(actor=None, matter=tobacco, name="卷烟零售", keywords="卷烟,烟草制品"),
        "hotel": push_rules.rule_save(actor=None, matter=hotel, name="住宿", keywords="住宿服务"),
    }


@pytest.fixture
def town_office(db):
    """The town's 商改办: a dispatcher of 莞城街道."""
    return make_user("dispatcher", bureau=make_bureau(TOWN, division_code=TOWN))


@pytest.fixture
def grid_officer(db):
    return make_user("grid_officer", bureau=make_bureau(VILLAGE, division_code=VILLAGE))


@pytest.fixture
def leader(db):
    return make_user("leader", jurisdiction="4419")
