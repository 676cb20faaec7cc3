"""One clue intake (``clues.intake.record``) fed by every source: who may record from where, the
number, photos, idempotency by client key and by source reference, and what each source starts."""
import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.clues.conftest import VILLAGE
from tests.inspections.conftest import items_of, payload
from tests.factories import make_entity, make_user
from zhijian.clues import intake, queries, services
from zhijian.clues.choices import ClueAction, ClueSource, ClueState
from zhijian.clues.models import Clue
from zhijian.clues.workflow import CLUE
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.models import Event, TraceEntry, WorkflowStep
from zhijian.core.workflow import Forbidden
from zhijian.deadlines import numbering
from zhijian.deadlines.choices import DocType
from zhijian.deadlines.rules import due
from zhijian.geo.models import Grid
from zhijian.inspections import loading
from zhijian.inspections.models import CheckItem, Inspection
from zhijian.security.uploads import check_upload, store_upload

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00"
       b"\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _photo():
    return SimpleUploadedFile("scene.png", PNG, content_type="image/png")


@pytest.mark.django_db
def test_village_clue_is_numbered_stepped_traced_and_announced(people):
    """A village's record: numbered in the clue sequence of the most specific bureau over its
    village (the town's, not the city's), its creation on the timeline,
    in the trace and as ``clue.recorded``; waiting for the town office."""
    clue = intake.record(source=ClueSource.VILLAGE, actor=people.grid_officer, text="无证经营卷烟零售的流动摊点", division_code=VILLAGE,
                         place="莞城市场门口", lng=113.75, lat=23.04, photos=[_photo()], via="web")
    year, town = clue.found_on.year, people.town_office.bureau
    assert clue.number == numbering.format_number(bureau=town, doc_type=DocType.CLUE, year=year, n=1)
    assert (clue.source, clue.state, clue.bureau, clue.reporter) == (ClueSource.VILLAGE, ClueState.RECORDED, town, people.grid_officer)
    assert clue.attachments.count() == 1 and clue.photos()[0].purpose == "clue"
    step = clue.steps.get()
    assert (step.action, step.from_state, step.to_state, step.actor, step.via) == ("record", "", "recorded", people.grid_officer, "web")
    assert step.action_label == "登记线索" and step.to_state_label == "待指派"
    assert TraceEntry.objects.filter(action="clue.record", object_type="clues.clue", object_id=str(clue.pk)).count() == 1
    ev = Event.objects.get(type="clue.recorded", object_id=str(clue.pk))
    assert ev.payload["number"] == clue.number and ev.payload["source"] == "village"
    assert queries.verify_clock(clue) is None  # nothing to verify before someone takes it up
    second = intake.record(source=ClueSource.VILLAGE, actor=people.grid_officer, text="另一条", division_code=VILLAGE)
    assert second.number == numbering.format_number(bureau=town, doc_type=DocType.CLUE, year=year, n=2)


@pytest.mark.django_db
def test_who_may_record_and_where(people):
    with pytest.raises(Forbidden, match="您没有登记线索的权限"):
        intake.record(source=ClueSource.VILLAGE, actor=people.health_staff, text="x", division_code=VILLAGE)
    with pytest.raises(Forbidden):
        intake.record(source=ClueSource.INSPECTION, actor=people.grid_officer, text="x", division_code=VILLAGE)
    with pytest.raises(OutOfScope):
        intake.record(source=ClueSource.VILLAGE, actor=people.outsider, text="x", division_code=VILLAGE)
    with pytest.raises(ApplicationError, match="请填写线索内容"):
        intake.record(source=ClueSource.VILLAGE, actor=people.grid_officer, text=" ", division_code=VILLAGE)
    with pytest.raises(ApplicationError, match="请选择线索所在区划"):
        intake.record(source=ClueSource.VILLAGE, actor=people.grid_officer, text="x")
    with pytest.raises(ApplicationError, match="未知的线索来源"):
        intake.record(source="fax", actor=None, text="x", division_code=VILLAGE)
    # A bad coordinate is a refusal with a reason, not a server error.
    for lng, lat in (("abc", 23.0), (113.7, 95), (float("nan"), 23.0)):
        with pytest.raises(ApplicationError, match="位置坐标无效") as exc:
            intake.record(source=ClueSource.GRID_REPORT, actor=people.grid_officer, place_name="无名小店", division_code=VILLAGE,
                          lng=lng, lat=lat)
        assert exc.value.code == "bad_position"
    assert not Clue.objects.exists()


@pytest.mark.django_db
def test_grid_report_holds_what_the_phone_sends(people):
    """What ``grid.Clue`` held: kind, place name, address, suspected industry, GCJ-02 and raw WGS-84
    position, accuracy, grid, photo (already stored), reporter."""
    grid = Grid.objects.create(code="G" + VILLAGE, name="宏图社区网格", level=2, division_code=VILLAGE)
    stored = store_upload(check_upload(_photo(), kinds=["image"]), uploaded_by=people.grid_officer, purpose="grid_clue")
    clue = intake.record(source=ClueSource.GRID_REPORT, actor=people.grid_officer, kind="unlicensed", place_name="无名小吃店",
                         place="宏图路 8 号", text="疑似无证经营", industry_code="6210", grid=grid, lng=113.7512, lat=23.0213,
                         raw_lng=113.746, raw_lat=23.024, accuracy_m=12.5, photos=[stored], client_key="phone-report-0001",
                         via="phone")
    assert (clue.division_code, clue.grid, clue.kind, clue.place_name, clue.industry_code) == (VILLAGE, grid, "unlicensed", "无名小吃店",
                                                                                              "6210")
    assert (clue.raw_lng, clue.raw_lat, clue.accuracy_m, clue.client_key) == (113.746, 23.024, 12.5, "phone-report-0001")
    assert clue.photos() == [stored]
    # The grid hands it to the case it opens (the system does; a person may not).
    other = intake.record(source=ClueSource.GRID_REPORT, actor=people.grid_officer, place_name="另一家", division_code=VILLAGE)
    with pytest.raises(Forbidden):
        CLUE.check(other, ClueAction.HAND_OVER, people.grid_officer)
    moved = services.clue_hand_over(clue=clue, to_ref="grid:case:77", comment="已立网格事项")
    assert moved.state == ClueState.HANDED_OVER and moved.handed_to == "grid:case:77" and moved.closed_at
    assert Event.objects.filter(type="clue.handed_over", object_id=str(clue.pk)).count() == 1


@pytest.mark.django_db
def test_client_key_replay_returns_the_first_clue(people):
    """A phone that lost its answer sends again: the same clue, one step, one event, one number."""
    kw = dict(source=ClueSource.GRID_REPORT, actor=people.grid_officer, place_name="无名小店", division_code=VILLAGE,
              client_key="phone-clue-123456")
    first = intake.record(**kw)
    again = intake.record(**kw)
    assert again.pk == first.pk and Clue.objects.count() == 1
    assert WorkflowStep.objects.filter(procedure="clues.clue", object_id=first.pk).count() == 1
    assert Event.objects.filter(type="clue.recorded").count() == 1
    with pytest.raises(ApplicationError):  # a malformed key is refused, not stored
        intake.record(**{**kw, "client_key": "short"})


@pytest.mark.django_db
def test_routed_grid_case_is_recorded_once_per_reference(people):
    """The system records a routed grid case's clue (no person); the reference makes it idempotent."""
    entity = make_entity(VILLAGE, name="东莞市宏图诊所有限公司", industry_code="8422")
    first = intake.record(source=ClueSource.GRID_CASE, actor=None, text="WG-1 无证行医", entity=entity, source_ref="grid:case:12")
    again = intake.record(source=ClueSource.GRID_CASE, actor=None, text="WG-1 无证行医", entity=entity, source_ref="grid:case:12")
    assert again.pk == first.pk and first.division_code == VILLAGE and first.reporter is None
    assert queries.by_source(ClueSource.GRID_CASE, "grid:case:12") == first


@pytest.mark.django_db
def test_inspection_clue_starts_its_verification_clock_from_the_inspection_day(people, city):
    """A case clue found in an inspection is taken up at once: 15 working days from the day found."""
    entity = make_entity(VILLAGE)
    found = dt.date(2026, 9, 21)
    clue = intake.record(source=ClueSource.INSPECTION, actor=None, reporter=people.officer, entity=entity, bureau=city,
                         text="涉嫌无证经营", source_ref="inspection:5", found_on=found)
    assert clue.state == ClueState.VERIFYING and clue.reporter == people.officer
    clock = queries.verify_clock(clue)
    assert clock.rule_code == "penalty.clue_verify" and clock.started_on == found
    assert clock.due_on == due("penalty.clue_verify", found).due_date
    assert [s.action for s in clue.steps] == ["record", "verify"] and clue.steps.last().due_on == clock.due_on


@pytest.mark.django_db
def test_complaint_clue_is_verified_under_the_complaint_rule(people):
    clue = intake.record(source=ClueSource.COMPLAINT, actor=people.complaint_handler, text="调解中发现销售过期食品",
                         division_code=VILLAGE, found_on=dt.date(2026, 3, 2))
    assert clue.state == ClueState.VERIFYING and queries.verify_clock(clue).rule_code == "complaint.clue_verify"


@pytest.mark.django_db
def test_inspection_sync_with_a_case_conclusion_feeds_the_intake(people, city, client):
    """The phone's inspection concluded "立案调查": its clue is in the intake, verification running."""
    if not CheckItem.objects.exists():
        loading.load_checklists()
    shop = make_entity(VILLAGE, name="东莞市莞城示范食品商行", legal_rep="陈老板")
    second = make_user("enforcement_officer", bureau=city, enforcement_cert_no="44190010010", full_name="王执法")
    body = payload(entity=shop, officers=[people.officer, second], items=items_of("food_sales"), conclusion="case")
    client.force_login(people.officer)
    r = client.post("/api/v1/inspections/sync/", data=body, content_type="application/json")
    assert r.status_code in (200, 201), r.content
    inspection = Inspection.objects.get(client_key=body["client_key"])
    clue = Clue.objects.get(source=ClueSource.INSPECTION, source_ref=f"inspection:{inspection.pk}")
    assert clue.state == ClueState.VERIFYING and clue.entity == shop and clue.bureau == inspection.bureau
    assert clue.reporter == people.officer and queries.verify_clock(clue) is not None
