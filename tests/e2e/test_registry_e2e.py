"""Registry in a real browser: log in, find an entity by part of its name, open it, see it on the
map, import a file with bad rows and download the error report. Screenshots go to docs/screenshots/."""
import pytest
from django.test import override_settings

from tests.e2e.conftest import DESKTOP, PHONE, login
from tests.factories import PASSWORD, credit_code, make_bureau, make_entity, make_user

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
SQUARE = {"type": "Polygon", "coordinates": [[[113.70, 22.98], [113.80, 22.98], [113.80, 23.06], [113.70, 23.06], [113.70, 22.98]]]}


@pytest.fixture
def city(transactional_db):
    from zhijian.geo.models import Division, Grid
    from zhijian.geo import placement
    from zhijian.security.otp import ensure_device

    for code, name, level, parent in [("44", "广东省", 1, None), ("4419", "东莞市", 2, "44"), ("441900", "东莞市", 3, "4419"),
                                      ("441900003", "南城街道", 4, "441900"), ("441900003001", "宏图社区", 5, "441900003")]:
        Division.objects.create(code=code, name=name, level=level, parent_id=parent)
    Grid.objects.create(code="G441900003001", name="宏图社区网格", level=2, division_code="441900003001", geometry=SQUARE)
    placement.invalidate()
    bureau = make_bureau("4419", name="东莞市市场监督管理局", division_code="4419")
    clerk = make_user("registry_clerk", "enforcement_officer", bureau=bureau, username="clerk", full_name="冯登记")
    secret = ensure_device(clerk)
    target = make_entity("441900003001", name="东莞市海跃货运有限公司", address="东莞市南城街道宏图路8号", lng=113.752, lat=23.021,
                         legal_rep="张理海", business_scope="普通货运；仓储服务")
    for i, word in enumerate(["鑫源五金", "泰丰餐饮", "宏图超市", "海跃物流"]):
        make_entity("441900003001", name=f"东莞市{word}有限公司", lng=113.71 + i * 0.02, lat=23.0 + i * 0.01)
    return {"clerk": clerk, "secret": secret, "target": target}


@override_settings(TASKS=IMMEDIATE)
def test_find_open_map_and_import_with_bad_rows(city, live_server, browser, shot, tmp_path):
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/accounts/login/")
    shot(page, "registry-01-login-phone")
    login(page, live_server.url, "clerk", PASSWORD, city["secret"])

    # Find by part of the name.
    page.goto(f"{live_server.url}/entities/")
    page.fill("#id_q", "海跃")
    shot(page, "registry-02-search-phone")
    page.click("button[type=submit]")
    page.wait_for_selector("#results")
    names = page.locator("#results tbody td:first-child a").all_inner_texts()
    assert sorted(names) == ["东莞市海跃物流有限公司", "东莞市海跃货运有限公司"]
    shot(page, "registry-03-results-phone", full_page=True)

    # Open it and see it on the map.
    page.click("text=东莞市海跃货运有限公司")
    page.wait_for_selector("#credit-code")
    assert page.inner_text("#credit-code") == city["target"].credit_code
    page.wait_for_selector("#entity-map .leaflet-marker-icon, #entity-map .leaflet-interactive", timeout=10_000)
    shot(page, "registry-04-entity-phone", full_page=True)

    # The grid map (choropleth by entity count) on the phone.
    page.goto(f"{live_server.url}/geo/map/")
    page.click("button[data-level='2']")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#grid-map canvas", timeout=10_000)  # polygons are drawn on a canvas
    shot(page, "registry-05-grid-map-phone")

    # Import a GBK file with bad rows on the desktop, then download the error report.
    page.set_viewport_size(DESKTOP)
    good = credit_code("441900")
    rows = ["企业名称,统一社会信用代码,注册日期,企业类型,法人代表,注册资金,经营范围,所在省份,地区,注册地址",
            f"东莞市新开张商行,{good},2024-03-01,个体工商户,李四,5(万元人民币),日用百货零售,广东,东莞,东莞市南城街道宏图路9号",
            "东莞市坏码商行,91440300752502580X,2024-03-01,N/A,王五,N/A,零售,广东,东莞,东莞市南城街道",
            f"东莞市重复商行,{good},2024-03-01,N/A,王五,N/A,零售,广东,东莞,东莞市南城街道",
            f"东莞市坏日期商行,{credit_code('441900')},2024-02-30,N/A,王五,N/A,零售,广东,东莞,东莞市南城街道"]
    f = tmp_path / "新登记.csv"
    f.write_bytes("\n".join(rows).encode("gbk"))
    page.goto(f"{live_server.url}/entities/import/")
    page.set_input_files("#id_file", str(f))
    shot(page, "registry-06-import-form")
    page.click("button[type=submit]")
    page.wait_for_selector("#job-summary")
    assert "imported=1 updated=0 rejected=3 warned=0" in page.inner_text("#job-status")
    shot(page, "registry-07-import-result", full_page=True)
    with page.expect_download() as dl:
        page.click("#error-report")
    report = (tmp_path / "report.csv")
    dl.value.save_as(report)
    text = report.read_text(encoding="utf-8-sig")
    assert "校验位错误" in text and "重复" in text and "2024-02-30" in text

    # The imported entity is findable right away.
    page.goto(f"{live_server.url}/entities/?q=新开张")
    assert page.locator("#results tbody td:first-child a").all_inner_texts() == ["东莞市新开张商行"]
    assert not errors, errors
    ctx.close()


def test_pages_speak_english_when_asked(city, live_server, browser):
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    login(page, live_server.url, "clerk", PASSWORD, city["secret"])
    page.goto(f"{live_server.url}/entities/")
    page.select_option("select[name=language]", "en")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    ctx.close()
