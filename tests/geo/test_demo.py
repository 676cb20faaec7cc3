"""Demo geography for 济南 (370100): synthetic Voronoi grids that partition each county outline."""
import random
from collections import defaultdict

import pytest
from shapely.geometry import shape
from shapely.ops import unary_union

from zhijian.geo import demo, placement
from zhijian.geo.models import Grid
from zhijian.geo.reference import load_divisions


@pytest.fixture
def shandong(db):
    load_divisions(provinces=["37"])


def test_voronoi_demo_grids_partition_each_county(shandong):
    n = demo.build_demo_grids("370100", seed=7)
    assert n == Grid.objects.count()
    outlines = demo.load_city_outlines("370100")
    towns = list(Grid.objects.filter(level=1))
    assert len(towns) == 164  # every 2023 town of 济南, 高新区 (370176) included
    assert {g.division_code[:6] for g in towns} == set(outlines) | {"370176"}
    by_host = defaultdict(list)
    for g in towns:
        county = g.division_code[:6]
        by_host[demo.STATISTICAL_HOSTS.get(county, county)].append(shape(g.geometry))
    for county, outline in outlines.items():
        cells = by_host[county]
        total = sum(c.area for c in cells)
        union = unary_union(cells).area
        assert total == pytest.approx(outline.area, rel=1e-6), county  # covers the county…
        assert union == pytest.approx(total, rel=1e-6), county  # …without overlaps
    # Villages partition their town cell the same way.
    t = Grid.objects.get(code="G370102001")
    villages = [shape(g.geometry) for g in Grid.objects.filter(parent=t)]
    assert len(villages) > 1
    assert sum(v.area for v in villages) == pytest.approx(shape(t.geometry).area, rel=1e-6)
    assert unary_union(villages).area == pytest.approx(sum(v.area for v in villages), rel=1e-6)
    # A point drawn inside a village cell is placed in that village's grid.
    v = Grid.objects.filter(parent=t).order_by("code").first()
    p = demo.random_point_in(shape(v.geometry), random.Random(1))
    assert placement.locate(p.x, p.y, "").pk == v.pk
    # Re-running refreshes in place.
    assert demo.build_demo_grids("370100", seed=7) == n and Grid.objects.count() == n


def test_demo_geography_is_deterministic_by_seed(shandong):
    a = demo.build_demo_geography("370100", seed=1, villages=False)
    b = demo.build_demo_geography("370100", seed=1, villages=False)
    c = demo.build_demo_geography("370100", seed=2, villages=False)
    assert [x.geometry.wkb for x in a.cells] == [x.geometry.wkb for x in b.cells]
    assert [x.geometry.wkb for x in a.cells] != [x.geometry.wkb for x in c.cells]
    assert a.skipped_units == []


def test_random_point_in_stays_inside():
    outline = demo.load_city_outlines("370100")["370112"]
    rng = random.Random(3)
    assert all(outline.contains(demo.random_point_in(outline, rng)) for _ in range(200))
