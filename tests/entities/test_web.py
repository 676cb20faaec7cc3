"""Registry pages and API: upload checks, import jobs, search, export, history."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from openpyxl import load_workbook

from tests.factories import credit_code, make_entity, make_user

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
HEADER = "企业名称,统一社会信用代码,注册日期,法人代表,注册资金,注册地址\n"


def gbk_csv(rows):
    return (HEADER + "".join(f"{n},{c},2021-01-01,张三,10(万元),东莞市南城街道\n" for n, c in rows)).encode("gbk")


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=IMMEDIATE)
def test_upload_gbk_file_runs_job_and_offers_error_report(client, officer):
    client.force_login(officer)
    good = credit_code("441900")
    data = gbk_csv([("东莞市好邻居商行", good), ("坏代码商行", "91440300752502580X")])
    r = client.post("/entities/import/", {"file": SimpleUploadedFile("登记.csv", data, "text/csv")})
    assert r.status_code == 302
    job_url = r["Location"]
    page = client.get(job_url).content.decode()
    assert "imported=1 updated=0 rejected=1 warned=0" in page
    report = client.get(job_url + "errors.csv")
    text = report.content.decode("utf-8-sig")
    assert report.status_code == 200 and "91440300752502580X" in text and "校验位错误" in text


@pytest.mark.django_db
def test_fake_xlsx_is_refused_with_message(client, officer):
    client.force_login(officer)
    r = client.post("/entities/import/", {"file": SimpleUploadedFile("名单.xlsx", b"<html>not excel</html>" * 10)}, follow=True)
    text = r.content.decode()
    assert "文件类型不受支持" in text or "不是有效的 Excel" in text
    from zhijian.entities.models import ImportJob

    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_50mb_upload_is_refused_before_reading(client, officer):
    client.force_login(officer)
    big = SimpleUploadedFile("big.csv", (HEADER + "x,y\n").encode() + b"a" * (50 * 1024 * 1024))
    r = client.post("/entities/import/", {"file": big})
    assert r.status_code == 413 and "文件过大" in r.content.decode()


@pytest.mark.django_db
def test_viewer_without_registry_role_cannot_import(client):
    viewer = make_user("complaint_handler", jurisdiction="4419")
    client.force_login(viewer)
    r = client.post("/entities/import/", {"file": SimpleUploadedFile("a.csv", gbk_csv([("甲", credit_code("441900"))]))}, follow=True)
    assert "没有导入市场主体的权限" in r.content.decode()


@pytest.mark.django_db
def test_list_search_detail_and_export(client, officer, django_capture_on_commit_callbacks):
    e = make_entity(name="东莞市海跃货运有限公司", lng=113.75, lat=23.02)
    make_entity(name="东莞市其他商行")
    client.force_login(officer)
    page = client.get("/entities/", {"q": "海跃"}).content.decode()
    assert "东莞市海跃货运有限公司" in page and "东莞市其他商行" not in page
    detail = client.get(e.get_absolute_url()).content.decode()
    assert e.credit_code in detail and 'id="entity-map"' in detail and "设立" in detail
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        started = client.post("/entities/export.xlsx?q=%E6%B5%B7%E8%B7%83")
    with override_settings(TASKS=IMMEDIATE):
        job_page = client.get(started.url)
    assert "export-download" in job_page.content.decode()
    x = client.get(started.url + "download/")
    ws = load_workbook(io.BytesIO(b"".join(x.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "统一社会信用代码" and [r[1] for r in rows[1:]] == ["东莞市海跃货运有限公司"]


@pytest.mark.django_db
def test_api_create_search_update_and_errors(client, officer, outsider):
    client.force_login(officer)
    code = credit_code("441900")
    r = client.post("/api/v1/entities/", {"credit_code": code, "name": "东莞市API测试有限公司", "division_code": "441900003001"},
                    content_type="application/json")
    assert r.status_code == 201, r.content
    bad = client.post("/api/v1/entities/", {"credit_code": "91440300752502580X", "name": "x"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_credit_code"
    dup = client.post("/api/v1/entities/", {"credit_code": code, "name": "y", "division_code": "441900003001"}, content_type="application/json")
    assert dup.json()["error"]["message"].endswith("已存在")
    found = client.get("/api/v1/entities/", {"q": "API测试"}).json()["results"]
    assert [x["credit_code"] for x in found] == [code]
    r = client.patch(f"/api/v1/entities/{code}/", {"legal_rep": "李四", "expected_version": 1}, content_type="application/json")
    assert r.status_code == 200 and r.json()["version"] == 2
    stale = client.patch(f"/api/v1/entities/{code}/", {"legal_rep": "王五", "expected_version": 1}, content_type="application/json")
    assert stale.status_code == 400 and stale.json()["error"]["code"] == "conflict"
    hist = client.get(f"/api/v1/entities/{code}/history/").json()  # paged like every list
    assert hist["count"] == 2 and [h["kind"] for h in hist["results"]] == ["updated", "created"]
    client.force_login(outsider)
    assert client.get(f"/api/v1/entities/{code}/").status_code == 404
    assert client.post("/api/v1/entities/", {"credit_code": credit_code("441900"), "name": "越界", "division_code": "441900003001"},
                       content_type="application/json").json()["error"]["code"] == "out_of_scope"


@pytest.mark.django_db
def test_openapi_schema_and_docs(client, officer):
    client.force_login(officer)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"/api/v1/entities/" in schema.content
    assert client.get("/api/v1/docs/").status_code == 200


def test_openapi_schema_has_no_warnings(tmp_path):
    """Integrators generate clients from the schema: two components with one name, or a view the
    generator cannot describe, would give them wrong types. drf-spectacular's own check fails on both."""
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yml"))
    text = (tmp_path / "schema.yml").read_text()
    for name in ("TaskStep:", "PushStep:", "GridClue:", "PushStats:", "TaskStateEnum:", "PushStateEnum:"):
        assert f"    {name}" in text, name


@pytest.mark.django_db
def test_language_switch_to_english(client, officer):
    client.force_login(officer)
    assert "市场主体" in client.get("/entities/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/entities/"})
    assert 'lang="en"' in client.get("/entities/").content.decode()
