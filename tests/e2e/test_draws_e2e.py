"""Double-random, one-public in a real browser: a leader creates a plan with the form, commits it
(the seed's hash is public before the draw), executes it, records and publishes a result and merges
the period into joint inspections; then anyone on a phone opens the public page, downloads the files
by clicking their links and recomputes the draw with docs/draws_verify.py.
Screenshots: docs/screenshots/draw-*.png."""
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.draws.test_draws import VILLAGES, bulk_entities, inspector
from tests.e2e.conftest import DESKTOP, PHONE, login
from tests.factories import PASSWORD, make_bureau, make_user

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["刘检查", "陈检查", "杨检查", "黄检查", "赵检查", "周检查"]


@pytest.fixture
def world(transactional_db):
    from zhijian.inspections import loading
    from zhijian.security.otp import ensure_device

    from zhijian.geo.models import Division

    loading.load_checklists()  # the business lines' names
    Division.objects.get_or_create(code="4419", defaults={"name": "东莞市", "level": 2})  # the plan's range, picked by name
    bureau = make_bureau("4419")
    leader = make_user("leader", bureau=bureau, full_name="王局长")
    bulk_entities(60)
    for home, name in zip(VILLAGES, NAMES):
        inspector(bureau, home=home, full_name=name)
    return bureau, leader, ensure_device(leader)


def _errors(page):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return errors


def test_plan_commit_execute_publish_and_verify_by_hand(world, live_server, browser, shot, tmp_path):
    from zhijian.draws.models import Draw, DrawItem
    from zhijian.supervision.models import Task

    bureau, leader, secret = world
    url = live_server.url
    desk = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = desk.new_page()
    errors = _errors(page)
    login(page, url, leader.username, PASSWORD, secret)

    # 1. The plan, with the form: 10 % of class B (every entity is B until credit classes exist).
    page.goto(f"{url}/draws/")
    page.click("text=新建计划")
    page.fill("#id_name", "2026年第四季度食品销售双随机抽查")
    page.fill("#id_period", "2026Q4")
    page.select_option("#id_bureau", str(bureau.pk))
    page.fill(".division-picker .picker-search", "东莞")  # divisions are picked by name, never typed codes
    page.click(".division-picker li[data-code='4419']")
    page.check("#id_business_lines input[value=food_sales]")
    page.fill("#id_ratio_B", "10")
    page.check(f"#id_inspector_units input[value='{bureau.pk}']")
    shot(page, "draw-01-plan-form", full_page=True)
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=锁定名录并生成随机种子承诺值")
    shot(page, "draw-02-plan", full_page=True)

    # 2. Commit: pools frozen, the seed's SHA-256 published, the seed itself not yet.
    page.click("text=锁定名录并生成随机种子承诺值")
    page.wait_for_selector("text=公开种子并抽取")
    draw = Draw.objects.get()
    body = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    assert draw.seed_sha256 in body and "抽取时公开" in body and draw.seed_hex not in body
    shot(page, "draw-03-committed", full_page=True)

    # 3. Execute: the seed is revealed; six entities drawn, each with two named inspectors.
    page.click("text=公开种子并抽取")
    page.wait_for_selector("text=抽中主体（6）")
    draw.refresh_from_db()
    assert hashlib.sha256(bytes.fromhex(draw.revealed_seed)).hexdigest() == draw.seed_sha256
    rows = page.locator("table.responsive tbody tr")
    assert rows.count() == 6
    first = rows.first.inner_text()
    assert sum(name in first for name in NAMES) == 2, first

    # 4. A result recorded and published (20 working days for publication), then the period merged.
    form = rows.first.locator("form")
    form.locator("button").click()  # nothing chosen: the browser refuses to send it, nothing is recorded
    assert form.locator("select[name=result]").evaluate("e => e.validity.valueMissing")
    assert not DrawItem.objects.filter(draw=draw, result__gt="").exists()
    form.locator("select[name=result]").select_option("no_problem")
    form.locator("input[name=inspected_on]").fill("2026-11-20")
    form.locator("button").click()
    page.wait_for_selector("table.responsive tbody tr >> nth=0 >> text=公示期限")
    rows.first.locator("button:has-text('公示')").click()
    page.wait_for_selector("table.responsive tbody tr >> nth=0 >> .badge.ok")
    page.click("text=合并本期各部门抽查为联合检查并生成任务")
    page.wait_for_selector("text=已合并为 6 个联合检查并生成监管任务")
    assert Task.objects.filter(source="random_draw").count() == 6
    shot(page, "draw-04-executed", full_page=True)
    assert not errors, errors

    # 5. Anyone, on a phone, without logging in: the public page, the files, the recomputation.
    public = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True, accept_downloads=True)
    ppage = public.new_page()
    perrors = _errors(ppage)
    ppage.goto(f"{url}/p/draws/{draw.public_id}/")
    assert draw.revealed_seed in ppage.inner_text("body")
    assert ppage.inner_text("dt:has-text('业务条线') + dd") == "食品销售"
    assert ppage.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # 64-hex hashes wrap
    shot(ppage, "draw-05-public-phone", full_page=True)
    links = ppage.locator("a[href*='/files/']")
    names = [links.nth(i).inner_text().strip() for i in range(links.count())]
    assert {"draw.json", "result.csv", "inspectors.csv", "entities-B.csv"} <= set(names), names
    for i, name in enumerate(names):
        with ppage.expect_download() as got:
            links.nth(i).click()
        got.value.save_as(tmp_path / name)
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "draws_verify.py"), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "OK: 6 entities" in done.stdout, done.stderr + done.stdout

    ppage.click("text=抽查结果公示")
    ppage.wait_for_selector("table.responsive")
    published = DrawItem.objects.get(draw=draw, published_at__isnull=False)
    assert "未发现问题" in ppage.inner_text(f"tr:has-text('{published.credit_code}')")
    assert ppage.get_by_text("待公示").count() == 5
    assert ppage.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(ppage, "draw-06-results-phone", full_page=True)
    assert not perrors, perrors
    public.close()
    desk.close()
