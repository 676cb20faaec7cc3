"""The administrator in a real browser: signs in with password and TOTP (no separate admin login),
opens the admin, enters next year's holidays (2027 rest days and make-up workdays) and the 暂定
mark leaves a 2027 due date; a leader trying /admin/ gets the Chinese explanation; an unknown page
is a Chinese 404 with the navigation.
Screenshots: docs/screenshots/admin-holidays.png, admin-denied.png, error-404.png."""
import pytest
from freezegun import freeze_time

from tests.e2e.conftest import DESKTOP, login
from tests.factories import PASSWORD, make_bureau, make_entity, make_user
from zhijian.org.choices import BureauLevel

SCHEDULE_2027 = """2027-01-01 至 2027-01-03 休 元旦
2027-02-06 至 2027-02-12 休 春节
2027-02-14 班 春节调休
2027-04-05 休 清明节
2027-05-01 至 2027-05-05 休 劳动节
2027-04-25 班 劳动节调休
"""


@pytest.fixture
def world(transactional_db):
    from zhijian.deadlines.services import load_deadline_rules, load_holidays
    from zhijian.deadlines.workdays import invalidate_cache
    from zhijian.security.otp import ensure_device
    from zhijian.supervision import tasks

    invalidate_cache()
    load_deadline_rules()
    load_holidays()  # up to 2026: 2027 is not published yet
    city = make_bureau("4419", name="东莞市市场监督管理局", division_code="441900000000")
    station = make_bureau("441900003", level=BureauLevel.STATION, name="莞城市场监管所", division_code="441900003000")
    dispatcher = make_user("dispatcher", bureau=city, username="dispatcher", full_name="周调度")
    leader = make_user("leader", bureau=city, username="leader", full_name="王局长")
    sysadmin = make_user("system_admin", bureau=city, username="sysadmin", full_name="系统管理员")
    entity = make_entity("441900003001", name="东莞市莞城示范食品商行")
    with freeze_time("2026-12-20 09:00:00+08:00"):
        task = tasks.task_create(actor=dispatcher, entity=entity, title="年末走访", source="patrol", deadline_rule="grid.first_visit",
                                 bureau=station)
    assert task.due_on.year == 2027 and task.due_provisional
    yield type("World", (), {"task": task, "secrets": {u.username: ensure_device(u) for u in (dispatcher, leader, sysadmin)}})
    invalidate_cache()


def test_administrator_enters_next_years_holidays_and_a_leader_is_told_why_not(world, live_server, browser, shot):
    url = live_server.url
    # The dispatcher sees the 2027 due date marked 暂定.
    watcher = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    login(watcher, url, "dispatcher", PASSWORD, world.secrets["dispatcher"])
    watcher.goto(f"{url}/tasks/{world.task.pk}/")
    assert "暂定" in watcher.inner_text("main")

    # The administrator: the same sign-in pages, then the admin.
    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    login(page, url, "sysadmin", PASSWORD, world.secrets["sysadmin"])
    page.click("nav.menu >> text=管理")
    page.wait_for_selector("#site-name")
    assert "节假日" in page.inner_text("#content")
    page.goto(f"{url}/admin/deadlines/holiday/")
    page.click("#enter-schedule")
    page.fill("#id_year", "2027")
    page.fill("#id_lines", SCHEDULE_2027)
    page.fill("#id_note", "国务院办公厅关于2027年部分节假日安排的通知")
    page.click("#schedule-form input[type=submit]")
    page.wait_for_selector("ul.messagelist")
    message = page.inner_text("ul.messagelist")
    assert "已录入 2027 年安排" in message and "重新计算暂定期限 1 个" in message
    body = page.inner_text("#changelist")
    assert "春节调休" in body and "劳动节" in body
    shot(page, "admin-holidays", full_page=True)

    # The 暂定 mark is gone from the task's due date.
    watcher.reload()
    assert "暂定" not in watcher.inner_text("main")

    # A leader: the Chinese explanation, with the navigation, and a Chinese 404.
    leader = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    login(leader, url, "leader", PASSWORD, world.secrets["leader"])
    response = leader.goto(f"{url}/admin/")
    assert response.status == 403 and leader.url.endswith("/admin/")
    text = leader.inner_text("main")
    assert "无权进入系统管理" in text and "系统管理员" in text
    assert leader.locator("nav.menu").count() == 1
    shot(leader, "admin-denied")
    response = leader.goto(f"{url}/entities/987654321/")
    assert response.status == 404
    text = leader.inner_text("main")
    assert "页面不存在" in text and "该市场主体不存在或不在您的辖区内" in text and "Not Found" not in leader.content()
    shot(leader, "error-404")
