"""The command centre in a real browser: true totals, count bubbles per grid with the division names
drawn (no base map configured), the items of the view once zoomed in, the change feed answering 304
when nothing moved, and no flag in the attribution. Screenshot: docs/screenshots/command-centre.png."""
import pytest
from django.test import override_settings

from tests.e2e.conftest import DESKTOP, login
from tests.factories import PASSWORD, make_entity
from tests.grid.conftest import VILLAGE_E, VILLAGE_W, build_city

EAST_TOWN = {"type": "Polygon", "coordinates": [[[113.80, 22.98], [113.90, 22.98], [113.90, 23.06], [113.80, 23.06], [113.80, 22.98]]]}
VILLAGE_X = "441900004001"


@pytest.fixture
def world(transactional_db):
    from zhijian.geo import placement
    from zhijian.geo.models import Division, Grid
    from zhijian.grid import cases
    from zhijian.grid.choices import Trigger
    from zhijian.security.otp import ensure_device

    c = build_city()
    Division.objects.create(code="441900004", name="东城街道", level=4, parent_id="441900")
    Division.objects.create(code=VILLAGE_X, name="桑园社区", level=5, parent_id="441900004")
    town = Grid.objects.create(code="G441900004", name="东城街道网格", level=1, division_code="441900004", geometry=EAST_TOWN)
    Grid.objects.create(code="G" + VILLAGE_X, name="桑园社区网格", level=2, division_code=VILLAGE_X, geometry=EAST_TOWN, parent=town)
    placement.invalidate()
    n = 0
    for code, lng, count in [(VILLAGE_W, 113.72, 14), (VILLAGE_E, 113.77, 9), (VILLAGE_X, 113.85, 6)]:
        for i in range(count):
            e = make_entity(code, lng=lng + (i % 5) * 0.004, lat=23.00 + (i // 5) * 0.01, address=f"测试路{i}号")
            cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=e, trigger_ref=f"cc{n}")
            n += 1
    c.total = n
    c.secrets = {"countyhead": ensure_device(c.county_head)}
    return c


@override_settings(TILE_URL="", COMMAND_POLL_SECONDS=1)
def test_command_centre_counts_names_items_and_feed(world, live_server, browser, shot):
    url = live_server.url
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    errors, feed = [], []
    # (The browser's own favicon request is not the page's: no icon is configured yet.)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "/grid/command/" in page.url
            and "favicon" not in m.location.get("url", "") else None)
    page.on("pageerror", lambda e: errors.append(str(e)) if "/grid/command/" in page.url else None)
    page.on("requestfailed", lambda r: errors.append(f"failed {r.url}") if "favicon" not in r.url else None)
    page.on("response", lambda r: feed.append(r.status) if "/grid/command/feed.json" in r.url else None)
    answered = set()
    page.on("response", lambda r: answered.add(r.url) if r.status == 304 else None)
    login(page, url, "countyhead", PASSWORD, world.secrets["countyhead"])

    errors.clear()  # only this page's
    page.goto(f"{url}/grid/command/")
    # True totals at once (rendered by the server), then the count bubbles and the division names.
    assert page.inner_text("#count-open") == str(world.total) == "29"
    page.wait_for_selector("#command-map[data-bubbles='3']", timeout=15_000)
    page.wait_for_selector(".division-label span:has-text('南城街道')")
    page.wait_for_selector(".division-label span:has-text('东城街道')")
    assert page.locator("#map-loading").is_hidden()
    bubbles = sorted(page.locator(".count-bubble span").all_inner_texts(), key=int)
    assert bubbles == ["6", "9", "14"]
    assert page.inner_text("#area-list").split() == ["宏图社区", "14", "元美社区", "9", "桑园社区", "6"]
    attribution = page.locator(".leaflet-control-attribution")
    assert attribution.inner_text().strip() == "Leaflet" and attribution.locator("svg").count() == 0
    shot(page, "command-centre")

    # Nothing changes: the feed keeps answering 304 (after the first full answer).
    page.wait_for_timeout(3500)
    assert feed[0] == 200 and 304 in feed[1:], feed

    # Zoomed in, every open item of the view is drawn (fewer than the limit here).
    page.click(".leaflet-control-zoom-in")
    page.wait_for_timeout(600)
    page.click(".leaflet-control-zoom-in")
    page.wait_for_selector("#command-map[data-mode='items']", timeout=10_000)
    assert "件在办事项" in page.inner_text("#command-note")
    # Chromium reports a fetch answered 304 (no body) as "failed" although the page got it.
    errors = [e for e in errors if not (e.startswith("failed ") and e[len("failed "):] in answered)]
    assert errors == [], errors
    ctx.close()
