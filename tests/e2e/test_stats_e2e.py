"""The efficiency watch in a real browser: the charts draw from the embedded JSON under the strict
CSP, on a desktop and on a phone (resize). Screenshots: docs/screenshots/stats-*.png."""
import pytest

from tests.analytics.conftest import FROM, TO, build_world
from tests.e2e.conftest import DESKTOP, PHONE, login
from tests.factories import PASSWORD


@pytest.fixture
def world(transactional_db):
    from zhijian.security.otp import ensure_device

    w = build_world()
    w.secret = ensure_device(w.leader)
    return w


def _errors(page):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return errors


def _canvas_count(page, chart_id):
    return page.locator(f"#{chart_id} canvas").count()


def test_efficiency_charts_desktop_and_phone(world, live_server, browser, shot):
    url = live_server.url
    desk = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = desk.new_page()
    errors = _errors(page)
    login(page, url, world.leader.username, PASSWORD, world.secret)
    page.goto(f"{url}/stats/efficiency/?from={FROM}&to={TO}")
    page.locator("html[data-charts-ready='3']").wait_for(state="attached")  # (CSP forbids wait_for_function's eval)
    for chart in ("chart-overdue", "chart-completion", "chart-units"):
        assert _canvas_count(page, chart) >= 1, chart
    assert page.locator("#table-efficiency tbody tr").first.inner_text().startswith("1")
    page.wait_for_timeout(600)  # let the line animation finish before the picture
    shot(page, "stats-efficiency", full_page=True)
    # Going narrow resizes the charts to the new width.
    before = page.evaluate("document.querySelector('#chart-overdue canvas').getBoundingClientRect().width")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(400)
    after = page.evaluate("document.querySelector('#chart-overdue canvas').getBoundingClientRect().width")
    assert after < before and after <= PHONE["width"]
    page.goto(f"{url}/stats/?from={FROM}&to={TO}&period=week")
    assert page.locator("#table-push-department").is_visible()
    page.wait_for_timeout(200)
    shot(page, "stats-phone")
    assert not errors, errors
    desk.close()
