"""The officer's phone app (/m/) in a real browser: S3 four-step inspection in 121 mode, offline.

Online, the officer finds the entity by part of its name and prepares it (two open tasks of two
business lines). Offline, the app shell still opens; the officer checks the nineteen key items, attaches a photo,
decides, both officers and the representative sign, and submits: the record waits in the outbox.
Back online, it syncs; the first answer is lost on the way back (the server created the record),
so the app sends it again and the server answers with the same record: one Inspection row. A forced
re-send of the very same request body returns the same id. The record PDF is then fetched with the
page's session and read with pdftotext. Every tap from opening the prepared inspection to the
submitted, signed record is counted. Screenshots go to docs/screenshots/inspection-NN-*.png."""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess

import pytest
from django.core.signals import request_started

from tests.e2e.conftest import PHONE, SHOTS, login
from tests.factories import PASSWORD, make_bureau, make_entity, make_user

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")

# The key items (重点, listed first) of both lines must be answered before signing: 12 of 食品销售
# and 7 of 餐饮服务; one problem (with a note) and one not applicable among them.
MARKS = {"food_sales": ["ok", "ok", "problem", "ok", "na"] + ["ok"] * 7, "catering": ["ok"] * 7}
PROBLEM_NOTE = "冷藏柜温度显示12℃，超出要求"
# Taps from opening the prepared inspection to the submitted record: one per item marked, and at
# most ten more (open, photo, next ×2, second officer, three signatures, submit).
TAP_BUDGET = sum(len(m) for m in MARKS.values()) + 10


class Taps:
    """Every click, tap, choice and signature stroke the test performs in the inspection."""

    def __init__(self, page):
        self.page = page
        self.count = 0
        self.log: list[str] = []

    def _add(self, what: str):
        self.count += 1
        self.log.append(what)

    def tap(self, selector: str):
        self.page.locator(selector).click()
        self._add(f"tap {selector}")

    def tap_locator(self, locator, what: str):
        locator.click()
        self._add(f"tap {what}")

    def choose(self, selector: str, value: str):
        self.page.select_option(selector, value)
        self._add(f"choose {selector}")

    def sign(self, canvas_selector: str):
        canvas = self.page.locator(canvas_selector)
        canvas.evaluate("el => el.scrollIntoView({block: 'center'})")
        box = canvas.bounding_box()
        x0, y0, w, hgt = box["x"], box["y"], box["width"], box["height"]
        mouse = self.page.mouse
        mouse.move(x0 + w * 0.15, y0 + hgt * 0.6)
        mouse.down()
        for i in range(1, 25):
            t = i / 24
            mouse.move(x0 + w * (0.15 + 0.7 * t), y0 + hgt * (0.6 - 0.3 * abs(((t * 4) % 2) - 1)), steps=2)
        mouse.up()
        self._add(f"sign {canvas_selector}")


def strip_results(text: str) -> str:
    return re.sub(r"\s+|不符合|符合|不适用|未检查", "", text)


def small_png() -> bytes:
    """A 64×48 photo of a fridge display (an image made here, no fixture files)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (64, 48), (200, 220, 235))
    d = ImageDraw.Draw(img)
    d.rectangle([8, 8, 56, 40], fill=(40, 40, 40))
    d.text((14, 16), "12C", fill=(255, 80, 80))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def visit(transactional_db):
    """A station, two officers, a dispatcher, the checklist, an entity with two open tasks of two lines."""
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
    entity = make_entity("441900003001", name="东莞市莞城美味轩餐饮有限公司", legal_rep="陈美味", address="东莞市莞城街道可园北路18号",
                         lng=113.752, lat=23.021)
    make_entity("441900003001", name="东莞市南城美食坊", legal_rep="周南")
    opened = []
    for line, title in [("food_sales", "食品销售日常检查"), ("catering", "餐饮服务日常检查")]:
        task = tasks.task_create(actor=dispatcher, entity=entity, title=title, source=TaskSource.PATROL, business_line=line,
                                 assignee=officer)
        opened.append(tasks.task_accept(actor=officer, task=task))
    return {"officer": officer, "partner": partner, "entity": entity, "tasks": opened, "secret": ensure_device(officer)}


def test_offline_121_inspection_syncs_once(visit, live_server, browser, shot, tmp_path):
    from zhijian.inspections.models import CheckItem, Inspection

    base = live_server.url
    assert base.startswith("http://localhost"), "service workers need a secure context: http://localhost"
    hits: list[str] = []

    def count_hit(sender, environ=None, **kwargs):
        hits.append(f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}")

    request_started.connect(count_hit, weak=False)
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", geolocation={"longitude": 113.7521, "latitude": 23.0212},
                              permissions=["geolocation"], service_workers="allow")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.post_data) if r.method == "POST" and r.url.endswith("/api/v1/inspections/sync/") else None)
    try:
        login(page, base, "officer", PASSWORD, visit["secret"])

        # --- Step 1 online: find by part of the name, prepare (download) the visit. ---------------------
        page.goto(f"{base}/m/")
        page.wait_for_selector("html[data-ready='1']")
        page.wait_for_selector("html[data-offline-ready='1']", timeout=20_000)
        assert page.locator("#offline-ready").is_visible()
        shot(page, "inspection-01-home")
        page.fill("#q", "美味")
        page.click("#search-btn")
        page.wait_for_selector("#results li [data-prepare]")
        names = page.locator("#results .m-row-main b").all_inner_texts()
        assert names == ["东莞市莞城美味轩餐饮有限公司"]
        shot(page, "inspection-02-search")
        page.click(f"[data-prepare='{visit['entity'].credit_code}']")
        row = page.locator(f"#prepared li[data-entity='{visit['entity'].credit_code}']")
        row.wait_for()
        assert "2 项任务" in row.inner_text()
        shot(page, "inspection-03-prepared")

        # --- Offline: the shell opens from the service worker's cache, nothing reaches the server. ------
        # (Requests already in flight — the work list refreshed after preparing — finish first: on a
        # loaded machine one could otherwise reach the server after the switch and count as offline.)
        page.wait_for_load_state("networkidle")
        ctx.set_offline(True)
        hits.clear()
        response = page.reload()
        assert response is None or response.from_service_worker
        page.wait_for_selector("html[data-ready='1']")
        assert page.inner_text("#net") == "离线"
        assert page.evaluate("navigator.onLine") is False
        row.wait_for()
        shot(page, "inspection-04-offline")

        # --- Steps 2 to 4, offline; every tap counted from opening the prepared inspection. ------------
        taps = Taps(page)
        taps.tap(f"[data-start='{visit['entity'].credit_code}']")
        page.wait_for_selector("#step-2:not([hidden])")
        assert page.locator(".m-line").count() == 2, "121: both business lines in one visit"
        assert page.locator("#i-tasks li").count() == 2
        shot(page, "inspection-05-inspect")
        ticked: list[str] = []
        for line, marks in MARKS.items():
            items = page.locator(f".m-line[data-line='{line}'] .m-item")
            for i, mark in enumerate(marks):
                item = items.nth(i)
                taps.tap_locator(item.locator(f"[data-result='{mark}']"), f"{line}[{i}] {mark}")
                ticked.append(int(item.get_attribute("data-item")))
                if mark == "problem":
                    item.locator(".m-note").fill(PROBLEM_NOTE)
        assert page.inner_text(".m-line[data-line='food_sales'] .m-progress").startswith("12/")
        page.locator(".m-line[data-line='food_sales'] .m-item").nth(2).scroll_into_view_if_needed()
        shot(page, "inspection-06-items")

        photo = tmp_path / "fridge.png"
        photo.write_bytes(small_png())
        with page.expect_file_chooser() as chooser:
            taps.tap("#add-photo-label")
        chooser.value.set_files(str(photo))
        page.wait_for_selector("#attachments li[data-attachment='photo'] img")
        page.locator("#attachments").scroll_into_view_if_needed()
        shot(page, "inspection-07-photo")

        taps.tap("#to-3")
        page.wait_for_selector("#step-3:not([hidden])")
        counts = {k: int(page.inner_text(f"[data-count='{k}'] b")) for k in ("ok", "problem", "na")}
        assert counts == {"ok": 17, "problem": 1, "na": 1}
        assert PROBLEM_NOTE in page.inner_text("#problems")
        shot(page, "inspection-08-result")

        taps.tap("#to-4")
        page.wait_for_selector("#step-4:not([hidden])")
        assert page.is_checked("#conclusion input[value='correct']"), "a problem suggests 责令限期改正"
        assert "10个工作日内改正" in page.input_value("#opinion")
        shot(page, "inspection-09-decision")
        taps.choose("#officer-2", str(visit["partner"].pk))
        taps.sign(".m-sign[data-signer='officer1'] canvas")
        taps.sign(".m-sign[data-signer='officer2'] canvas")
        assert page.input_value("#rep-name") == "陈美味"
        taps.sign(".m-sign[data-signer='representative'] canvas")
        page.locator(".m-sign[data-signer='officer2']").evaluate("el => el.scrollIntoView({block: 'start'})")
        page.evaluate("window.scrollBy(0, -120)")  # below the sticky header and steps
        shot(page, "inspection-10-signatures")
        taps.tap("#submit")
        queued = page.locator("#outbox li[data-state='queued']")
        queued.wait_for()
        shot(page, "inspection-11-queued")
        print(f"\nTaps from opening the prepared inspection to the submitted signed record: {taps.count}")
        for what in taps.log:
            print("  ", what)
        assert taps.count <= TAP_BUDGET
        # After a navigation the browser itself checks the worker script for an update (spec: Soft
        # Update); Chromium's offline emulation does not cover that browser-level fetch. Nothing else
        # may reach the server: no page, no asset, no API call.
        app_hits = [h for h in hits if h != "GET /m/sw.js"]
        assert app_hits == [], f"offline, yet the server saw {app_hits}"
        assert Inspection.objects.count() == 0

        # --- Back online: the first answer is lost after the server committed; the retry gets it. -----
        answers: list[dict] = []

        def lose_first_answer(route):
            if answers:
                route.continue_()
                return
            response = route.fetch()
            answers.append({"status": response.status, "body": response.json()})
            route.abort("connectionreset")

        page.route("**/api/v1/inspections/sync/", lose_first_answer)
        ctx.set_offline(False)
        synced = page.locator("#outbox li[data-state='synced']")
        synced.wait_for(timeout=30_000)
        shot(page, "inspection-12-synced")
        assert answers and answers[0]["status"] == 201
        first = answers[0]["body"]
        assert Inspection.objects.count() == 1
        inspection = Inspection.objects.get()
        assert first["id"] == inspection.pk
        assert synced.locator("[data-number]").inner_text() == inspection.number == first["number"]
        assert len(posts) == 2 and posts[0] == posts[1], "the retry sends the very same record"
        assert json.loads(posts[0])["client_key"] == inspection.client_key
        assert sorted(inspection.tasks.values_list("pk", flat=True)) == sorted(t.pk for t in visit["tasks"])
        assert sorted(inspection.results.exclude(result="unchecked").values_list("item_id", flat=True)) == sorted(ticked)
        # The rest of both lines is on the record as 未检查.
        assert inspection.results.filter(result="unchecked").count() == CheckItem.objects.filter(
            version=inspection.checklist_version, business_line__code__in=list(MARKS)).count() - len(ticked)
        assert inspection.attachments.count() == 1

        # A forced re-send of the same body: 200, the same id, nothing created twice.
        page.unroute("**/api/v1/inspections/sync/")
        replay = page.evaluate("""async (body) => {
            const token = document.cookie.split('; ').find((c) => c.startsWith('csrftoken=')).split('=')[1];
            const r = await fetch('/api/v1/inspections/sync/', {method: 'POST', body,
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
            return {status: r.status, body: await r.json()};
        }""", posts[0])
        assert replay["status"] == 200
        assert replay["body"] == first
        assert Inspection.objects.count() == 1
        # Submitting moved the draft to the outbox: no draft (nor the prepared visit) is left behind.
        left = page.evaluate("""(name) => new Promise((resolve, reject) => {
            const req = indexedDB.open(name);
            req.onerror = () => reject(req.error);
            req.onsuccess = () => {
                const tx = req.result.transaction(['drafts', 'prepared', 'outbox']);
                const out = {};
                for (const s of ['drafts', 'prepared', 'outbox']) tx.objectStore(s).count().onsuccess = (e) => { out[s] = e.target.result; };
                tx.oncomplete = () => resolve(out);
            };
        })""", f"zhijian-mobile-{visit['officer'].pk}")
        assert left == {"drafts": 0, "prepared": 0, "outbox": 1}

        # --- The record PDF, fetched with the page's session, read with pdftotext. ---------------------
        href = synced.locator("[data-pdf='record']").get_attribute("href")
        assert href == first["pdf_urls"]["record"]
        assert synced.locator("[data-pdf='correction']").count() == 1
        data = page.evaluate("""async (url) => {
            const r = await fetch(url);
            const bytes = new Uint8Array(await r.arrayBuffer());
            let s = ''; for (const b of bytes) s += String.fromCharCode(b);
            return {status: r.status, type: r.headers.get('Content-Type'), b64: btoa(s)};
        }""", href)
        assert data["status"] == 200 and data["type"].startswith("application/pdf")
        pdf = tmp_path / "record.pdf"
        pdf.write_bytes(base64.b64decode(data["b64"]))
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        flat = re.sub(r"\s+", "", text)
        assert visit["entity"].name in flat
        for item in CheckItem.objects.filter(pk__in=ticked):
            # A long item wraps and pdftotext interleaves the result cell's word: compare without those words.
            assert strip_results(item.text) in strip_results(flat), f"item {item.number} missing from the PDF"
        if shutil.which("pdftoppm"):
            subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                            str(SHOTS / "inspection-13-record-pdf")], check=True)

        # A link from a task page lands on the entity, ready to prepare again.
        page.goto(f"{base}/m/?entity={visit['entity'].credit_code.lower()}")
        page.wait_for_selector(f"#results [data-prepare='{visit['entity'].credit_code}']")
        assert errors == []
    finally:
        request_started.disconnect(count_hit)
        ctx.close()
