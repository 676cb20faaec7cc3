"""A small world in two cities (东莞 4419, 济南 3701) with push items, tasks and grid cases at
known times, so every count, rate and average in the tests is computed by hand.

All dates are in March 2026 (no holidays from 2 to 13 March; 7–8 and 14–15 are weekends);
deadlines not meant to be overdue lie in 2030, so the figures do not depend on today's date.
"""
from __future__ import annotations

import datetime as dt
import itertools
import uuid
from zoneinfo import ZoneInfo

import pytest

from tests.factories import PASSWORD, make_bureau, make_entity, make_user
from zhijian.org.choices import BureauLevel

TZ = ZoneInfo("Asia/Shanghai")
FROM, TO = "2026-03-02", "2026-03-15"
TOWN1, TOWN2 = "441900003", "441900004"
FAR = dt.datetime(2030, 12, 31, 23, 59, tzinfo=TZ)

_n = itertools.count(1)


def at(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


class World:
    pass


def _department(code, name, jurisdiction, division_code):
    from zhijian.org.models import Department

    return Department.objects.create(code=code, name=name, jurisdiction=jurisdiction, division_code=division_code)


def _department_user(department):
    from zhijian.org.models import Role, User

    user = User.objects.create_user(username=f"stats-dept{next(_n)}", password=PASSWORD, department=department, full_name="部门统计员")
    user.roles.add(Role.objects.get_or_create(code="department_staff")[0])
    return user


def _matter(code, name, departments):
    from zhijian.coordination.models import SupervisionMatter

    m = SupervisionMatter.objects.create(code=code, name=name, deadline_rule="grid.first_visit", deadline_hours=1)
    m.departments.set(departments)
    return m


def push(entity, department, matter, created, state, *, claimed=None, finished=None, due_at=FAR):
    from zhijian.coordination.models import PushItem

    return PushItem.objects.create(
        entity=entity, department=department, matter=matter, trigger="created", trigger_key=f"test:{uuid.uuid4().hex[:16]}",
        division_code=entity.division_code, state=state, due_at=due_at, claimed_at=claimed, finished_at=finished,
        created_at=created)


def task(bureau, division_code, created, state, *, due_on, closed=None, source="manual", overdue=False):
    from zhijian.supervision.models import Task

    t = Task.objects.create(title=f"测试任务{next(_n)}", division_code=division_code, state=state, bureau=bureau,
                            due_on=due_on, closed_at=closed, source=source, overdue=overdue)
    Task.objects.filter(pk=t.pk).update(created_at=created)
    return t


def case(division_code, created, state, *, step_due_on=None, closed=None, bureau=None):
    from zhijian.grid.models import GridCase

    c = GridCase.objects.create(title=f"网格事项{next(_n)}", trigger="manual", division_code=division_code, state=state,
                                received_on=created.date(), step_due_on=step_due_on, closed_at=closed, bureau=bureau)
    GridCase.objects.filter(pk=c.pk).update(created_at=created)
    return c


def build_world():
    from zhijian.geo.models import Division
    from zhijian.grid.models import Warning

    w = World()
    for code, name, level, parent in [("44", "广东省", 1, None), ("4419", "东莞市", 2, "44"), ("441900", "东莞市", 3, "4419"),
                                      (TOWN1, "莞城街道", 4, "441900"), (TOWN2, "南城街道", 4, "441900")]:
        Division.objects.get_or_create(code=code, defaults={"name": name, "level": level, "parent_id": parent})

    # People: the 东莞 city leader, a 济南 leader, an officer (no statistics role), a 卫健 clerk.
    w.city = make_bureau("4419", name="东莞市市场监督管理局", division_code="441900000000")
    w.jinan_bureau = make_bureau("3701", name="济南市市场监督管理局", division_code="370100000000")
    w.leader = make_user("leader", bureau=w.city, username="stats-leader")
    w.dispatcher = make_user("dispatcher", bureau=w.city, username="stats-dispatcher")
    w.jinan_leader = make_user("leader", bureau=w.jinan_bureau, username="stats-jinan")
    w.officer = make_user("enforcement_officer", bureau=w.city, username="stats-officer")
    w.station = make_bureau(TOWN1, level=BureauLevel.STATION, name="莞城市场监管所", division_code=TOWN1 + "000")
    w.station2 = make_bureau(TOWN2, level=BureauLevel.STATION, name="南城市场监管所", division_code=TOWN2 + "000")
    w.jinan_station = make_bureau("370102001", level=BureauLevel.STATION, name="历下市场监管所", division_code="370102001000")

    w.health = _department("st-wjj", "市卫生健康局", "4419", "441900000000")
    w.fire = _department("st-xfj", "市消防救援支队", "4419", "441900000000")
    w.jinan = _department("st-jn", "济南市卫健委", "3701", "370100000000")
    w.health_clerk = _department_user(w.health)
    w.catering = _matter("st-catering", "餐饮服务监管", [w.health])
    w.firesafety = _matter("st-fire", "消防安全监管", [w.fire])
    w.hotel = _matter("st-hotel", "公共场所卫生", [w.jinan])

    e1 = make_entity(TOWN1 + "001")
    e2 = make_entity(TOWN2 + "001")
    ej = make_entity("370102001001", address="济南市历下区测试路1号")

    # 东莞 push items (see test_push_stats for the hand-computed figures).
    w.p1 = push(e1, w.health, w.catering, at(2, 9), "finished", claimed=at(2, 10), finished=at(4, 9))
    w.p2 = push(e1, w.health, w.catering, at(2, 10), "accepted", claimed=at(2, 13), due_at=at(6, 23, 59))
    w.p3 = push(e2, w.health, w.catering, at(3, 8), "finished", claimed=at(3, 9), finished=at(11, 8), due_at=at(10, 23, 59))
    w.p4 = push(e2, w.fire, w.firesafety, at(9, 9), "pushed", due_at=at(9, 10))
    w.p5 = push(e1, w.fire, w.firesafety, at(10, 1, 30), "returned")  # 01:30 local = 9 March in UTC
    w.p6 = push(e1, w.fire, w.firesafety, at(10, 11), "pushed")
    w.p_before = push(e1, w.health, w.catering, at(20, 9, month=2), "finished", claimed=at(20, 10, month=2), finished=at(21, 9, month=2))
    # 济南
    w.j1 = push(ej, w.jinan, w.hotel, at(3, 9), "finished", claimed=at(3, 9, 30), finished=at(5, 9))
    w.j2 = push(ej, w.jinan, w.hotel, at(4, 9), "pushed", due_at=at(4, 10))

    # 东莞 tasks
    d1, d2 = TOWN1 + "001", TOWN2 + "001"
    w.t1 = task(w.station, d1, at(2, 9), "archived", due_on=dt.date(2026, 3, 6), closed=at(5, 9), source="patrol")
    w.t2 = task(w.station, d1, at(2, 9), "archived", due_on=dt.date(2026, 3, 10), closed=at(12, 9), source="patrol")
    w.t3 = task(w.station, d1, at(3, 9), "executing", due_on=dt.date(2026, 3, 13), source="complaint", overdue=True)
    w.t6 = task(w.station, d1, at(9, 9), "archived", due_on=dt.date(2030, 12, 31), closed=at(10, 9), source="random_draw")
    w.t4 = task(w.station2, d2, at(10, 9), "dispatched", due_on=dt.date(2030, 12, 31), source="random_draw")
    w.t5 = task(w.station2, d2, at(11, 9), "cancelled", due_on=dt.date(2026, 3, 3), closed=at(12, 9), source="manual")
    w.tj = task(w.jinan_station, "370102001001", at(3, 9), "executing", due_on=dt.date(2026, 3, 4))

    # 东莞 grid cases
    w.c1 = case(d1, at(2, 9), "first_visit", step_due_on=dt.date(2026, 3, 10), bureau=w.station)
    w.c2 = case(d1, at(3, 9), "rectifying", step_due_on=dt.date(2030, 12, 31), bureau=w.station)
    w.c3 = case(d2, at(4, 9), "closed", closed=at(6, 9), bureau=w.station2)
    Warning.objects.create(item_type="grid.case", item_id=w.c3.pk, step="first_visit", level=1, due_on=dt.date(2026, 3, 5),
                           division_code=d2)
    w.cj = case("370102001001", at(3, 9), "first_visit", step_due_on=dt.date(2026, 3, 4))
    return w


@pytest.fixture
def world(db):
    return build_world()

