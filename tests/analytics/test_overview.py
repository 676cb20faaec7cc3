"""The leader overview: every figure equals the rows of the list its link opens, for two
jurisdictions and at each drill-down level; a station leader sees only their station; drill-down
links open the matching lists and one item; other roles keep a useful home.

The world is built relative to today (the overview is about today and this week)."""
from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from html import unescape

import pytest
from django.utils import timezone

from tests.factories import make_bureau, make_entity, make_user
from zhijian.org.choices import BureauLevel

pytestmark = pytest.mark.django_db
TOWN1, TOWN2, JINAN_TOWN = "441900003", "441900004", "370102001"
_n = itertools.count(1)


class World:
    pass


def _task(bureau, division_code, state, *, due_on=None, closed_at=None, overdue=False, assignee=None, source="manual", title=None):
    from zhijian.supervision.models import Task

    n = next(_n)
    return Task.objects.create(title=title or f"概览测试任务{n}", number=f"RW-T-{n:04d}", division_code=division_code, state=state,
                               bureau=bureau, due_on=due_on, closed_at=closed_at, overdue=overdue, assignee=assignee, source=source)


def _case(bureau, division_code, state, *, step_due_on=None, assignee=None):
    from zhijian.grid.models import GridCase

    n = next(_n)
    return GridCase.objects.create(title=f"概览测试网格事项{n}", number=f"RW-C-{n:04d}", trigger="manual", division_code=division_code,
                                   state=state, received_on=timezone.localdate(), step_due_on=step_due_on, bureau=bureau, assignee=assignee)


def _push(entity, department, matter, state, *, due_at, claimed_at=None):
    from zhijian.coordination.models import PushItem

    return PushItem.objects.create(entity=entity, department=department, matter=matter, trigger="created",
                                   trigger_key=f"ov:{uuid.uuid4().hex[:16]}", division_code=entity.division_code, state=state,
                                   due_at=due_at, claimed_at=claimed_at)


def _inspection(entity, bureau, officer, version, *, finished_at, conclusion="pass"):
    from zhijian.inspections.models import Inspection

    return Inspection.objects.create(client_key=uuid.uuid4().hex, entity=entity, entity_name=entity.name, bureau=bureau,
                                     division_code=entity.division_code, checklist_version=version, created_by=officer,
                                     started_at=finished_at - dt.timedelta(hours=1), finished_at=finished_at, conclusion=conclusion,
                                     state="sealed")


def build():
    from zhijian.clues.models import Clue
    from zhijian.coordination.models import SupervisionMatter
    from zhijian.deadlines.models import Clock
    from zhijian.geo.models import Division
    from zhijian.grid.models import Visit, Warning
    from zhijian.inspections.models import ChecklistVersion
    from zhijian.org.models import Department

    w = World()
    today = timezone.localdate()
    now = timezone.now()
    w.today = today
    for code, name, level, parent in [("44", "广东省", 1, None), ("4419", "东莞市", 2, "44"), ("441900", "东莞市", 3, "4419"),
                                      (TOWN1, "莞城街道", 4, "441900"), (TOWN2, "南城街道", 4, "441900"),
                                      ("37", "山东省", 1, None), ("3701", "济南市", 2, "37"), ("370102", "历下区", 3, "3701"),
                                      (JINAN_TOWN, "解放路街道", 4, "370102")]:
        Division.objects.update_or_create(code=code, defaults={"name": name, "level": level, "parent_id": parent})

    w.city = make_bureau("4419", name="东莞市市场监督管理局", division_code="441900000000")
    w.s1 = make_bureau(TOWN1, level=BureauLevel.STATION, name="莞城市场监管所", division_code=TOWN1 + "000")
    w.s2 = make_bureau(TOWN2, level=BureauLevel.STATION, name="南城市场监管所", division_code=TOWN2 + "000")
    w.jinan = make_bureau("3701", name="济南市市场监督管理局", division_code="370100000000")
    w.jinan_county = make_bureau("370102", level=BureauLevel.COUNTY, name="历下区市场监督管理局", division_code="370102000000")
    w.jinan_station = make_bureau(JINAN_TOWN, level=BureauLevel.STATION, name="解放路市场监管所", division_code=JINAN_TOWN + "000")
    w.leader = make_user("leader", bureau=w.city, username="ov-leader")
    w.station_leader = make_user("leader", bureau=w.s1, username="ov-station-leader")
    w.jinan_leader = make_user("leader", bureau=w.jinan, username="ov-jinan-leader")
    w.officer = make_user("enforcement_officer", bureau=w.s1, username="ov-officer", full_name="王执法")
    w.grid_officer = make_user("grid_officer", bureau=w.s2, username="ov-grid")

    d1, d2, dj = TOWN1 + "001", TOWN2 + "001", JINAN_TOWN + "001"
    e1, e2, ej = make_entity(d1), make_entity(d2), make_entity(dj, address="济南市历下区测试路1号")

    # Tasks: overdue, due soon, open, archived today, registered today (东莞); overdue (济南).
    w.t_over = _task(w.s1, d1, "executing", due_on=today - dt.timedelta(days=2), assignee=w.officer, title="逾期的食品检查")
    w.t_flag = _task(w.s2, d2, "accepted", due_on=today, overdue=True)  # marked by the sweep
    w.t_soon = _task(w.s1, d1, "dispatched", due_on=today + dt.timedelta(days=1), source="complaint")
    w.t_open = _task(w.s2, d2, "dispatched", due_on=today + dt.timedelta(days=30), source="random_draw")
    w.t_done = _task(w.s2, d2, "archived", due_on=today + dt.timedelta(days=5), closed_at=now)
    w.t_new = _task(None, d1, "registered")  # not dispatched: counted for the city, in no unit
    w.t_jinan = _task(w.jinan_station, dj, "executing", due_on=today - dt.timedelta(days=3))
    w.t_jinan_county = _task(w.jinan_county, "370102002001", "dispatched", due_on=today + dt.timedelta(days=2))

    w.c_over = _case(w.s1, d1, "first_visit", step_due_on=today - dt.timedelta(days=1))
    w.c_soon = _case(w.s2, d2, "rectifying", step_due_on=today + dt.timedelta(days=2), assignee=w.grid_officer)
    w.c_closed = _case(w.s2, d2, "closed")
    w.c_jinan = _case(w.jinan_station, dj, "first_visit", step_due_on=today - dt.timedelta(days=1))

    health = Department.objects.create(code=f"ov-wj{next(_n)}", name="市卫生健康局", jurisdiction="4419", division_code="441900000000")
    jhealth = Department.objects.create(code=f"ov-jw{next(_n)}", name="济南市卫健委", jurisdiction="3701", division_code="370100000000")
    matter = SupervisionMatter.objects.create(code=f"ov-m{next(_n)}", name="餐饮服务监管", deadline_rule="grid.first_visit", deadline_hours=24)
    far = now + dt.timedelta(days=60)
    w.p_claim = _push(e1, health, matter, "pushed", due_at=now - dt.timedelta(hours=2))  # overdue, awaiting claim
    w.p_feedback = _push(e2, health, matter, "claimed", due_at=now + dt.timedelta(days=1), claimed_at=now)
    w.p_far = _push(e2, health, matter, "accepted", due_at=far, claimed_at=now - dt.timedelta(days=20))
    w.p_jinan = _push(ej, jhealth, matter, "pushed", due_at=now - dt.timedelta(hours=1))

    w.clue = Clue.objects.create(number="RW-X-1", source="village", text="无照经营", division_code=d1, bureau=w.s1, state="verifying")
    Clock.objects.create(procedure="clues.clue", object_id=w.clue.pk, name="verify", division_code=d1, rule_code="penalty.clue_verify",
                         rule_version=1, unit="workday", started_on=today - dt.timedelta(days=20), due_on=today - dt.timedelta(days=1),
                         original_due_on=today - dt.timedelta(days=1))
    Clue.objects.create(number="RW-X-2", source="village", text="地址不符", division_code=d2, bureau=w.s2, state="recorded")
    Clue.objects.create(number="RW-X-3", source="village", text="济南线索", division_code=dj, bureau=w.jinan_station, state="verifying")

    version = ChecklistVersion.objects.create(number=9000 + next(_n), effective_on=today)
    w.i_problem = _inspection(e1, w.s1, w.officer, version, finished_at=now, conclusion="correct")
    w.i_ok = _inspection(e2, w.s2, w.officer, version, finished_at=now - dt.timedelta(minutes=5))
    w.i_old = _inspection(e1, w.s1, w.officer, version, finished_at=now - dt.timedelta(days=40))
    _inspection(ej, w.jinan_station, w.jinan_leader, version, finished_at=now)

    Visit.objects.create(case=w.c_soon, kind="first", officer=w.grid_officer, visited_on=today, problem_found=True)
    Visit.objects.create(case=w.c_jinan, kind="first", officer=w.grid_officer, visited_on=today)
    Warning.objects.create(item_type="grid.case", item_id=w.c_over.pk, step="first_visit", level=1, due_on=today - dt.timedelta(days=1),
                           division_code=d1, bureau=w.s1)
    Warning.objects.create(item_type="grid.case", item_id=w.c_jinan.pk, step="first_visit", level=1, due_on=today - dt.timedelta(days=1),
                           division_code=dj, bureau=w.jinan_station)
    return w


@pytest.fixture
def world(db):
    return build()


FIG = re.compile(r'<a class="fig[^"]*" data-fig="([^"]+)" href="([^"]+)">([\d,]+)</a>')


def figures(html: str) -> list[tuple[str, str, int]]:
    return [(name, unescape(url), int(n.replace(",", ""))) for name, url, n in FIG.findall(html)]


def rows_behind(client, url: str) -> int:
    r = client.get(url)
    assert r.status_code == 200, url
    return r.context["page"].total


def check_every_figure(client, url: str) -> dict:
    html = client.get(url).content.decode()
    found = figures(html)
    assert len(found) > 20, url
    by_name = {}
    for name, link, n in found:
        assert rows_behind(client, link) == n, (name, link, n)
        by_name.setdefault(name, []).append((link, n))
    return by_name


def test_every_figure_equals_its_list_for_two_jurisdictions(world, client):
    client.force_login(world.leader)
    figs = check_every_figure(client, "/")
    assert figs["task-overdue"][0][1] == 2 and figs["task-soon"][0][1] == 1 and figs["task-open"][0][1] == 5
    assert figs["case-overdue"][0][1] == 1 and figs["case-soon"][0][1] == 1 and figs["case-open"][0][1] == 2
    assert figs["push-claim"][0][1] == 1 and figs["push-feedback"][0][1] == 2 and figs["push-overdue"][0][1] == 1
    assert figs["clue-open"][0][1] == 2 and figs["clue-verifying"][0][1] == 1 and figs["clue-overdue"][0][1] == 1
    assert figs["inspections-today"][0][1] == 2 and figs["problems-today"][0][1] == 1
    assert figs["claimed-today"][0][1] == 1 and figs["visits-today"][0][1] == 1 and figs["visit_problems-today"][0][1] == 1
    assert figs["warnings-today"][0][1] == 1 and figs["task_closed-today"][0][1] == 1
    # One row per station, with its own figures.
    assert [n for _l, n in figs["unit-tasks-overdue"]] == [1, 1]
    client.force_login(world.jinan_leader)
    figs = check_every_figure(client, "/")
    assert figs["task-overdue"][0][1] == 1 and figs["task-open"][0][1] == 2 and figs["push-claim"][0][1] == 1
    assert figs["inspections-today"][0][1] == 1 and figs["clue-verifying"][0][1] == 1


def test_drill_down_levels_keep_figures_equal_to_lists(world, client):
    client.force_login(world.jinan_leader)
    html = client.get("/").content.decode()
    assert "历下区市场监督管理局" in html and "解放路市场监管所" not in html  # the city sees its county, not the station
    county = world.jinan_county.pk
    figs = check_every_figure(client, f"/?bureau={county}")
    assert figs["task-open"][0][1] == 2  # the county's own task and its station's
    assert "解放路市场监管所" in client.get(f"/?bureau={county}").content.decode()
    client.force_login(world.leader)
    figs = check_every_figure(client, f"/?division={TOWN2}")
    assert figs["task-overdue"][0][1] == 1 and figs["task-open"][0][1] == 2
    check_every_figure(client, f"/?bureau={world.s1.pk}")


def test_station_leader_sees_only_their_station(world, client):
    client.force_login(world.station_leader)
    html = client.get("/").content.decode()
    figs = {name: n for name, _l, n in figures(html)}
    assert figs["task-open"] == 3 and figs["task-overdue"] == 1 and figs["case-open"] == 1
    assert "南城市场监管所" not in html and "济南" not in html
    for name, link, n in figures(html):
        assert rows_behind(client, link) == n, name
    # Asking for another unit or division is ignored (the jurisdiction stays).
    other = {name: n for name, _l, n in figures(client.get(f"/?bureau={world.s2.pk}&division={TOWN2}").content.decode())}
    assert other["task-open"] == 3
    assert world.t_open.number not in client.get(f"/tasks/unit/?bureau={world.s2.pk}&state=all").content.decode()


def test_drill_down_from_city_to_one_overdue_item(world, client):
    client.force_login(world.leader)
    html = client.get("/").content.decode()
    unit = re.search(r'<tr data-unit="%d">.*?</tr>' % world.s1.pk, html, re.S).group(0)
    link = unescape(re.search(r'data-fig="unit-tasks-overdue" href="([^"]+)"', unit).group(1))
    assert f"bureau={world.s1.pk}" in link and "due=overdue" in link
    board = client.get(link).content.decode()
    assert world.t_over.number in board and world.t_flag.number not in board and world.t_soon.number not in board
    item = client.get(f"/tasks/{world.t_over.pk}/")
    assert item.status_code == 200 and "逾期的食品检查" in item.content.decode()
    # Grid cases: the overdue list opens the case.
    cases = unescape(re.search(r'data-fig="case-overdue" href="([^"]+)"', html).group(1))
    page = client.get(cases).content.decode()
    assert f"/grid/cases/{world.c_over.pk}/" in page and f"/grid/cases/{world.c_soon.pk}/" not in page


def test_overview_lists_need_a_leader_or_dispatcher(world, client):
    client.force_login(world.officer)
    assert client.get("/stats/overview/case/").status_code == 403
    client.force_login(world.leader)
    assert client.get("/stats/overview/nothing/").status_code == 404


def test_labels_are_chinese_and_charts_are_embedded(world, client):
    client.force_login(world.leader)
    html = client.get("/").content.decode()
    for word in ("领导首页", "在办工作", "监管任务", "网格事项", "推送事项", "线索", "今日与本周", "按单位", "按区划", "莞城街道"):
        assert word in html, word
    assert 'id="overview-trend-data"' in html and 'id="chart-units"' in html and "vendor/echarts/echarts.min.js" in html
    for code in ("executing", "first_visit", "grid.case", "dispatched"):
        assert f">{code}<" not in html


def test_other_roles_get_their_own_work(world, client):
    client.force_login(world.officer)
    html = client.get("/").content.decode()
    assert "工作台" in html and "领导首页" not in html
    assert world.t_over.number in html and "逾期" in html
    client.force_login(world.grid_officer)
    html = client.get("/").content.decode()
    assert world.c_soon.number in html
