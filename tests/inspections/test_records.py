"""Sealing, tamper detection, the documents (PDF text), the public page, the task requirement."""
import subprocess
import threading

import pytest
from django.db import connection
from django.test import Client

from tests.inspections.conftest import items_of, payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(sync, checklists, team, shop, food_task):
    from zhijian.inspections.models import Inspection

    body = payload(entity=shop, officers=team, items=items_of("food_sales", 4), tasks=[food_task], conclusion="correct", correction_days=5)
    r = sync(team[0], body)
    assert r.status_code == 201, r.content
    return Inspection.objects.get(pk=r.json()["id"])


def test_sealed_record_verifies_and_a_changed_result_is_detected(sealed):
    from zhijian.core.models import TraceEntry
    from zhijian.inspections.models import ItemResult
    from zhijian.inspections.services import verify_inspection

    assert verify_inspection(sealed).ok
    entry = TraceEntry.objects.get(pk=sealed.seal_trace_id)
    assert entry.signature and entry.action == "inspection.sealed"
    row = ItemResult.objects.filter(inspection=sealed, result="problem").first()
    ItemResult.objects.filter(pk=row.pk).update(result="ok")
    report = verify_inspection(sealed)
    assert not report.ok and any("不一致" in p for p in report.problems)


def test_a_changed_signature_image_file_is_detected(sealed):
    from zhijian.inspections.services import verify_inspection

    sig = sealed.signatures.filter(role="officer").select_related("image").first()
    with open(sig.image.path, "ab") as fh:
        fh.write(b"\x00")
    assert not verify_inspection(sealed).ok


def test_a_changed_officer_certificate_is_detected(sealed):
    from zhijian.inspections.models import InspectionOfficer
    from zhijian.inspections.services import verify_inspection

    InspectionOfficer.objects.filter(inspection=sealed, order=0).update(cert_no="00000000000")
    assert not verify_inspection(sealed).ok


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60).stdout.decode("utf-8")


def _fonts(path) -> str:
    return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, timeout=60).stdout.decode("utf-8")


def test_record_pdf_has_entity_items_officers_and_number(sealed, client, team):
    client.force_login(team[1])
    r = client.get(f"/inspections/{sealed.pk}/record.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    doc = sealed.documents.get(doc_type="inspection_record")
    text = "".join(_pdf_text(doc.upload.path).split())
    assert sealed.entity_name in text and sealed.number in text
    for item in items_of("food_sales", 4):
        assert "".join(item.text.split())[:20] in text
    assert "44190010001" in text and "44190010002" in text
    assert "责令限期改正" in text and sealed.correction_number in text
    assert "NotoSansCJK" in _fonts(doc.upload.path).replace(" ", "").replace("-", "")


def test_the_correction_period_runs_on_the_clock_registry(sealed):
    """The officers' 5 working days are a clock of the registry (rule inspection.max_correction,
    amount 5) from the visit's day: swept, and recomputed when a provisional year's schedule comes."""
    from django.utils import timezone

    from zhijian.deadlines.choices import ClockState
    from zhijian.inspections.correction import correction_clock

    clock = correction_clock(sealed)
    assert clock is not None and clock.state == ClockState.RUNNING
    assert (clock.rule_code, clock.amount) == ("inspection.max_correction", 5)
    assert clock.started_on == timezone.localtime(sealed.finished_at).date()
    assert clock.due_on == sealed.correction_due and clock.entity_id == sealed.entity_id


def test_a_provisional_correction_date_says_so_where_printed(sealed, client):
    from zhijian.deadlines import rules
    from zhijian.deadlines.models import Clock
    from zhijian.inspections import documents

    Clock.objects.filter(procedure="inspections.inspection", object_id=sealed.pk).update(provisional=True)
    note = rules.provisional_warning({sealed.correction_due.year})
    assert note in client.get(sealed.get_public_url()).content.decode()
    pdf = sealed.documents.get(doc_type="correction_order").upload.path
    with open(pdf, "wb") as fh:
        fh.write(documents.render_correction(sealed))
    assert "".join(note.split()) in "".join(_pdf_text(pdf).split())


def test_correction_order_pdf_has_the_working_day_deadline(sealed):
    from django.utils import timezone

    from zhijian.deadlines.workdays import add_workdays

    due = add_workdays(timezone.localtime(sealed.finished_at).date(), 5)
    assert sealed.correction_due == due
    doc = sealed.documents.get(doc_type="correction_order")
    text = "".join(_pdf_text(doc.upload.path).split())
    assert "责令改正通知书" in text and sealed.correction_number in text and sealed.entity_name in text
    assert f"{due.year}年{due.month}月{due.day}日" in text
    assert "测市监责改〔" in sealed.correction_number


def test_pdfs_are_scoped(sealed, client):
    from tests.factories import make_user

    client.force_login(make_user("enforcement_officer", jurisdiction="3701"))
    assert client.get(f"/inspections/{sealed.pk}/record.pdf").status_code == 404
    assert client.get(f"/inspections/{sealed.pk}/").status_code == 404
    assert client.get(f"/api/v1/inspections/{sealed.pk}/").status_code == 404


def test_staff_page_shows_verification(sealed, client, team):
    client.force_login(team[0])
    page = client.get(f"/inspections/{sealed.pk}/").content.decode()
    assert "签章验证通过" in page and sealed.number in page and "44190010001" in page


def test_public_page_needs_no_login_and_shows_no_personal_data(sealed, shop, team):
    page = Client().get(sealed.get_public_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert shop.name in html and "责令限期改正" in html
    assert items_of("food_sales", 1)[0].text in html
    for secret in ("陈老板", shop.legal_rep, "李执法", "王执法", "44190010001", shop.credit_code):
        assert secret not in html
    assert "李*" in html
    assert Client().get("/p/inspections/not-a-token/").status_code == 404


def test_qr_code_is_on_the_record(sealed):
    from zhijian.inspections import documents

    html_uri = documents.qr_data_uri("http://testserver" + sealed.get_public_url())
    assert html_uri.startswith("data:image/svg+xml")
    text = "".join(_pdf_text(sealed.documents.get(doc_type="inspection_record").upload.path).split())
    assert sealed.public_token in text


def test_task_cannot_be_archived_or_submitted_until_its_record_is_sealed(checklists, team, shop, unit, sync):
    """The requirement registered with the task loop refuses submit/archive without the sealed record;
    the sealed record then moves the task on to review by itself."""
    from zhijian.core.errors import ApplicationError
    from zhijian.supervision import tasks
    from zhijian.supervision.models import Task

    task = Task.objects.create(title="餐饮日常检查", entity=shop, division_code=shop.division_code, business_line="catering",
                               bureau=unit, state="executing", assignee=team[0])
    with pytest.raises(ApplicationError, match="缺少已签章的现场检查笔录"):
        tasks.task_submit(actor=team[0], task=task)
    r = sync(team[0], payload(entity=shop, officers=team, items=items_of("catering"), tasks=[task]))
    assert r.status_code == 201, r.content
    assert task.records.get(kind="inspection_record").signed
    assert Task.objects.get(pk=task.pk).state == "review"
    with pytest.raises(ApplicationError, match="只有“执行中”的任务才能提交审核"):
        tasks.task_submit(actor=team[0], task=task)


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_uploads_create_one_record(checklists, team, shop):
    """Two identical POSTs at the same moment: one record, both answered with the same body."""
    body = payload(entity=shop, officers=team, items=items_of("food_sales"))
    barrier, out = threading.Barrier(2), []

    def post():
        c = Client()
        c.force_login(team[0])
        barrier.wait()
        try:
            r = c.post("/api/v1/inspections/sync/", data=body, content_type="application/json")
            out.append((r.status_code, r.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    from zhijian.inspections.models import Inspection

    assert sorted(code for code, _ in out) == [200, 201], out
    assert out[0][1] == out[1][1]
    assert Inspection.objects.filter(client_key=body["client_key"]).count() == 1
