"""The officer's day on a phone, in a real browser (390×844, touch, a phone's User-Agent).

The officer signs in on the phone and lands on the phone app's “my work”: the assigned tasks, one
row per entity, nearest first (the phone gives its position), the overdue one marked. One tap on
the nearest entity prepares and opens the visit covering both of its tasks (食品销售 and 餐饮服务).
Going to the signatures with key items open is refused and the missing items are listed; once
they are answered, both officers and the representative sign and the record is submitted online:
the flash says 已上传, the record shows how many items are recorded as 未检查, and both tasks have
moved from 已派发 to 待审核, on the phone and on the desktop task pages; the entity page's timeline
shows the record and the tasks' steps. A phone that refuses its position is told so in Chinese.
Screenshots: docs/screenshots/officer-*.png."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from django.urls import reverse
from django.utils import timezone

from tests.e2e.conftest import DESKTOP, PHONE, login
from tests.factories import PASSWORD, make_bureau, make_entity, make_user

IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.4 Mobile/15E148 Safari/604.1")
HERE = {"longitude": 113.7521, "latitude": 23.0212}
PROBLEM_NOTE = "冷藏柜温度显示12℃，超出要求"


@pytest.fixture
def day(transactional_db):
    """A station, two officers, a dispatcher; a restaurant nearby with two tasks dispatched to the
    officer, a shop 3 km away with an overdue task."""
    from zhijian.inspections import loading
    from zhijian.org.choices import BureauLevel
    from zhijian.security.otp import ensure_device
    from zhijian.supervision import tasks
    from zhijian.supervision.choices import TaskSource

    loading.load_laws()
    loading.load_checklists()
    city = make_bureau("4419", name="东莞市市场监督管理局", division_code="441900000000")
    station = make_bureau("441900003", level=BureauLevel.STATION, name="莞城市场监管所", division_code="441900003000")
    station.parent = city
    station.save()
    officer = make_user("enforcement_officer", bureau=station, username="officer", full_name="李执法", enforcement_cert_no="44190019001")
    partner = make_user("enforcement_officer", bureau=station, username="partner", full_name="王协查", enforcement_cert_no="44190019002")
    dispatcher = make_user("dispatcher", bureau=station, username="dispatcher", full_name="赵调度")
    near = make_entity("441900003001", name="东莞市莞城美味轩餐饮有限公司", legal_rep="陈美味", address="东莞市莞城街道可园北路18号",
                       lng=113.7525, lat=23.0215)
    far = make_entity("441900003001", name="东莞市莞城百佳便利店", legal_rep="周百佳", address="东莞市莞城街道东正路200号",
                      lng=113.7800, lat=23.0300)
    today = timezone.localdate()
    two = [tasks.task_create(actor=dispatcher, entity=near, title=title, source=TaskSource.PATROL, business_line=line,
                             assignee=officer, due_on=today + dt.timedelta(days=10))
           for line, title in [("food_sales", "食品销售日常检查"), ("catering", "餐饮服务日常检查")]]
    late = tasks.task_create(actor=dispatcher, entity=far, title="食品销售日常检查", source=TaskSource.PATROL, business_line="food_sales",
                             assignee=officer, due_on=today - dt.timedelta(days=2))
    return {"officer": officer, "partner": partner, "near": near, "far": far, "two": two, "late": late,
            "secret": ensure_device(officer)}


def sign(page, selector: str):
    canvas = page.locator(selector)
    canvas.evaluate("el => el.scrollIntoView({block: 'center'})")
    box = canvas.bounding_box()
    x0, y0, w, hgt = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x0 + w * 0.15, y0 + hgt * 0.6)
    page.mouse.down()
    for i in range(1, 20):
        t = i / 19
        page.mouse.move(x0 + w * (0.15 + 0.7 * t), y0 + hgt * (0.6 - 0.3 * abs(((t * 4) % 2) - 1)), steps=2)
    page.mouse.up()


def test_officer_day_on_the_phone(day, live_server, browser, shot):
    from zhijian.inspections.models import CheckItem, Inspection
    from zhijian.supervision.models import Task

    base = live_server.url
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, user_agent=IPHONE_UA, locale="zh-CN",
                                geolocation=HERE, permissions=["geolocation"], service_workers="allow")
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # --- Sign in on the phone: straight to the phone app. --------------------------------------
        login(page, base, "officer", PASSWORD, day["secret"])
        assert page.url.rstrip("/").endswith("/m"), page.url
        page.wait_for_selector("html[data-ready='1']")

        # --- My work: nearest first (the phone gave its position), the overdue shop marked. -------
        page.wait_for_selector("#work-list li[data-work] [data-distance]")
        rows = page.locator("#work-list li[data-work]")
        assert rows.count() == 2
        assert rows.nth(0).get_attribute("data-work") == day["near"].credit_code
        assert rows.nth(1).get_attribute("data-work") == day["far"].credit_code
        assert rows.nth(1).get_attribute("data-overdue") == "1" and "已逾期" in rows.nth(1).inner_text()
        first = rows.nth(0).inner_text()
        assert "东莞市莞城美味轩餐饮有限公司" in first and "可园北路18号" in first
        assert "食品销售日常检查" in first and "餐饮服务日常检查" in first and "已派发" in first
        assert "按距离由近到远" in page.inner_text("#work-summary")
        shot(page, "officer-my-work")

        # --- One tap: prepared and opened, both tasks in one visit (121). ---------------------------
        page.click(f"[data-inspect='{day['near'].credit_code}']")
        page.wait_for_selector("#step-2:not([hidden])")
        assert page.locator("#i-tasks li").count() == 2
        assert page.locator(".m-line").count() == 2
        shot(page, "officer-inspection-1-items")

        # Key items open: the signatures are refused, the missing items listed.
        food = page.locator(".m-line[data-line='food_sales'] .m-item")
        food.nth(0).locator("[data-result='ok']").click()
        page.click("#to-3")
        page.wait_for_selector("#step-3:not([hidden])")
        page.click("#to-4")
        assert page.locator("#step-4").is_hidden()
        assert "重点事项须逐项检查" in page.inner_text("#flash")
        key_open = CheckItem.objects.filter(business_line__code__in=["food_sales", "catering"], version__number=1, key_item=True).count() - 1
        assert page.locator("#key-missing-list li").count() == key_open
        shot(page, "officer-inspection-2-key-items")

        # Answer every key item (one problem, with its note), then decide and sign.
        page.click(".m-steps [data-goto='2']")
        for line in ("food_sales", "catering"):
            items = page.locator(f".m-line[data-line='{line}'] .m-item")
            for i in range(items.count()):
                item = items.nth(i)
                if item.locator(".badge.bad").count() == 0 or item.locator("[aria-pressed='true']").count():
                    continue  # not a key item, or already answered
                if line == "food_sales" and i == 2:
                    item.locator("[data-result='problem']").click()
                    item.locator(".m-note").fill(PROBLEM_NOTE)
                else:
                    item.locator("[data-result='ok']").click()
        page.click("#to-3")
        page.wait_for_selector("#step-3:not([hidden])")
        assert page.locator("#key-missing").is_hidden()
        unchecked_note = page.inner_text("#unchecked-note")
        assert "未检查" in unchecked_note
        page.click("#to-4")
        page.wait_for_selector("#step-4:not([hidden])")
        page.select_option("#officer-2", str(day["partner"].pk))
        sign(page, ".m-sign[data-signer='officer1'] canvas")
        sign(page, ".m-sign[data-signer='officer2'] canvas")
        sign(page, ".m-sign[data-signer='representative'] canvas")
        shot(page, "officer-inspection-3-signed")
        page.click("#submit")

        # --- Uploaded at once (online): the flash says so, the tasks moved on. ----------------------
        synced = page.locator("#outbox li[data-state='synced']")
        synced.wait_for(timeout=30_000)
        page.locator("#flash:has-text('已上传')").wait_for()  # (the page's CSP forbids wait_for_function's eval)
        assert "联网后自动上传" not in page.inner_text("#flash")
        inspection = Inspection.objects.get()
        unchecked = inspection.results.filter(result="unchecked").count()
        assert unchecked > 0 and synced.locator("[data-unchecked]").get_attribute("data-unchecked") == str(unchecked)
        moved = synced.locator("[data-moved-task]")
        assert moved.count() == 2
        assert all(moved.nth(i).get_attribute("data-state") == "review" for i in range(2))
        assert "待审核" in synced.inner_text()
        assert sorted(Task.objects.filter(pk__in=[t.pk for t in day["two"]]).values_list("state", flat=True)) == ["review", "review"]
        # My work now holds only the overdue shop.
        expect(page.locator("#work-list li[data-work]")).to_have_count(1)
        assert page.locator("#work-list li[data-work]").get_attribute("data-work") == day["far"].credit_code
        synced.scroll_into_view_if_needed()
        shot(page, "officer-inspection-4-synced")
        assert errors == []

        # --- A phone that refuses its position is told so in Chinese. -------------------------------
        denied = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, user_agent=IPHONE_UA, locale="zh-CN",
                                     storage_state=phone.storage_state(), service_workers="block")
        try:
            p2 = denied.new_page()
            p2.goto(f"{base}/m/")
            p2.wait_for_selector("#work-msg:not([hidden])")
            message = p2.inner_text("#work-msg")
            assert "定位" in message and "Geolocation" not in message and "denied" not in message.lower()
        finally:
            denied.close()
    finally:
        phone.close()

    # --- The desktop: both task pages say 待审核; the entity page's timeline shows the day. -----------
    desk = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        page = desk.new_page()
        login(page, base, "officer", PASSWORD, day["secret"])
        assert "/m/" not in page.url
        for task in day["two"]:
            page.goto(base + reverse("supervision:task_detail", args=[task.pk]))
            assert "待审核" in page.inner_text("main")
        shot(page, "officer-tasks-moved")
        page.goto(base + reverse("entities:detail", args=[day["near"].credit_code]))
        timeline = page.locator("#timeline")
        text = timeline.inner_text()
        assert inspection.number in text and "现场检查" in text and "监管任务" in text and "提交审核" in text
        assert "检查文书" in text
        timeline.scroll_into_view_if_needed()
        shot(page, "officer-entity-timeline")
    finally:
        desk.close()
