"""Map endpoints and pages are scoped by jurisdiction; pages carry no inline script (CSP)."""
import re

import pytest

from tests.factories import make_entity, make_user
from tests.geo.conftest import square
from zhijian.entities import placing
from zhijian.geo import services
from zhijian.geo.models import Grid


@pytest.fixture
def dg_grid(dongguan):
    return services.grid_create(actor=None, code="T1", name="东城网格", level=1, division_code="441900003", geometry=square(113.70, 23.00, 113.80, 23.10))


@pytest.fixture
def insider(db):
    return make_user("grid_officer", "enforcement_officer", jurisdiction="4419")


@pytest.fixture
def jinan_user(db):
    return make_user("grid_officer", "enforcement_officer", jurisdiction="3701")


def test_grids_geojson_is_scoped(client, dg_grid, insider, jinan_user):
    services.grid_staff_assign(actor=None, grid=dg_grid, user=insider, role="supervisor")
    make_entity("441900003001", lng=113.72, lat=23.02)
    placing.grids_recount()  # the registry's own services keep counts; here the map only reads them
    client.force_login(insider)
    body = client.get("/geo/grids.geojson").json()
    assert [f["properties"]["code"] for f in body["features"]] == ["T1"]
    props = body["features"][0]["properties"]
    assert props["staff"] == [{"role": "网格监管员", "name": str(insider)}]
    assert props["entity_count"] == 1 and props["url"] == f"/geo/grids/{dg_grid.pk}/"

    client.force_login(jinan_user)
    assert client.get("/geo/grids.geojson").json()["features"] == []
    assert client.get(f"/geo/grids/{dg_grid.pk}/").status_code == 404
    assert client.get(f"/geo/grids/{dg_grid.pk}.geojson").status_code == 404


def test_grids_geojson_filters_by_level_and_bbox(client, dg_grid, insider):
    client.force_login(insider)
    assert len(client.get("/geo/grids.geojson?level=1&bbox=113.75,23.05,114,24").json()["features"]) == 1
    assert client.get("/geo/grids.geojson?bbox=114,23,115,24").json()["features"] == []
    assert client.get("/geo/grids.geojson?level=2").json()["features"] == []
    assert client.get("/geo/grids.geojson?bbox=1,2,3").status_code == 400


def test_entities_geojson_bbox_scope_and_limit(client, dongguan, insider, jinan_user):
    """The map's point layer is the registry's (``entities:map_points``); geo's old name redirects to it."""
    inside = [make_entity("441900003001", lng=113.70 + i / 1000, lat=23.02) for i in range(3)]
    make_entity("441900003001", lng=113.95, lat=23.02)  # outside the box
    make_entity("441900003001")  # no coordinates
    client.force_login(insider)
    assert client.get("/entities/map/points.geojson").status_code == 400
    body = client.get("/entities/map/points.geojson?bbox=113.6,22.9,113.8,23.1").json()
    assert sorted(f["properties"]["credit_code"] for f in body["features"]) == sorted(e.credit_code for e in inside)
    assert body["truncated"] is False
    assert body["features"][0]["geometry"]["type"] == "Point"
    limited = client.get("/entities/map/points.geojson?bbox=113.6,22.9,113.8,23.1&limit=2").json()
    assert len(limited["features"]) == 2 and limited["truncated"] is True
    assert client.get("/geo/entities.geojson?bbox=113.6,22.9,113.8,23.1&limit=2", follow=True).json() == limited
    client.force_login(jinan_user)
    assert client.get("/entities/map/points.geojson?bbox=113.6,22.9,113.8,23.1").json()["features"] == []


def test_grid_page_lists_its_entities_from_the_registry(client, dg_grid, insider, jinan_user):
    e = make_entity("441900003001", lng=113.72, lat=23.02)
    client.force_login(insider)
    page = client.get(f"/geo/grids/{dg_grid.pk}/").content.decode()
    assert f'hx-get="/entities/in-grid/{dg_grid.pk}/"' in page
    fragment = client.get(f"/entities/in-grid/{dg_grid.pk}/").content.decode()
    assert e.name in fragment and e.credit_code in fragment
    client.force_login(jinan_user)
    assert client.get(f"/entities/in-grid/{dg_grid.pk}/").status_code == 404


def test_anonymous_is_sent_to_login(client, dg_grid):
    for url in ("/geo/map/", "/geo/grids.geojson", "/entities/map/points.geojson?bbox=0,0,1,1", "/geo/divisions/", "/geo/grids/"):
        assert client.get(url).status_code == 302


def _inline_scripts(html: str) -> list[str]:
    """<script> elements that would execute and carry code in the page."""
    return [m for m in re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)]


def test_pages_render_without_inline_script(client, dg_grid, insider, settings):
    settings.TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"
    services.grid_staff_assign(actor=None, grid=dg_grid, user=insider, role="supervisor")
    client.force_login(insider)
    page = client.get("/geo/map/").content.decode()
    assert 'id="grid-map-config"' in page and "tiles.example" in page
    assert "/static/vendor/leaflet/leaflet.js" in page and "/static/geo/map.js" in page
    assert _inline_scripts(page) == []
    detail = client.get(f"/geo/grids/{dg_grid.pk}/").content.decode()
    assert "东城网格" in detail and str(insider) in detail and "网格监管员" in detail
    assert _inline_scripts(detail) == []
    listing = client.get("/geo/grids/?level=1&q=东城").content.decode()
    assert "东城网格" in listing and str(insider) in listing


def test_divisions_page_starts_at_the_jurisdiction(client, dongguan, insider, jinan_user):
    client.force_login(insider)
    root = client.get("/geo/divisions/").content.decode()
    assert "东莞市" in root and "广东省" not in root
    towns = client.get("/geo/divisions/?parent=441900").content.decode()
    assert "东城街道" in towns and "南城街道" in towns
    assert "东城甲社区" in client.get("/geo/divisions/?q=东城甲").content.decode()
    client.force_login(jinan_user)
    assert client.get("/geo/divisions/?parent=441900").status_code == 404
    assert "东城甲社区" not in client.get("/geo/divisions/?q=东城").content.decode()


def test_staff_assignment_rules(dg_grid, insider, jinan_user):
    informant = make_user("informant", jurisdiction="4419")
    from zhijian.core.errors import ApplicationError

    services.grid_staff_assign(actor=None, grid=dg_grid, user=insider, role="supervisor")
    with pytest.raises(ApplicationError, match="没有担任信息员所需的角色"):
        services.grid_staff_assign(actor=None, grid=dg_grid, user=make_user("registry_clerk", jurisdiction="4419"), role="informant")
    with pytest.raises(ApplicationError, match="辖区不包含该网格"):
        services.grid_staff_assign(actor=None, grid=dg_grid, user=jinan_user, role="supervisor")
    other = make_user("enforcement_officer", jurisdiction="4419")
    with pytest.raises(ApplicationError, match="已由"):
        services.grid_staff_assign(actor=None, grid=dg_grid, user=other, role="supervisor")
    services.grid_staff_assign(actor=None, grid=dg_grid, user=other, role="supervisor", replace=True)
    services.grid_staff_assign(actor=insider, grid=dg_grid, user=informant, role="informant")
    assert sorted(dg_grid.staff.values_list("role", "user_id")) == sorted([("supervisor", other.pk), ("informant", informant.pk)])
    with pytest.raises(ApplicationError):  # an outsider actor cannot change the grid at all
        services.grid_staff_remove(actor=jinan_user, grid=dg_grid, user=other, role="supervisor")
    assert services.grid_staff_remove(actor=insider, grid=dg_grid, user=other, role="supervisor")
    assert Grid.objects.get(pk=dg_grid.pk).staff.count() == 1
