"""Uploads that break a rule are refused with field-level detail, and nothing is written."""
import base64

import pytest

from tests.factories import make_entity, make_user
from tests.inspections.conftest import OFFICER, WEBM, items_of, payload

pytestmark = pytest.mark.django_db


def _nothing_written():
    from zhijian.core.models import TraceEntry
    from zhijian.deadlines.models import DocumentSequence
    from zhijian.inspections.models import Inspection
    from zhijian.security.models import StoredUpload

    assert Inspection.objects.count() == 0
    assert StoredUpload.objects.count() == 0
    assert not TraceEntry.objects.filter(object_type="inspections.inspection").exists()
    assert not DocumentSequence.objects.filter(last_number__gt=0).exists()


def _refused(r, field):
    assert r.status_code == 400, r.content
    err = r.json()["error"]
    assert set(err) == {"code", "message", "detail"}
    assert field in err["detail"], err
    return err


def test_one_officer_is_refused(sync, checklists, team, shop):
    r = sync(team[0], payload(entity=shop, officers=team[:1], items=items_of("food_sales")))
    err = _refused(r, "officer_ids")
    assert "至少 2 名" in err["detail"]["officer_ids"][0]
    _nothing_written()


def test_officer_without_certificate_is_refused(sync, checklists, team, shop, unit):
    uncertified = make_user(OFFICER, bureau=unit, enforcement_cert_no="")
    r = sync(team[0], payload(entity=shop, officers=[team[0], uncertified], items=items_of("food_sales")))
    assert "没有执法证号" in _refused(r, "officer_ids")["detail"]["officer_ids"][0]
    _nothing_written()


def test_caller_must_be_one_of_the_officers(sync, checklists, team, shop, unit):
    third = make_user(OFFICER, bureau=unit, enforcement_cert_no="44190010003")
    r = sync(third, payload(entity=shop, officers=team, items=items_of("food_sales")))
    assert "上传人必须是检查人员之一" in _refused(r, "officer_ids")["detail"]["officer_ids"]
    _nothing_written()


def test_refused_representative_needs_a_witness_or_a_recording(sync, checklists, team, shop):
    refusal = {"refused": True, "reason": "负责人不在场且拒绝签字", "witness": ""}
    r = sync(team[0], payload(entity=shop, officers=team, items=items_of("food_sales"), representative=refusal))
    _refused(r, "signatures.representative.witness")
    _nothing_written()


def test_refusal_with_a_recording_is_accepted(sync, checklists, team, shop):
    """LAW (SAMR order 49): a refusal is recorded with its reason and a witness or audio/video."""
    from zhijian.inspections.models import Signature

    refusal = {"refused": True, "reason": "拒绝签字", "witness": ""}
    voice = {"client_id": "v1", "kind": "voice", "name": "录音.webm", "content_type": "audio/webm",
             "data_base64": base64.b64encode(WEBM).decode()}
    r = sync(team[0], payload(entity=shop, officers=team, items=items_of("food_sales"), representative=refusal, attachments=[voice]))
    assert r.status_code == 201, r.content
    rep = Signature.objects.get(role="representative")
    assert rep.refused and rep.witness_attachment.kind == "voice" and rep.witness_attachment.upload.kind == "audio"


def test_unknown_item_is_refused(sync, checklists, team, shop):
    body = payload(entity=shop, officers=team, items=items_of("food_sales"))
    body["results"].append({"item_id": 999999, "result": "ok", "note": ""})
    where = f"results[{len(body['results']) - 1}].item_id"
    err = _refused(sync(team[0], body), where)
    assert "999999" in err["detail"][where][0]
    _nothing_written()


def test_out_of_scope_entity_is_404(sync, checklists, team):
    far = make_entity("370102001001")
    r = sync(team[0], payload(entity=far, officers=team, items=items_of("food_sales")))
    assert r.status_code == 404
    _nothing_written()


def test_missing_officer_signature_and_bad_attachment_are_all_reported(sync, checklists, team, shop):
    body = payload(entity=shop, officers=team, items=items_of("food_sales"))
    del body["signatures"]["officers"][str(team[1].pk)]
    body["attachments"][0]["data_base64"] = base64.b64encode(b"not an image at all").decode()
    err = _refused(sync(team[0], body), f"signatures.officers.{team[1].pk}")
    assert "attachments[0].data_base64" in err["detail"]
    _nothing_written()


def test_correct_needs_a_deadline(sync, checklists, team, shop):
    _refused(sync(team[0], payload(entity=shop, officers=team, items=items_of("food_sales"), conclusion="correct")), "correction_days")
    _nothing_written()


def test_oversized_attachment_is_refused(sync, checklists, team, shop):
    from zhijian.inspections.choices import ATTACHMENT_MAX_BYTES

    big = {"kind": "text", "name": "长文", "data_base64": base64.b64encode(b"a" * (ATTACHMENT_MAX_BYTES["text"] + 10)).decode()}
    body = payload(entity=shop, officers=team, items=items_of("food_sales"), attachments=[big])
    err = _refused(sync(team[0], body), "attachments[0].data_base64")
    assert "过大" in err["detail"]["attachments[0].data_base64"][0]
    _nothing_written()


@pytest.fixture
def correction_rule(db):
    """The seeded rule (deadlines seeds "inspection.max_correction": 90 working days); written here
    too when the database lacks it, so this test checks the inspection side on its own."""
    import datetime as dt

    from zhijian.deadlines.models import DeadlineRule
    from zhijian.inspections.correction import CORRECTION_MAX_RULE

    if not DeadlineRule.objects.filter(code=CORRECTION_MAX_RULE).exists():
        DeadlineRule.objects.create(code=CORRECTION_MAX_RULE, name="现场检查责令限期改正（最长期限）", amount=90,
                                    legal_basis="系统设置", effective_from=dt.date(2020, 1, 1))
    return DeadlineRule.objects.filter(code=CORRECTION_MAX_RULE).order_by("-version").first()


def test_the_longest_correction_period_is_rule_data(sync, checklists, team, shop, correction_rule):
    """The limit is the rule in force on the inspection's day, not a constant in the code: a new
    version of the rule (60 working days) refuses what the old one (90) allowed."""
    import datetime as dt

    from django.utils import timezone

    from zhijian.deadlines.models import DeadlineRule

    r = sync(team[0], payload(entity=shop, officers=team, items=items_of("food_sales"), conclusion="correct", correction_days=91))
    assert "1–90 个工作日" in _refused(r, "correction_days")["detail"]["correction_days"][0]
    switch = timezone.localdate() - dt.timedelta(days=1)  # the visit started within the last hour
    DeadlineRule.objects.filter(pk=correction_rule.pk).update(effective_to=switch - dt.timedelta(days=1),
                                                              effective_from=min(correction_rule.effective_from, switch - dt.timedelta(days=1)))
    DeadlineRule.objects.create(code=correction_rule.code, name=correction_rule.name, amount=60, legal_basis="地方规定",
                                effective_from=switch, version=correction_rule.version + 1)
    r = sync(team[0], payload(entity=shop, officers=team, items=items_of("food_sales"), conclusion="correct", correction_days=61))
    assert "1–60 个工作日" in _refused(r, "correction_days")["detail"]["correction_days"][0]
    _nothing_written()
