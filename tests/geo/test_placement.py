"""Placement: point in polygon first (level 2 before level 1), else the longest division prefix;
re-placement and counts follow grid changes (the registry reacts to geo's grid events)."""
import pytest

from tests.factories import make_entity
from tests.geo.conftest import square
from zhijian.entities import placing
from zhijian.geo import placement, services
from zhijian.geo.coords import gcj02_to_wgs84, out_of_china, wgs84_to_gcj02
from zhijian.geo.models import Grid


@pytest.fixture
def grids(dongguan):
    t1 = services.grid_create(actor=None, code="T1", name="东城网格", level=1, division_code="441900003", geometry=square(113.70, 23.00, 113.80, 23.10))
    v1 = services.grid_create(actor=None, code="V1", name="东城甲网格", level=2, division_code="441900003001", geometry=square(113.70, 23.00, 113.75, 23.05), parent=t1)
    v2 = services.grid_create(actor=None, code="V2", name="东城乙网格", level=2, division_code="441900003002", geometry=None, parent=t1)
    t2 = services.grid_create(actor=None, code="T2", name="南城网格", level=1, division_code="441900004", geometry=square(113.80, 23.00, 113.90, 23.10))
    return {"t1": t1, "v1": v1, "v2": v2, "t2": t2}


def test_point_in_level2_before_level1(grids):
    assert placement.locate(113.72, 23.02, "441900004001").code == "V1"  # coordinates beat the division
    assert placement.locate(113.78, 23.08, "441900003001").code == "T1"  # only the town polygon holds it
    assert placement.locate(113.85, 23.05, "").code == "T2"


def test_boundary_point_goes_to_one_grid(grids):
    """A point on the shared edge of T1 and T2 is placed, deterministically (equal areas → lowest code)."""
    assert placement.locate(113.80, 23.05, "").code == "T1"


def test_division_prefix_fallback(grids):
    assert placement.locate(None, None, "441900003002").code == "V2"   # exact village
    assert placement.locate(None, None, "441900004001").code == "T2"   # village without grid → its town
    assert placement.locate(120.0, 30.0, "441900003001").code == "V1"  # point outside every polygon
    assert placement.locate(None, None, "441900999001") is None       # no grid under any prefix
    assert placement.locate(None, None, "") is None


def test_locate_many_can_place_as_if_a_grid_were_gone(grids):
    """``exclude``: the next best grid by polygon, then by division prefix."""
    v1, t1, v2 = grids["v1"].pk, grids["t1"].pk, grids["v2"].pk
    assert placement.locate_many([(113.72, 23.02, "")], exclude=[v1]) == [t1]
    assert placement.locate_many([(None, None, "441900003002")], exclude=[v2]) == [t1]
    assert placement.locate_many([(113.72, 23.02, "")], exclude=[v1, t1]) == [None]


def test_locate_many_agrees_with_locate(grids):
    points = [(113.72, 23.02, "x"), (113.78, 23.08, ""), (None, None, "441900004001"), (0.0, 0.0, "4419009"), (113.85, 23.05, "441900003002")]
    expected = [g.pk if g else None for g in (placement.locate(*p) for p in points)]
    assert placement.locate_many(points) == expected
    assert expected[0] == grids["v1"].pk and expected[3] is None


def test_entities_are_placed_and_counted_when_grids_are_imported_later(dongguan):
    """Entities created before any grid exist unplaced; creating a grid places and counts them."""
    a = make_entity("441900003001", lng=113.72, lat=23.02)
    b = make_entity("441900004001")
    gone = make_entity("441900003001", lng=113.73, lat=23.03, status="cancelled")
    assert a.grid_id is None and b.grid_id is None
    v1 = services.grid_create(actor=None, code="V1", name="东城甲网格", level=2, division_code="441900003001", geometry=square(113.70, 23.00, 113.75, 23.05))
    a.refresh_from_db(); b.refresh_from_db(); gone.refresh_from_db()
    assert a.grid_id == v1.pk and gone.grid_id == v1.pk and b.grid_id is None
    v1.refresh_from_db()
    assert v1.entity_count == 1  # the cancelled entity is placed but not counted


def test_replacement_after_grid_geometry_change(grids):
    e = make_entity("441900003001", lng=113.72, lat=23.02)
    assert e.grid_id == grids["v1"].pk
    # Move V1 away: the entity falls back to the town polygon around it.
    services.grid_update(actor=None, grid=grids["v1"], geometry=square(113.76, 23.06, 113.79, 23.09))
    e.refresh_from_db()
    assert e.grid_id == grids["t1"].pk
    counts = dict(Grid.objects.values_list("code", "entity_count"))
    assert counts["V1"] == 0 and counts["T1"] == 1
    # And back: a process-level index must see the change too (revision stamp).
    services.grid_update(actor=None, grid=grids["v1"], geometry=square(113.70, 23.00, 113.75, 23.05))
    e.refresh_from_db()
    assert e.grid_id == grids["v1"].pk
    assert placement.locate(113.72, 23.02, "").code == "V1"


def test_grid_delete_replaces_its_entities(grids):
    e = make_entity("441900003001", lng=113.72, lat=23.02)
    services.grid_delete(actor=None, grid=grids["v1"])
    e.refresh_from_db()
    assert e.grid_id == grids["t1"].pk
    assert Grid.objects.get(code="T1").entity_count == 1


def test_replace_all_is_a_fixed_point(grids):
    make_entity("441900003001", lng=113.72, lat=23.02)
    make_entity("441900004001", lng=113.85, lat=23.05)
    first = placing.entities_replace_all(actor=None)
    assert first.examined == 2 and first.moved == 0
    Grid.objects.filter(code="T2").update(entity_count=99)  # a stale count is repaired
    placing.entities_replace_all(actor=None)
    assert Grid.objects.get(code="T2").entity_count == 1


def test_gcj02_conversion():
    """Phone GPS (WGS-84) is shifted a few hundred metres in China, not at all outside it,
    and the inverse gets back to the start."""
    lng, lat = 117.0009, 36.6512  # 济南
    glng, glat = wgs84_to_gcj02(lng, lat)
    shift_m = (((glng - lng) * 89_000) ** 2 + ((glat - lat) * 111_000) ** 2) ** 0.5
    assert 100 < shift_m < 800
    back = gcj02_to_wgs84(glng, glat)
    assert abs(back[0] - lng) < 1e-6 and abs(back[1] - lat) < 1e-6
    assert out_of_china(2.35, 48.85) and wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


def test_level1_count_includes_its_level2_grids(grids):
    make_entity("441900003001", lng=113.72, lat=23.02)  # in V1 (child of T1)
    make_entity("441900003001", lng=113.78, lat=23.08)  # in T1 directly
    make_entity("441900004001", lng=113.85, lat=23.05)  # in T2
    placing.grids_recount()
    assert dict(Grid.objects.values_list("code", "entity_count")) == {"T1": 2, "V1": 1, "V2": 0, "T2": 1}
    Grid.objects.update(entity_count=0)
    placing.grids_recount([grids["v1"].pk])  # a child's change recounts its parent too
    assert dict(Grid.objects.values_list("code", "entity_count")) == {"T1": 2, "V1": 1, "V2": 0, "T2": 0}
