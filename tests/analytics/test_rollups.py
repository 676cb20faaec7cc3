"""Rollups: the overview's open work and trends, and the statistics' task days, read from small
tables refreshed in the background, always equal to the live figures at the refresh."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.analytics.test_overview import build as build_overview_world
from zhijian.analytics import overview, queries, rollups
from zhijian.analytics.models import DayCount, OpenWork, RollupRun, TaskDay

pytestmark = pytest.mark.django_db


@pytest.fixture
def ow(db):
    return build_overview_world()


def _figures(data: dict) -> dict:
    """The parts of the overview that the rollups feed (figures with their links)."""
    return {"work": data["work"], "units": data["units"], "areas": data["areas"], "trends": data["trends"],
            "activity": data["activity"], "entities": data["entities"]}


def _scopes(ow):
    city = [(ow.leader, {}), (ow.leader, {"bureau": ow.s1.pk}), (ow.leader, {"bureau": ow.s2.pk}),
            (ow.leader, {"division": "441900003"}), (ow.leader, {"division": "441900"}),
            (ow.leader, {"bureau": ow.s2.pk, "division": "441900004"})]
    return city + [(ow.station_leader, {}), (ow.jinan_leader, {}), (ow.jinan_leader, {"bureau": ow.jinan_county.pk}),
                   (ow.jinan_leader, {"division": "370102"})]


def test_fresh_install_counts_live_and_says_so(ow, client):
    assert not RollupRun.objects.exists()
    data = overview.overview(ow.leader)
    assert data["from_rollup"] is False
    assert data["work"][0]["overdue"]["n"] == 2  # not zeros
    client.force_login(ow.leader)
    html = client.get("/").content.decode()
    assert "实时统计" in html


def test_rollup_equals_live_for_every_kind_and_scope(ow):
    rollups.refresh()
    for user, scope in _scopes(ow):
        rolled = overview.overview(user, **scope)
        assert rolled["from_rollup"] is True, (user.username, scope)
        assert _figures(rolled) == _figures(overview.overview(user, live=True, **scope)), (user.username, scope)
    kinds = set(OpenWork.objects.values_list("kind", flat=True))
    assert kinds == {"task", "case", "push", "clue"}


def test_a_village_filed_straight_under_a_county_is_counted_live_next_to_the_towns(ow):
    from tests.analytics.test_overview import _case, _task
    from zhijian.geo.models import Division

    Division.objects.create(code="441900900001", name="松山湖社区", level=5, parent_id="441900")
    _task(ow.s1, "441900900001", "executing", due_on=ow.today - dt.timedelta(days=1))
    _case(ow.s1, "441900900001", "first_visit", step_due_on=ow.today - dt.timedelta(days=1))
    rollups.refresh()
    rolled, live = overview.overview(ow.leader), overview.overview(ow.leader, live=True)
    assert rolled["from_rollup"] and rolled["areas"] == live["areas"]
    village = next(a for a in rolled["areas"] if a["code"] == "441900900001")
    assert village["tasks_overdue"]["n"] == 1 and village["cases_overdue"]["n"] == 1


def test_department_user_sees_only_their_department_from_the_rollup(ow):
    from tests.factories import make_user
    from zhijian.org.models import Department

    health = Department.objects.get(name="市卫生健康局")
    dispatcher = make_user("dispatcher", bureau=ow.city, username="ov-dept-dispatcher")
    dispatcher.department = health
    dispatcher.save()
    rollups.refresh()
    assert _figures(overview.overview(dispatcher)) == _figures(overview.overview(dispatcher, live=True))


def test_trends_closed_days_from_the_rollup_today_live(ow):
    from zhijian.supervision.models import Task

    old = timezone.now() - dt.timedelta(days=3)
    Task.objects.filter(pk=ow.t_open.pk).update(created_at=old)
    rollups.refresh()
    assert DayCount.objects.filter(series="task_new").exists()
    data = overview.overview(ow.leader)
    assert data["trends"] == overview.overview(ow.leader, live=True)["trends"]
    # A task registered now shows in today's point at once (today is counted live).
    from tests.analytics.test_overview import _task

    before = data["trends"]["series"][0]["data"][-1]
    _task(ow.s1, "441900003001", "dispatched", due_on=ow.today + dt.timedelta(days=9))
    assert overview.overview(ow.leader)["trends"]["series"][0]["data"][-1] == before + 1


def test_a_state_change_shows_after_the_next_refresh(ow):
    from zhijian.supervision.models import Task

    rollups.refresh()
    before = overview.overview(ow.leader)["work"][0]
    Task.objects.filter(pk=ow.t_over.pk).update(state="archived", closed_at=timezone.now())
    assert overview.overview(ow.leader)["work"][0]["overdue"]["n"] == before["overdue"]["n"]  # as of the last refresh
    rollups.refresh()
    after = overview.overview(ow.leader)["work"][0]
    assert after["overdue"]["n"] == before["overdue"]["n"] - 1
    assert after["open"]["n"] == before["open"]["n"] - 1
    assert after == overview.overview(ow.leader, live=True)["work"][0]


def test_refresh_is_idempotent(ow):
    rollups.refresh()
    first = sorted(map(repr, OpenWork.objects.values_list("kind", "bureau_id", "department_id", "area", *rollups.MEASURES)))
    days = sorted(map(repr, DayCount.objects.values_list("series", "day", "bureau_id", "area", "n")))
    rollups.refresh()
    assert sorted(map(repr, OpenWork.objects.values_list("kind", "bureau_id", "department_id", "area", *rollups.MEASURES))) == first
    assert sorted(map(repr, DayCount.objects.values_list("series", "day", "bureau_id", "area", "n"))) == days


def test_a_failed_refresh_keeps_the_previous_figures(ow, monkeypatch):
    from zhijian.supervision.models import Task

    rollups.refresh()
    rows = sorted(map(repr, OpenWork.objects.values_list("kind", "bureau_id", "area", *rollups.MEASURES)))
    stamp = RollupRun.objects.get(name=rollups.OPEN_WORK).as_of
    Task.objects.filter(pk=ow.t_over.pk).update(state="archived")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rollups, "_mark", broken)  # fails after the delete and the inserts
    with pytest.raises(RuntimeError):
        rollups.refresh_open_work()
    assert sorted(map(repr, OpenWork.objects.values_list("kind", "bureau_id", "area", *rollups.MEASURES))) == rows
    assert RollupRun.objects.get(name=rollups.OPEN_WORK).as_of == stamp


def test_a_rollup_from_yesterday_is_not_used(ow):
    rollups.refresh(timezone.now() - dt.timedelta(days=1))
    assert overview.overview(ow.leader)["from_rollup"] is False


def test_the_scheduler_knows_the_sweeps():
    from zhijian.deadlines import scheduling

    scheduling.autodiscover()
    assert {"analytics.rollups", "analytics.task_days"} <= set(scheduling.registry())


# --- statistics ----------------------------------------------------------------------------------

RANGES = [("2026-03-02", "2026-03-15"), ("2026-03-03", "2026-03-03"), ("2026-02-01", "2026-03-09"), ("2026-03-10", None)]


def test_task_stats_from_the_rollup_equal_live(world):
    from tests.analytics.conftest import task

    # One task registered today (counted live) next to the rolled-up days.
    task(world.station, "441900003001", timezone.now(), "executing", due_on=timezone.localdate() - dt.timedelta(days=1))
    rollups.refresh()
    assert TaskDay.objects.exists()
    for start, end in RANGES:
        rng = queries.parse_range(start, end)
        for user in (world.leader, world.dispatcher, world.jinan_leader, world.health_clerk):
            for group in ("state", "source", "unit"):
                assert queries.task_day_rows(user, rng, timezone.localdate()) is not None or user is world.health_clerk
                rolled = queries.task_stats(user, rng, group=group)
                live = queries.task_stats(user, rng, group=group, live=True)
                assert rolled == live, (start, end, user.username, group)


def test_stats_page_after_refresh(world, client):
    rollups.refresh()
    client.force_login(world.leader)
    r = client.get("/stats/?from=2026-03-02&to=2026-03-15")
    assert r.status_code == 200
    unit = next(t for t in r.context["tables"] if t.slug == "task-unit")
    assert unit.total["total"] == 6


def test_push_stats_from_the_rollup_equal_live(world):
    from tests.analytics.conftest import push
    from tests.factories import make_entity

    # One item pushed today (counted live) next to the rolled-up days.
    push(make_entity("441900003002"), world.health, world.catering, timezone.now(), "claimed", claimed=timezone.now())
    now = timezone.now()
    rollups.refresh(now)
    for start, end in RANGES:
        rng = queries.parse_range(start, end)
        for user in (world.leader, world.dispatcher, world.jinan_leader, world.health_clerk):
            for group in queries.PUSH_GROUPS:
                for period in (queries.PERIODS if group == "period" else ("day",)):
                    assert queries.push_day_rows(user, rng, now) is not None
                    rolled = queries.push_stats(user, rng, group=group, period=period, now=now)
                    live = queries.push_stats(user, rng, group=group, period=period, now=now, live=True)
                    assert rolled == live, (start, end, user.username, group, period)


def test_unit_board_header_from_the_rollup_equals_live(ow, client):
    from zhijian.supervision import queries as task_queries

    rollups.refresh()
    filters = [task_queries.TaskFilter(), task_queries.TaskFilter(due="overdue"), task_queries.TaskFilter(state="all"),
               task_queries.TaskFilter(bureau=ow.s2.pk), task_queries.TaskFilter(division="441900003")]
    for f in filters:
        rolled = task_queries.unit_board(ow.leader, f)
        live = task_queries.unit_board(ow.leader, f, live=True)
        assert rolled["counts_as_of"] is not None and live["counts_as_of"] is None
        for key in ("counts", "total", "open_total", "archived", "overdue"):
            assert rolled[key] == live[key], (f, key)
    # With a filter the rollup does not key, the header is counted now.
    assert task_queries.unit_board(ow.leader, task_queries.TaskFilter(source="complaint"))["counts_as_of"] is None
    client.force_login(ow.leader)
    for query, n in (("due=overdue", 2), ("due=soon", 1)):
        r = client.get("/tasks/unit/?" + query)
        assert r.status_code == 200 and r.context["page"].total == n, query
        assert "计数更新于" in r.content.decode()
