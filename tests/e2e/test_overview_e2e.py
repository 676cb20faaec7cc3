"""A leader signs in, lands on the leader overview (charts drawn under the strict CSP) and drills
down: city → a station → its overdue tasks → one overdue task. Screenshots:
docs/screenshots/leader-overview.png, leader-drilldown-*.png."""
import pytest

from tests.analytics.test_overview import build
from tests.e2e.conftest import DESKTOP, login
from tests.factories import PASSWORD


@pytest.fixture
def world(transactional_db):
    from zhijian.security.otp import ensure_device

    w = build()
    w.secret = ensure_device(w.leader)
    return w


def _errors(page):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return errors


def test_leader_overview_drills_down_to_one_overdue_item(world, live_server, browser, shot):
    url = live_server.url
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    errors = _errors(page)
    login(page, url, world.leader.username, PASSWORD, world.secret)
    assert page.url.rstrip("/") == url  # the home page is the overview
    page.wait_for_selector('html[data-charts-ready]', state="attached")
    assert page.evaluate("document.documentElement.dataset.chartsReady") == "2", errors
    assert page.locator("h1").inner_text() == "领导首页"
    assert page.locator("#chart-trend canvas").count() >= 1 and page.locator("#chart-units canvas").count() >= 1
    assert page.locator('[data-fig="task-overdue"]').inner_text() == "2"
    page.wait_for_timeout(500)
    shot(page, "leader-overview", full_page=True)

    # City → the 莞城 station's overview.
    page.click(f'tr[data-unit="{world.s1.pk}"] a.unit-drill')
    page.wait_for_load_state("networkidle")
    assert "莞城市场监管所" in page.locator("#overview-crumbs").inner_text()
    assert page.locator('[data-fig="task-overdue"]').inner_text() == "1"
    page.wait_for_timeout(300)
    shot(page, "leader-drilldown-1-unit", full_page=True)

    # The station's overdue tasks: the board, filtered.
    page.click('[data-fig="task-overdue"]')
    page.wait_for_load_state("networkidle")
    assert "/tasks/unit/" in page.url and "due=overdue" in page.url
    rows = page.locator("#unit-tasks tbody tr")
    assert rows.count() == 1 and world.t_over.number in rows.first.inner_text()
    assert page.locator("#f-due").input_value() == "overdue"
    shot(page, "leader-drilldown-2-list", full_page=True)

    # One overdue item.
    page.click(f"#unit-tasks a[href='/tasks/{world.t_over.pk}/']")
    page.wait_for_load_state("networkidle")
    assert "逾期的食品检查" in page.content()
    shot(page, "leader-drilldown-3-item", full_page=True)
    assert not errors, errors
    ctx.close()
