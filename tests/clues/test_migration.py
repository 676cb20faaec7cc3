"""The data migrations onto the kernel, run for real (``MigrationExecutor``): push steps, feedback
receipts, coordination's clues with their steps and photos, and inspections' case clues all arrive
— nothing lost — and the old tables are gone; a migrated Idempotency-Key still replays."""
import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.coordination.conftest import make_department, make_department_user
from tests.factories import make_bureau, make_entity, make_user
from tests.scope_factories import _inspection_in
from zhijian.clues.models import Clue, ClueAttachment
from zhijian.coordination.models import PushItem, SupervisionMatter
from zhijian.core.models import IdempotencyRecord, WorkflowStep
from zhijian.security.uploads import check_upload, store_upload

VILLAGE = "441900003001"
OLD = [("coordination", "0005_pushitem_config_refs_unchecked"), ("inspections", "0001_initial")]
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00"
       b"\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_rows_move_onto_the_kernel_and_the_clue_intake(client):
    # Rows of tables both schemas share, made with today's models.
    city = make_bureau("4419", name="东莞市市场监督管理局", division_code="441900000000")
    entity = make_entity(VILLAGE)
    health = make_department("wjj", "市卫生健康局")
    staff = make_department_user(health)
    recorder = make_user("grid_officer", bureau=city)
    matter = SupervisionMatter.objects.create(code="catering", name="餐饮服务监管")
    item = PushItem.objects.create(entity=entity, department=health, matter=matter, trigger="created", trigger_key="event:1",
                                   division_code=VILLAGE, state="claimed", version=2)
    inspection = _inspection_in(VILLAGE)
    photo = store_upload(check_upload(SimpleUploadedFile("s.png", PNG, content_type="image/png"), kinds=["image"]), purpose="clue")
    at = timezone.now() - dt.timedelta(days=3)
    body = {"id": item.pk, "state": "claimed"}

    old = _migrate(OLD)
    try:
        old.get_model("coordination", "PushStep").objects.create(item_id=item.pk, action="claim", from_state="pushed", to_state="claimed",
                                                                 actor_id=staff.pk, via="api", comment="", at=at)
        Receipt = old.get_model("coordination", "FeedbackReceipt")
        Receipt.objects.create(user_id=staff.pk, key="r1", item_id=item.pk, action="claim", status_code=200, body=body)
        Receipt.objects.create(user_id=staff.pk, key="claim-key-0001", item_id=item.pk, action="claim", status_code=200, body=body)
        OldClue = old.get_model("coordination", "Clue")
        village = OldClue.objects.create(number="XS20261101000007", text="无证诊所", place="某巷 3 号", division_code=VILLAGE,
                                         recorded_by_id=recorder.pk, matter_id=matter.pk, suggested=[{"department_id": health.pk}],
                                         department_id=health.pk, state="reported", report="已查处", reported_at=at, version=3)
        routed = OldClue.objects.create(number="XS20261101000008", text="WG-1 无证经营", division_code=VILLAGE,
                                        source_ref="grid:case:5", state="assigned", department_id=health.pk)
        old.get_model("coordination", "ClueAttachment").objects.create(clue_id=village.pk, upload_id=photo.pk)
        Step = old.get_model("coordination", "ClueStep")
        for action, frm, to in (("record", "", "recorded"), ("assign", "recorded", "assigned"), ("report", "assigned", "reported")):
            Step.objects.create(clue_id=village.pk, action=action, from_state=frm, to_state=to, actor_id=recorder.pk,
                                department_id=health.pk, comment=action, at=at)
        old.get_model("inspections", "InspectionClue").objects.create(inspection_id=inspection.pk, entity_id=inspection.entity_id,
                                                                      bureau_id=inspection.bureau_id, division_code=VILLAGE,
                                                                      description="涉嫌无证经营")
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    tables = connection.introspection.table_names()
    assert not {"coordination_pushstep", "coordination_feedbackreceipt", "coordination_clue", "coordination_cluestep",
                "coordination_clueattachment", "inspections_inspectionclue"} & set(tables)

    # Push steps: on the kernel's timeline, with the item's division, entity and department.
    step = WorkflowStep.objects.get(procedure="coordination.pushitem", object_id=item.pk)
    assert (step.action, step.to_state, step.actor_id, step.via, step.at) == ("claim", "claimed", staff.pk, "api", at)
    assert (step.division_code, step.entity_id, step.department_id) == (VILLAGE, entity.pk, health.pk)
    assert [s.action for s in PushItem.objects.get(pk=item.pk).timeline()] == ["create", "claim"]

    # Feedback receipts: idempotency records; a short old key still replays the stored answer.
    assert IdempotencyRecord.objects.filter(actor_id=staff.pk, operation=f"push.claim:{item.pk}").count() == 2
    client.force_login(staff)
    for key in ("r1", "claim-key-0001"):
        r = client.post(f"/api/v1/push-items/{item.pk}/claim/", HTTP_IDEMPOTENCY_KEY=key)
        assert r.status_code == 200 and r.json() == body and r["Idempotent-Replayed"] == "true"

    # Coordination's clues keep their ids, numbers, states and timeline; the photo follows.
    v = Clue.objects.get(pk=village.pk)
    assert (v.number, v.source, v.state, v.text, v.place, v.reporter_id, v.matter_code, v.department_id, v.report) == (
        "XS20261101000007", "village", "reported", "无证诊所", "某巷 3 号", recorder.pk, "catering", health.pk, "已查处")
    assert v.bureau == city and v.closed_at == at and v.version == 3
    assert [(s.action, s.to_state, s.department_id) for s in v.steps] == [
        ("record", "recorded", health.pk), ("assign", "assigned", health.pk), ("report", "reported", health.pk)]
    assert list(ClueAttachment.objects.filter(clue=v).values_list("upload_id", flat=True)) == [photo.pk]
    r = Clue.objects.get(pk=routed.pk)
    assert (r.source, r.source_ref, r.state) == ("grid_case", "grid:case:5", "assigned")

    # Inspections' case clue: in the intake, numbered, on the timeline.
    ic = Clue.objects.get(source="inspection", source_ref=f"inspection:{inspection.pk}")
    assert ic.pk > routed.pk and ic.text == "涉嫌无证经营" and ic.state == "recorded" and ic.bureau_id == inspection.bureau_id
    assert ic.number.endswith("号") and ic.found_on == timezone.localdate(inspection.finished_at)
    assert [s.action for s in ic.steps] == ["record"] and ic.steps.get().actor_id == inspection.created_by_id

    # New clues are numbered after the copied ids (the sequence was moved on).
    from zhijian.clues import intake

    new = intake.record(source="manual", actor=None, text="新线索", division_code=VILLAGE)
    assert new.pk > ic.pk
