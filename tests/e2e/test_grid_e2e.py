"""Grid supervision in a real browser: a dispatcher assigns a case, the officer completes the first
visit (4+2 items) on a phone, the command centre shows it, and an emergency order is acknowledged
by two officers on their phones while the centre watches. Screenshots: docs/screenshots/grid-*.png."""
import pytest
from django.test import override_settings

from tests.e2e.conftest import DESKTOP, PHONE, login
from tests.factories import PASSWORD
from tests.grid.conftest import build_city

# Inside 宏图社区网格 (WGS-84, as a phone's GPS gives it; the server converts to GCJ-02).
HERE = {"latitude": 23.012, "longitude": 113.716}
NEARBY = {"latitude": 23.018, "longitude": 113.722}


@pytest.fixture
def world(transactional_db):
    from zhijian.grid import cases
    from zhijian.grid.choices import Trigger
    from zhijian.security.otp import ensure_device

    c = build_city()
    c.secrets = {u.username: ensure_device(u) for u in (c.dispatcher, c.officer, c.officer2)}
    c.case = cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=c.entity, trigger_ref="push:event:e2e")
    return c


def _phone(browser, geo):
    return browser.new_context(viewport=PHONE, locale="zh-CN", geolocation=geo, permissions=["geolocation"], is_mobile=True, has_touch=True)


def _errors(page):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None)
    return errors


@override_settings(GRID_POSITION_MIN_INTERVAL=5)
def test_assign_visit_command_and_emergency_order(world, live_server, browser, shot):
    url = live_server.url
    case = world.case

    # 1. The dispatcher assigns the case to its grid (the grid's supervisor takes it).
    desk = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    dpage = desk.new_page()
    derr = _errors(dpage)
    login(dpage, url, "dispatcher", PASSWORD, world.secrets["dispatcher"])
    dpage.goto(f"{url}/grid/")
    assert case.number in dpage.inner_text("#pending")
    dpage.goto(f"{url}/grid/cases/{case.pk}/")
    dpage.select_option("#assign-form select[name=grid]", str(world.west.pk))
    shot(dpage, "grid-01-assign")
    dpage.click("#assign-form button")
    dpage.wait_for_selector("text=已分派")
    assert dpage.inner_text("#case-assignee") == "李网格"
    assert dpage.inner_text("#case-state") == "待首次走访"

    # 2. The officer does the first visit on the phone: six items, one problem -> written notice.
    octx = _phone(browser, HERE)
    opage = octx.new_page()
    oerr = _errors(opage)
    login(opage, url, "officer", PASSWORD, world.secrets["officer"])
    opage.goto(f"{url}/grid/")
    opage.click(f"text={world.entity.name}")
    opage.wait_for_selector("#visit-form")
    opage.wait_for_selector("#visit-form .geo-status:has-text('已定位')")  # (CSP forbids wait_for_function's eval)
    for matter in ["address", "operating", "licence", "unlicensed", "annual_report"]:
        opage.check(f"#visit-form input[name=result_{matter}][value=ok]")
    opage.check("#visit-form input[name=result_display][value=problem]")
    opage.fill("#visit-form input[name=note_display]", "营业执照未在醒目位置悬挂")
    shot(opage, "grid-02-visit-phone", full_page=True)
    opage.click("#visit-form button")
    opage.wait_for_selector("#notice-link")
    assert opage.inner_text("#case-state") == "限期整改（待复查）"
    shot(opage, "grid-03-notice-phone", full_page=True)
    case.refresh_from_db()
    assert case.notice_number and case.visits.get().lng is not None

    # 3. Both officers go on duty (consent) on their phones; positions are reported.
    opage.goto(f"{url}/grid/duty/")
    opage.click("#duty-start")  # without consent: refused
    opage.wait_for_selector("text=请勾选同意后再上岗")
    opage.check("#consent")
    opage.click("#duty-start")
    opage.wait_for_selector("text=位置已上报", timeout=15_000)
    o2ctx = _phone(browser, NEARBY)
    o2page = o2ctx.new_page()
    o2err = _errors(o2page)
    login(o2page, url, "officer2", PASSWORD, world.secrets["officer2"])
    o2page.goto(f"{url}/grid/duty/")
    o2page.check("#consent")
    o2page.click("#duty-start")
    o2page.wait_for_selector("text=位置已上报", timeout=15_000)
    shot(o2page, "grid-04-duty-phone")

    # 4. The command centre shows the case (now rectifying) and the two officers.
    dpage.goto(f"{url}/grid/command/")
    dpage.wait_for_selector("#count-officers:text-is('2')", timeout=15_000)
    assert dpage.inner_text("#count-open") == "1"
    assert dpage.locator("#officer-list li").count() == 2
    dpage.wait_for_selector("#command-map[data-grids-loaded='2']")
    box = dpage.locator("#command-map").bounding_box()
    dpage.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.9)  # clear of the count bubbles
    dpage.wait_for_selector("#picked:has-text('已选择事发位置')")
    dpage.fill("#order-form input[name=title]", "农贸市场突发纠纷，请就近到场处置")
    dpage.fill("#order-form input[name=wanted]", "2")
    shot(dpage, "grid-05-command", full_page=True)
    dpage.click("#order-form button")
    dpage.wait_for_selector("text=应急指令已下达给 2 人")

    # 5. Each officer sees the order on the phone (htmx poll) and acknowledges it.
    for page in (opage, o2page):
        page.wait_for_selector("#my-orders button.ack", timeout=15_000)
        page.click("#my-orders button.ack")
        page.wait_for_selector("#my-orders .badge:has-text('已确认')", timeout=10_000)
    shot(o2page, "grid-06-order-ack-phone")

    # 6. The centre sees both acknowledgements live (its orders panel polls).
    dpage.wait_for_selector("#orders .recipient.acked >> nth=1", timeout=15_000)
    assert dpage.locator("#orders .recipient.acked").count() == 2
    shot(dpage, "grid-07-command-acks", full_page=True)
    for errs in (derr, oerr, o2err):
        assert errs == []
    for ctx in (desk, octx, o2ctx):
        ctx.close()
