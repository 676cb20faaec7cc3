"""The unit task board: paged with a total, filters (state, due, unit with its sub-units, division,
person, source, registered/closed since) kept in the pager's links, all scoped by jurisdiction."""
import datetime as dt
import itertools
import re

import pytest
from django.utils import timezone

from tests.factories import make_bureau, make_user
from tests.supervision.conftest import OTHER_AREA, STATION_AREA
from zhijian.org.choices import BureauLevel
from zhijian.supervision.models import Task

pytestmark = pytest.mark.django_db
_n = itertools.count(1)


def task(bureau, division_code, state="dispatched", **fields):
    n = next(_n)
    return Task.objects.create(title=f"看板任务{n}", number=f"BD-{n:04d}", division_code=division_code, state=state, bureau=bureau, **fields)


@pytest.fixture
def leader(city):
    return make_user("leader", bureau=city)


@pytest.fixture
def board(city, station, other_station, officer_a):
    today = timezone.localdate()
    b = type("Board", (), {})()
    b.over = task(station, STATION_AREA + "001", "executing", due_on=today - dt.timedelta(days=1), assignee=officer_a, source="complaint")
    b.soon = task(station, STATION_AREA + "002", due_on=today + dt.timedelta(days=2), source="patrol")
    b.later = task(other_station, OTHER_AREA + "001", due_on=today + dt.timedelta(days=20), source="patrol")
    b.done = task(other_station, OTHER_AREA + "001", "archived", due_on=today, closed_at=timezone.now())
    b.jinan = task(make_bureau("3701"), "370102001001", "executing", due_on=today - dt.timedelta(days=5))
    return b


def numbers(response) -> set[str]:
    return set(re.findall(r"BD-\d{4}", response.content.decode()))


def test_board_is_paged_with_a_total_and_keeps_filters_in_links(client, leader, station):
    for i in range(62):
        task(station, STATION_AREA + "001", due_on=timezone.localdate() + dt.timedelta(days=10 + i), source="patrol")
    client.force_login(leader)
    r = client.get("/tasks/unit/?source=patrol")
    page = r.context["page"]
    assert page.total == 62 and len(page.rows) == 50 and page.num_pages == 2
    html = r.content.decode()
    assert "第 1–50 条，共 62 条" in html and "?source=patrol&amp;page=2" in html
    r2 = client.get("/tasks/unit/?source=patrol&page=2")
    assert len(r2.context["page"].rows) == 12 and not numbers(r) & numbers(r2)
    # Earliest due date first.
    dues = [t.due_on for t in r.context["page"].rows]
    assert dues == sorted(dues)


@pytest.mark.parametrize("query, expected", [
    ("", {"over", "soon", "later"}),
    ("state=all", {"over", "soon", "later", "done"}),
    ("state=archived", {"done"}),
    ("due=overdue", {"over"}),
    ("overdue=1", {"over"}),
    ("due=soon", {"soon"}),
    ("source=patrol", {"soon", "later"}),
    (f"division={OTHER_AREA}", {"later"}),
    ("assignee={officer}", {"over"}),
    ("bureau={station}", {"over", "soon"}),
    ("bureau={city}&state=all", {"over", "soon", "later", "done"}),  # the city bureau and its stations
    ("bureau={other}&due=overdue", set()),
    ("closed={today}&state=all", {"done"}),
])
def test_board_filters(client, leader, board, city, station, other_station, officer_a, query, expected):
    client.force_login(leader)
    query = query.format(officer=officer_a.pk, station=station.pk, city=city.pk, other=other_station.pk, today=timezone.localdate().isoformat())
    r = client.get(f"/tasks/unit/?{query}")
    assert r.status_code == 200
    want = {getattr(board, name).number for name in expected}
    assert numbers(r) == want and r.context["page"].total == len(want)


def test_board_stays_in_the_jurisdiction(client, board, station):
    station_leader = make_user("leader", bureau=station)
    client.force_login(station_leader)
    assert numbers(client.get("/tasks/unit/?state=all")) == {board.over.number, board.soon.number}
    jinan_bureau = board.jinan.bureau
    assert numbers(client.get(f"/tasks/unit/?bureau={jinan_bureau.pk}&state=all")) == set()


def test_board_filter_form_offers_names_not_codes(client, leader, board, station):
    client.force_login(leader)
    html = client.get(f"/tasks/unit/?bureau={station.pk}").content.decode()
    assert "莞城市场监管所" in html and "日常巡查" in html and "已逾期" in html
    assert ">patrol<" not in html and f">{STATION_AREA}<" not in html


def test_sub_units_by_jurisdiction(leader, city, station):
    from zhijian.supervision.queries import bureaus_under

    sub = make_bureau(STATION_AREA + "001", level=BureauLevel.STATION, name="莞城某片区")
    assert set(bureaus_under(leader, station.pk)) == {station.pk, sub.pk}
    assert city.pk in bureaus_under(leader, city.pk)
