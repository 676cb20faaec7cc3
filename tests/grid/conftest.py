"""A small 东莞 town with two village grids, its station, county and city bureaus and people."""
from __future__ import annotations

import pytest

from tests.factories import make_bureau, make_entity, make_user

# Two village grids side by side inside one town grid (GCJ-02).
TOWN = {"type": "Polygon", "coordinates": [[[113.70, 22.98], [113.80, 22.98], [113.80, 23.06], [113.70, 23.06], [113.70, 22.98]]]}
WEST = {"type": "Polygon", "coordinates": [[[113.70, 22.98], [113.75, 22.98], [113.75, 23.06], [113.70, 23.06], [113.70, 22.98]]]}
EAST = {"type": "Polygon", "coordinates": [[[113.75, 22.98], [113.80, 22.98], [113.80, 23.06], [113.75, 23.06], [113.75, 22.98]]]}
VILLAGE_W = "441900003001"
VILLAGE_E = "441900003002"


class City:
    pass


def build_city():
    from zhijian.geo import placement
    from zhijian.geo.models import Division, Grid, GridStaff
    from zhijian.org.choices import BureauLevel
    from zhijian.org.models import Department

    for code, name, level, parent in [("44", "广东省", 1, None), ("4419", "东莞市", 2, "44"), ("441900", "东莞市", 3, "4419"),
                                      ("441900003", "南城街道", 4, "441900"), (VILLAGE_W, "宏图社区", 5, "441900003"),
                                      (VILLAGE_E, "元美社区", 5, "441900003")]:
        Division.objects.get_or_create(code=code, defaults={"name": name, "level": level, "parent_id": parent})
    c = City()
    c.town = Grid.objects.create(code="G441900003", name="南城街道网格", level=1, division_code="441900003", geometry=TOWN)
    c.west = Grid.objects.create(code="G" + VILLAGE_W, name="宏图社区网格", level=2, division_code=VILLAGE_W, geometry=WEST, parent=c.town)
    c.east = Grid.objects.create(code="G" + VILLAGE_E, name="元美社区网格", level=2, division_code=VILLAGE_E, geometry=EAST, parent=c.town)
    placement.invalidate()
    c.city_bureau = make_bureau("4419", name="东莞市市场监督管理局", division_code="4419")
    c.county = make_bureau("441900", level=BureauLevel.COUNTY, name="东莞市市场监督管理局（区县级）", division_code="441900")
    c.county.parent = c.city_bureau
    c.county.save()
    c.station = make_bureau("441900003", level=BureauLevel.STATION, name="南城市场监督管理所", division_code="441900003")
    c.station.parent = c.county
    c.station.save()
    c.dispatcher = make_user("dispatcher", bureau=c.station, username="dispatcher", full_name="陈调度")
    c.officer = make_user("grid_officer", bureau=c.station, username="officer", full_name="李网格")
    c.officer2 = make_user("grid_officer", bureau=c.station, username="officer2", full_name="王网格")
    c.officer3 = make_user("grid_officer", bureau=c.station, username="officer3", full_name="赵网格")
    c.head = make_user("leader", bureau=c.station, username="stationhead", full_name="周所长")
    c.county_head = make_user("leader", bureau=c.county, username="countyhead", full_name="吴局长")
    c.assistant = make_user("assistant", bureau=c.station, username="assistant", full_name="郑协管")
    c.informant = make_user("informant", bureau=c.station, username="informant", full_name="孙信息")
    GridStaff.objects.create(grid=c.west, user=c.officer, role="supervisor")
    GridStaff.objects.create(grid=c.east, user=c.officer2, role="supervisor")
    GridStaff.objects.create(grid=c.west, user=c.assistant, role="assistant")
    GridStaff.objects.create(grid=c.west, user=c.informant, role="informant")
    c.health = Department.objects.create(name="东莞市卫生健康局", code="health-441900", division_code="441900", jurisdiction="4419")
    c.entity = make_entity(VILLAGE_W, name="东莞市宏图便利店有限公司", lng=113.72, lat=23.01, industry_code="5212",
                           address="东莞市南城街道宏图路1号")
    return c


@pytest.fixture
def city(db):
    _grid_rule_data()
    return build_city()


def _grid_rule_data():
    """The rule data grid/migrations/0006 sets (the grid rules remind 2 working days ahead),
    again: a transactional test's flush empties it and tests/conftest.py re-seeds only the rules."""
    from importlib import import_module

    from django.apps import apps

    import_module("zhijian.grid.migrations.0006_kernel_clocks_clues").rules(apps, None)


def drain():
    """Run the event dispatcher synchronously until nothing is due (the in-process handlers: push,
    the village task → case hand-over, the case's end → task and referral; then webhooks) and fail
    on any handler error."""
    from tests.coordination.conftest import drain as dispatch
    from zhijian.core.models import Event

    dispatch()
    failed = list(Event.objects.exclude(last_error="").values_list("type", "last_error"))
    assert not failed, failed  # a handler that raised would only be retried later: make it loud here


def sweep(today, *, now=None) -> dict:
    """The clock registry's one sweep on ``today``, then the handlers (the grid's warnings come
    from the sweep's ``clock.*`` events). Returns the new warnings, {(item type, level): n}."""
    from collections import Counter

    from zhijian.deadlines import clocks
    from zhijian.grid.models import Warning

    before = set(Warning.objects.values_list("id", flat=True))
    clocks.sweep(today)
    drain()
    return dict(Counter((w.item_type, w.level) for w in Warning.objects.exclude(id__in=before)))
