"""C5 and C7 figures against hand computation over the world in conftest.py."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.analytics.conftest import FROM, TO, TOWN1, TOWN2
from zhijian.analytics import queries, workcal
from zhijian.analytics.models import WorkdayOrdinal
from zhijian.deadlines.workdays import workdays_between

pytestmark = pytest.mark.django_db

RNG = queries.parse_range(FROM, TO)
FIGURES = ("pushed", "claimed", "done", "open", "returned", "reassigned", "handled", "overdue",
           "completion_rate", "overdue_rate", "claim_hours", "finish_hours", "finish_workdays")


def figures(row):
    return tuple(row[k] for k in FIGURES)


def by_key(data):
    return {r["key"]: r for r in data["rows"]}


# Hand computation (range 2–15 March 2026):
#  卫健 p1 claimed after 1 h, finished after 48 h = 2 working days (3, 4 Mar), on time;
#       p2 claimed after 3 h, open, due 6 Mar → overdue;
#       p3 claimed after 1 h, finished after 192 h = 6 working days (4–6, 9–11 Mar), after its due time → overdue.
#  消防 p4 unclaimed past its claim deadline → overdue; p5 returned (not to be handled); p6 open, in time.
HEALTH = (3, 3, 2, 1, 0, 0, 3, 2, 66.7, 66.7, 1.7, 120.0, 4.0)
FIRE = (3, 0, 0, 2, 1, 0, 2, 1, 0.0, 50.0, None, None, None)
TOTAL = (6, 3, 2, 3, 1, 0, 5, 3, 40.0, 60.0, 1.7, 120.0, 4.0)


def test_push_by_department(world):
    data = queries.push_stats(world.leader, RNG, group="department")
    rows = by_key(data)
    assert set(rows) == {world.health.pk, world.fire.pk}  # 济南 and the February item are outside
    assert figures(rows[world.health.pk]) == HEALTH
    assert rows[world.health.pk]["label"] == "市卫生健康局"
    assert figures(rows[world.fire.pk]) == FIRE
    assert figures(data["total"]) == TOTAL


def test_push_by_matter(world):
    rows = by_key(queries.push_stats(world.leader, RNG, group="matter"))
    assert figures(rows[world.catering.pk]) == HEALTH
    assert figures(rows[world.firesafety.pk]) == FIRE


def test_push_by_town(world):
    rows = by_key(queries.push_stats(world.leader, RNG, group="town"))
    assert list(rows) == [TOWN1, TOWN2]
    assert rows[TOWN1]["label"] == "莞城街道" and rows[TOWN2]["label"] == "南城街道"
    # 莞城: p1, p2, p5, p6 — 南城: p3, p4
    assert figures(rows[TOWN1]) == (4, 2, 1, 2, 1, 0, 3, 1, 33.3, 33.3, 2.0, 48.0, 2.0)
    assert figures(rows[TOWN2]) == (2, 1, 1, 1, 0, 0, 2, 2, 50.0, 100.0, 1.0, 192.0, 6.0)


def test_push_by_period(world):
    days = by_key(queries.push_stats(world.leader, RNG, group="period", period="day"))
    # p5 was pushed at 01:30 on 10 March Beijing time (still 9 March in UTC): it counts on the 10th.
    assert {k: r["pushed"] for k, r in days.items()} == {"2026-03-02": 2, "2026-03-03": 1, "2026-03-09": 1, "2026-03-10": 2}
    assert days["2026-03-10"]["returned"] == 1 and days["2026-03-09"]["overdue"] == 1
    weeks = by_key(queries.push_stats(world.leader, RNG, group="period", period="week"))
    assert list(weeks) == ["2026-03-02", "2026-03-09"]
    assert figures(weeks["2026-03-02"]) == HEALTH
    assert figures(weeks["2026-03-09"]) == FIRE
    assert "第 10 周" in weeks["2026-03-02"]["label"]
    months = by_key(queries.push_stats(world.leader, RNG, group="period", period="month"))
    assert list(months) == ["2026-03"] and figures(months["2026-03"]) == TOTAL


def test_push_scope(world):
    # 济南's leader sees only 济南's items …
    rows = queries.push_stats(world.jinan_leader, RNG, group="department")["rows"]
    assert [(r["key"], r["pushed"], r["done"], r["overdue"]) for r in rows] == [(world.jinan.pk, 2, 1, 1)]
    assert queries.push_stats(world.jinan_leader, RNG, group="town")["rows"][0]["key"] == "370102001"
    # … and 东莞's department staff see only their own department.
    rows = queries.push_stats(world.health_clerk, RNG, group="department")["rows"]
    assert [r["key"] for r in rows] == [world.health.pk] and figures(rows[0]) == HEALTH
    assert queries.task_stats(world.health_clerk, RNG, group="unit")["rows"] == []
    assert queries.grid_stats(world.health_clerk, RNG)["rows"] == []


def test_range_filters_and_defaults(world):
    feb = queries.parse_range("2026-02-01", "2026-02-28")
    assert queries.push_stats(world.leader, feb, group="department")["total"]["pushed"] == 1
    swapped = queries.parse_range(TO, FROM)
    assert (swapped.start, swapped.end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 15))
    default = queries.parse_range(None, "bad", today=dt.date(2026, 3, 31))
    assert (default.start, default.end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 31))


def test_tasks(world):
    units = by_key(queries.task_stats(world.leader, RNG, group="unit"))
    assert set(units) == {world.station.pk, world.station2.pk}
    s = units[world.station.pk]
    # t1 on time (72 h, 3 working days), t2 archived after its due date (240 h, 8 working days),
    # t3 open past its due date, t6 on time (24 h, 1 working day).
    assert (s["total"], s["done"], s["open"], s["cancelled"], s["handled"], s["overdue"], s["open_overdue"]) == (4, 3, 1, 0, 4, 2, 1)
    assert (s["completion_rate"], s["overdue_rate"], s["finish_hours"], s["finish_workdays"]) == (75.0, 50.0, 112.0, 4.0)
    s2 = units[world.station2.pk]
    # t5 was cancelled past its due date: neither to be handled nor overdue.
    assert (s2["total"], s2["done"], s2["cancelled"], s2["handled"], s2["overdue"], s2["completion_rate"]) == (2, 0, 1, 1, 0, 0.0)
    states = by_key(queries.task_stats(world.leader, RNG, group="state"))
    assert {k: r["total"] for k, r in states.items()} == {"archived": 3, "executing": 1, "dispatched": 1, "cancelled": 1}
    assert list(states) == ["dispatched", "executing", "archived", "cancelled"]  # the loop's order
    assert states["executing"]["label"] == "执行中"
    sources = by_key(queries.task_stats(world.leader, RNG, group="source"))
    assert {k: (r["total"], r["overdue"]) for k, r in sources.items()} == {
        "patrol": (2, 1), "complaint": (1, 1), "random_draw": (2, 0), "manual": (1, 0)}
    total = queries.task_stats(world.leader, RNG, group="unit")["total"]
    assert (total["total"], total["handled"], total["overdue"], total["overdue_rate"]) == (6, 5, 2, 40.0)
    jinan = queries.task_stats(world.jinan_leader, RNG, group="unit")
    assert [(r["key"], r["total"], r["overdue"]) for r in jinan["rows"]] == [(world.jinan_station.pk, 1, 1)]


def test_grid_cases(world):
    data = queries.grid_stats(world.leader, RNG)
    rows = by_key(data)
    assert {k: (r["total"], r["overdue"], r["warned"]) for k, r in rows.items()} == {
        "first_visit": (1, 1, 0), "rectifying": (1, 0, 0), "closed": (1, 0, 1)}
    assert rows["closed"]["finish_hours"] == 48.0
    assert (data["total"]["total"], data["total"]["overdue"], data["total"]["overdue_rate"]) == (3, 1, 33.3)
    assert [(r["key"], r["total"]) for r in queries.grid_stats(world.jinan_leader, RNG)["rows"]] == [("first_visit", 1)]


def test_efficiency_ranking_and_series(world):
    data = queries.efficiency(world.leader, RNG)
    ranking = [(r["name"], r["handled"], r["done"], r["overdue"], r["overdue_rate"], r["completion_rate"]) for r in data["ranking"]]
    # Worst first: 卫健 66.7 % overdue; 消防 and 莞城所 both 50 %, 消防 completed less; 南城所 0 %.
    assert ranking == [
        ("市卫生健康局", 3, 2, 2, 66.7, 66.7),
        ("市消防救援支队", 2, 0, 1, 50.0, 0.0),
        ("莞城市场监管所", 4, 3, 2, 50.0, 75.0),
        ("南城市场监管所", 1, 0, 0, 0.0, 0.0),
    ]
    assert [r["rank"] for r in data["ranking"]] == [1, 2, 3, 4]
    chart = data["chart"]
    assert chart["weeks"] == ["2026-03-02", "2026-03-09"]
    series = {s["name"]: s for s in chart["series"]}
    assert series["市卫生健康局"]["overdue"] == [66.7, None] and series["市卫生健康局"]["completion"] == [66.7, None]
    assert series["市消防救援支队"]["overdue"] == [None, 50.0] and series["市消防救援支队"]["completion"] == [None, 0.0]
    assert series["莞城市场监管所"]["overdue"] == [66.7, 0.0] and series["莞城市场监管所"]["completion"] == [66.7, 100.0]
    assert chart["overdue_rate"] == [66.7, 50.0, 50.0, 0.0]
    # Scope: 济南 sees its own units only; the 卫健 clerk only 卫健.
    assert [r["name"] for r in queries.efficiency(world.jinan_leader, RNG)["ranking"]] == ["历下市场监管所", "济南市卫健委"]  # 100 % then 50 %
    assert [r["name"] for r in queries.efficiency(world.health_clerk, RNG)["ranking"]] == ["市卫生健康局"]


def test_workday_calendar_matches_deadlines(db):
    WorkdayOrdinal.objects.all().delete()
    workcal.ensure(dt.date(2026, 9, 20), dt.date(2026, 10, 20))
    workcal.ensure(dt.date(2026, 9, 1), dt.date(2026, 10, 31))  # extends both ways
    ords = dict(WorkdayOrdinal.objects.values_list("date", "ordinal"))
    days = [dt.date(2026, 9, 1) + dt.timedelta(days=i) for i in range(61)]
    assert set(days) <= set(ords)
    for a, b in [(dt.date(2026, 9, 1), dt.date(2026, 10, 31)), (dt.date(2026, 9, 28), dt.date(2026, 10, 9)),
                 (dt.date(2026, 9, 30), dt.date(2026, 10, 8))]:
        assert ords[b] - ords[a] == workdays_between(a, b)
    # National Day week: 1–7 October 2026 are days off.
    assert ords[dt.date(2026, 10, 7)] == ords[dt.date(2026, 9, 30)]


def test_holiday_change_drops_ordinals(db):
    from zhijian.deadlines.models import Holiday

    workcal.ensure(dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    Holiday.objects.create(date=dt.date(2026, 5, 20), is_off_day=True, name="测试假日", year=2026)
    assert not WorkdayOrdinal.objects.filter(date__gte=dt.date(2026, 5, 20)).exists()
    workcal.ensure(dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    ords = dict(WorkdayOrdinal.objects.values_list("date", "ordinal"))
    assert ords[dt.date(2026, 5, 21)] - ords[dt.date(2026, 5, 19)] == 1  # the 20th is now off


def test_query_count_does_not_grow_with_rows(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.analytics.conftest import at, push
    from zhijian.entities.models import MarketEntity

    def count(group):
        queries.push_stats(world.leader, RNG, group=group)  # the calendar is filled once
        with CaptureQueriesContext(connection) as ctx:
            queries.push_stats(world.leader, RNG, group=group)
        return len(ctx)

    before = {g: count(g) for g in queries.PUSH_GROUPS}
    entity = MarketEntity.objects.filter(division_code__startswith="4419").first()
    for day in range(2, 14):
        push(entity, world.fire, world.firesafety, at(day, 15), "finished", claimed=at(day, 16), finished=at(day, 18))
    assert {g: count(g) for g in queries.PUSH_GROUPS} == before
    assert before["department"] <= 4  # calendar bounds, grouped rows, total
