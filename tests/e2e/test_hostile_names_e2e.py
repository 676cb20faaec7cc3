"""Names are text on every map (issue 14, finding 5): an entity, grid or division named like an HTML tag
shows as those characters in the tooltip/popup and never becomes an element — the entity page's map,
/geo/map/ and the command centre."""
import pytest
from django.test import override_settings

from tests.e2e.conftest import DESKTOP, login
from tests.factories import PASSWORD
from tests.grid.conftest import VILLAGE_W, build_city

HOSTILE = '<img src=x onerror=alert(1)>'


@pytest.fixture
def world(transactional_db):
    from zhijian.geo import placement
    from zhijian.geo.models import Division, Grid
    from zhijian.entities.models import MarketEntity
    from zhijian.grid import cases
    from zhijian.grid.choices import Trigger
    from zhijian.security.otp import ensure_device

    c = build_city()
    Division.objects.filter(code=VILLAGE_W).update(name=HOSTILE + "宏图社区")
    Grid.objects.filter(pk=c.town.pk).update(name=HOSTILE + "南城街道网格")
    MarketEntity.objects.filter(pk=c.entity.pk).update(name=HOSTILE + "便利店")
    placement.invalidate()
    cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=c.entity, trigger_ref="hostile-1")
    c.secret = ensure_device(c.county_head)
    return c


def _no_injected_element(page):
    assert page.locator("img[src='x']").count() == 0
    assert page.locator(".leaflet-pane img:not(.leaflet-marker-icon):not(.leaflet-marker-shadow):not(.leaflet-tile)").count() == 0


@override_settings(TILE_URL="", COMMAND_POLL_SECONDS=60)
def test_hostile_names_are_text_on_every_map(world, live_server, browser):
    url = live_server.url
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    login(page, url, "countyhead", PASSWORD, world.secret)

    # The entity page's map: the pin's tooltip.
    page.goto(f"{url}/entities/{world.entity.credit_code}/")
    page.hover("#entity-map .leaflet-marker-icon")
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for()
    assert HOSTILE + "便利店" in tip.inner_text()
    _no_injected_element(page)

    # /geo/map/: the town grid fills the fitted view; its tooltip on hover, its popup on click.
    page.goto(f"{url}/geo/map/")
    page.wait_for_selector("#grid-map canvas", timeout=10_000)
    box = page.locator("#grid-map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] / 2 + 3, box["y"] + box["height"] / 2 + 3)
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for(timeout=10_000)
    assert HOSTILE + "南城街道网格" in tip.inner_text()
    page.mouse.click(box["x"] + box["width"] / 2 + 3, box["y"] + box["height"] / 2 + 3)
    popup = page.locator(".leaflet-popup-content h3")
    popup.wait_for(timeout=10_000)
    assert popup.inner_text() == HOSTILE + "南城街道网格"
    _no_injected_element(page)

    # The command centre: the area bubble's tooltip names the division.
    page.goto(f"{url}/grid/command/")
    page.wait_for_selector("#command-map[data-bubbles='1']", timeout=15_000)
    page.locator(".count-bubble").dispatch_event("mouseover")
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for(timeout=10_000)
    assert HOSTILE + "宏图社区" in tip.inner_text()
    assert HOSTILE + "宏图社区" in page.inner_text("#area-list")
    _no_injected_element(page)
    ctx.close()
