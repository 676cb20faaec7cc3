"""G1 to the end of the chain: a case's end finishes its village supervision task, and a routed
case lands in a work queue (谁许可，谁监管) — a clue assigned to the licensing department or a
task for the county bureau. Effects come from the event handlers, so each test drains the
dispatcher (as production does) and replays the handlers to check nothing happens twice."""
import datetime as dt

import pytest
from freezegun import freeze_time

from tests.factories import make_entity, make_user
from tests.grid.conftest import VILLAGE_W, drain
from zhijian.clues import intake
from zhijian.clues import queries as clue_queries
from zhijian.clues import services as clue_services
from zhijian.clues.choices import ClueSource
from zhijian.clues.choices import ClueState as TransferClueState
from zhijian.clues.models import Clue
from zhijian.core.errors import ApplicationError
from zhijian.core.models import Event
from zhijian.grid import cases, handlers, reports, routing, village
from zhijian.grid.choices import CaseState, RouteTarget, Trigger
from zhijian.grid.models import GridCase
from zhijian.grid.procedure import GRID_CASE
from zhijian.supervision import tasks as sv
from zhijian.supervision.procedure import TASK, allowed_actions
from zhijian.supervision.choices import TaskSource, TaskState
from zhijian.supervision.models import Task

D = dt.date
MATTERS = ["address", "operating", "licence", "unlicensed", "annual_report", "display"]
ALL_OK = {m: ("ok", "") for m in MATTERS}
LOOP = ["create", "dispatch", "accept", "start", "submit", "approve", "archive"]


def routed_clues():
    """Clues a routed case became (a phone's grid report is a clue too, of another source)."""
    return Clue.objects.filter(source=ClueSource.GRID_CASE)


def _items(**bad):
    return {**ALL_OK, **{m: ("problem", note) for m, note in bad.items()}}


def _village_task(city, entity=None):
    return sv.task_create(actor=None, entity=entity or city.entity, title="首次走访", source=TaskSource.CLUE,
                          business_line="grid_first_visit", deadline_rule="grid.first_visit")


def _to_joint(city, case, **bad):
    case = cases.case_assign(actor=city.dispatcher, case=case, today=D(2026, 3, 2))
    case = cases.visit_first(actor=city.officer, case=case, items=_items(**bad), today=D(2026, 3, 3))
    case = cases.recheck(actor=city.officer, case=case, items={m: ("problem", "仍未整改") for m in bad}, today=D(2026, 3, 18))
    assert case.state == CaseState.JOINT
    return case


def _replay(event_type, case):
    """Run both outgoing handlers again on the case's event, as a redelivery would."""
    event = Event.objects.get(type=event_type, object_id=str(case.pk))
    for _ in range(2):
        handlers.finish_village_task(event)
        handlers.route_work(event)


def _department_user(department):
    from zhijian.org.models import Role, User

    user = User.objects.create_user(username=f"staff-{department.code}", password="x", department=department, full_name="部门员")
    user.roles.add(Role.objects.get_or_create(code="department_staff")[0])
    return user


def test_registration_to_first_visit_archives_the_village_task_on_a_frozen_clock(city):
    """The whole chain with the clock frozen on each day: registration → push → village task →
    grid case → assigned → first visit without problems → the task is archived through the loop."""
    drain()  # what the fixture's registrations left in the outbox
    with freeze_time("2026-09-21 10:00:00+08:00"):
        shop = make_entity(VILLAGE_W, name="东莞市宏图新开便利店", lng=113.72, lat=23.01)
        drain()  # entity.created: the push creates the village task, its task.created opens the case
    task = Task.objects.get(entity=shop, business_line="grid_first_visit")
    case = GridCase.objects.get(task=task)
    assert task.state == TaskState.REGISTERED and task.due_on == D(2026, 10, 12)  # grid.first_visit: 10 wd over National Day
    assert case.received_on == D(2026, 9, 21) and case.trigger == Trigger.REGISTRATION
    with freeze_time("2026-09-22 09:00:00+08:00"):
        case = cases.case_assign(actor=city.dispatcher, case=case)
    with freeze_time("2026-09-24 15:00:00+08:00"):
        case = cases.visit_first(actor=city.officer, case=case, items=ALL_OK)
        assert case.state == CaseState.CLOSED
        task.refresh_from_db()
        assert task.state == TaskState.REGISTERED  # the handler runs once the case's move has committed
        drain()
    task.refresh_from_db()
    assert task.state == TaskState.ARCHIVED and task.closed_at is not None
    assert task.assignee == city.officer and task.bureau == city.station  # dispatched to the officer who visited
    assert list(TASK.timeline(task).values_list("action", flat=True)) == LOOP
    assert all(s.actor_id is None for s in TASK.timeline(task))  # system steps on the case's authority
    assert "首次走访未发现问题" in TASK.timeline(task).get(action="approve").comment and case.number in task.review_comment
    record = task.records.get()
    assert (record.kind, record.record_id, record.signed) == ("grid_case", str(case.pk), True)

    _replay("grid.case_first_visit", case)
    drain()
    task.refresh_from_db()
    assert task.state == TaskState.ARCHIVED and TASK.timeline(task).count() == len(LOOP)
    assert Task.objects.filter(entity=shop).count() == 1 and routed_clues().count() == 0


def test_recheck_and_joint_resolution_archive_the_task_too(city):
    fixed = cases.case_open_for_task(task=_village_task(city), today=D(2026, 3, 2))
    fixed = cases.case_assign(actor=city.dispatcher, case=fixed, today=D(2026, 3, 2))
    fixed = cases.visit_first(actor=city.officer, case=fixed, items=_items(display="未亮照"), today=D(2026, 3, 3))
    drain()
    assert Task.objects.get(pk=fixed.task_id).state == TaskState.REGISTERED  # still rectifying: the task stays open
    cases.recheck(actor=city.officer, case=fixed, items={"display": ("ok", "已亮照")}, today=D(2026, 3, 5))

    other = make_entity(VILLAGE_W, name="东莞市宏图五金店", lng=113.72, lat=23.01)
    joint = _to_joint(city, cases.case_open_for_task(task=_village_task(city, other), today=D(2026, 3, 2)), annual_report="未年报")
    cases.joint_handle(actor=city.dispatcher, case=joint, resolved=True, note="村委协助完成年报", today=D(2026, 3, 20))
    drain()
    for case in (fixed, joint):
        task = Task.objects.get(pk=case.task_id)
        assert task.state == TaskState.ARCHIVED and list(TASK.timeline(task).values_list("action", flat=True)) == LOOP


def test_cancelled_case_cancels_its_village_task(city):
    case = cases.case_open_for_task(task=_village_task(city), today=D(2026, 3, 2))
    cases.case_cancel(actor=city.dispatcher, case=case, reason="重复登记")
    drain()
    task = Task.objects.get(pk=case.task_id)
    assert task.state == TaskState.CANCELLED and task.closed_at is not None
    assert case.number in task.cancel_reason and "重复登记" in task.cancel_reason
    assert list(TASK.timeline(task).values_list("action", flat=True)) == ["create", "cancel"]
    assert not task.records.exists()
    _replay("grid.case_cancel", case)
    assert TASK.timeline(Task.objects.get(pk=task.pk)).count() == 2


def test_the_first_visit_is_one_item_the_case_carries_its_task(city):
    """Once its case is open, the village task is the case's entry in the task loop: no person
    dispatches, claims or cancels it (the page names the case); ending the case ends the task."""
    case = cases.case_open_for_task(task=_village_task(city), today=D(2026, 3, 2))
    with pytest.raises(ApplicationError, match=f"该任务由网格事项 {case.number}办理"):
        sv.task_cancel(actor=city.dispatcher, task=case.task, reason="另行安排")
    with pytest.raises(ApplicationError, match="请在该事项中登记走访"):
        sv.task_dispatch(actor=city.dispatcher, task=case.task, bureau=case.bureau)
    assert [a for a in allowed_actions(case.task, city.dispatcher) if a != "urge"] == []
    cases.case_cancel(actor=city.dispatcher, case=case, reason="重复登记")
    drain()
    task = Task.objects.get(pk=case.task_id)
    assert task.state == TaskState.CANCELLED and "重复登记" in task.cancel_reason


def test_unresolved_licensed_trade_becomes_one_clue_for_the_licensing_department(city, client):
    from zhijian.org.models import Department

    clinic = make_entity(VILLAGE_W, name="东莞市宏图诊所有限公司", industry_code="8422", lng=113.72, lat=23.01, business_scope="内科诊疗",
                         address="东莞市南城街道宏图路9号")
    case = _to_joint(city, cases.case_open_for_task(task=_village_task(city, clinic), today=D(2026, 3, 2)),
                     licence="未取得医疗机构执业许可证")
    case = cases.joint_handle(actor=city.dispatcher, case=case, resolved=False, note="仍在执业", today=D(2026, 3, 20))
    assert case.route_target == RouteTarget.DEPARTMENT and case.routed_department == city.health
    drain()

    clue = routed_clues().get()
    assert clue.department == city.health and clue.state == TransferClueState.ASSIGNED
    assert clue.entity == clinic and clue.division_code == case.division_code and clue.place.startswith(clinic.name)
    assert clue.text.startswith(case.number + " ") and clue.source_ref == f"grid:case:{case.pk}"
    assert "许可证照核查（未取得医疗机构执业许可证；仍未整改）" in clue.text and "仍在执业" in clue.text
    assert [s.action for s in clue.steps.all()] == ["record", "assign"]
    # The case's timeline and a grid.case_referred event name the clue.
    note = GRID_CASE.timeline(case).order_by("-id").first()
    assert note.action == "route" and clue.number in note.comment and "东莞市卫生健康局" in note.comment
    referred = Event.objects.get(type="grid.case_referred")
    assert referred.payload["clue_id"] == clue.pk and referred.payload["case_id"] == case.pk
    # The village's part is done: its task is archived; no county task.
    assert Task.objects.get(pk=case.task_id).state == TaskState.ARCHIVED
    assert not Task.objects.filter(source_ref=f"grid:case:{case.pk}").exists()

    staff = _department_user(city.health)
    culture = Department.objects.create(name="东莞市文化广电旅游体育局", code="culture-441900", division_code="441900", jurisdiction="4419")
    outsider = _department_user(culture)
    assert list(clue_queries.clues(staff)) == [clue]
    assert not clue_queries.clues(outsider).exists()
    client.force_login(staff)
    assert client.get(f"/coordination/clues/{clue.pk}/").status_code == 200
    client.force_login(outsider)
    assert client.get(f"/coordination/clues/{clue.pk}/").status_code == 404
    # The department reports back on the same clue.
    clue_services.clue_report(actor=staff, clue=clue, report="已立案查处，责令停止执业")
    assert routed_clues().get(pk=clue.pk).state == TransferClueState.REPORTED

    # Redelivered events, a second call: nothing twice.
    _replay("grid.case_route", case)
    assert routing.route_work(case=GridCase.objects.get(pk=case.pk)).pk == clue.pk
    drain()
    assert routed_clues().count() == 1
    assert Event.objects.filter(type="grid.case_referred").count() == 1
    # The move, the referral note and the department's report, once.
    assert GRID_CASE.timeline(case).filter(action="route").count() == 3
    feedback = GRID_CASE.timeline(case).filter(action="route").order_by("-id").first()
    assert "已立案查处，责令停止执业" in feedback.comment and clue.number in feedback.comment
    assert Event.objects.filter(type="grid.case_feedback", object_id=str(case.pk)).count() == 1
    # A clue a village typed by hand that merely opens with the case's number is not the case's clue:
    # the link is the source reference, not the text.
    typed = intake.record(source=ClueSource.VILLAGE, actor=None, text=f"{case.number} 附近另有无证诊所", division_code=case.division_code)
    clue_services.clue_assign(actor=None, clue=typed, department=city.health)
    clue_services.clue_report(actor=staff, clue=typed, report="另案处理")
    drain()
    assert Event.objects.filter(type="grid.case_feedback", object_id=str(case.pk)).count() == 1
    assert not GRID_CASE.timeline(case).filter(comment__contains="另案处理").exists()


@freeze_time("2026-03-20 16:00:00+08:00")  # the day of the routing, when the handlers run
def test_unresolved_address_becomes_one_task_for_the_county_bureau(city, outsider):
    case = _to_joint(city, cases.case_open_for_task(task=_village_task(city), today=D(2026, 3, 2)), address="查无此址")
    case = cases.joint_handle(actor=city.dispatcher, case=case, resolved=False, note="经营者失联", today=D(2026, 3, 20))
    assert case.route_target == RouteTarget.MARKET_REGULATOR and case.routed_bureau == city.county
    drain()

    task = Task.objects.get(source_ref=f"grid:case:{case.pk}")
    assert task.bureau == city.county and task.state == TaskState.DISPATCHED and task.assignee is None
    assert task.source == TaskSource.CLUE and task.business_line == "registration_address"
    assert task.entity == city.entity and task.division_code == case.division_code
    assert any(task.division_code.startswith(p) for p in city.county.jurisdiction_prefixes())
    assert case.number in task.title and city.entity.name in task.title
    assert "地址核查（查无此址；仍未整改）" in task.description and "经营者失联" in task.description
    assert task.deadline_rule == "penalty.clue_verify"
    from zhijian.deadlines.rules import due

    assert task.due_on == due("penalty.clue_verify", D(2026, 3, 20)).due_date  # the task's clock, from the routing day
    assert Event.objects.get(type="grid.case_referred").payload["task_id"] == task.pk
    # The county's people see it and may claim it; an outsider does not.
    assert Task.objects.scoped(city.county_head).filter(pk=task.pk).exists()
    assert not Task.objects.scoped(outsider).filter(pk=task.pk).exists()
    county_officer = make_user("enforcement_officer", bureau=city.county, username="countyofficer")
    assert "accept" in TASK.allowed(task, county_officer)
    assert Task.objects.get(pk=case.task_id).state == TaskState.ARCHIVED  # the village task

    _replay("grid.case_route", case)
    assert routing.route_work(case=GridCase.objects.get(pk=case.pk)).pk == task.pk
    drain()
    assert Task.objects.filter(source_ref=f"grid:case:{case.pk}").count() == 1
    assert Event.objects.filter(type="grid.case_referred").count() == 1
    assert routed_clues().count() == 0


def test_a_reported_place_without_an_entity_becomes_a_county_task_on_its_division(city):
    """A clue from the phone (no registry entity): the county's task names the division and place."""
    report = reports.clue_report(actor=city.officer, place_name="无名小卖部", description="无照经营", lng=113.72, lat=23.01,
                                  system="gcj02", today=D(2026, 3, 2))
    case = _to_joint(city, report.grid_case, unlicensed="未办理营业执照")
    cases.joint_handle(actor=city.dispatcher, case=case, resolved=False, note="拒不办照", today=D(2026, 3, 20))
    drain()
    task = Task.objects.get(source_ref=f"grid:case:{case.pk}")
    assert task.entity is None and task.division_code == VILLAGE_W and task.bureau == city.county
    assert task.business_line == "unlicensed_operation" and "无名小卖部" in task.title
    assert case.task_id is None  # a clue's case has no village task to finish


def test_open_and_assign_events_finish_nothing(city):
    case = cases.case_open_for_task(task=_village_task(city), trigger=Trigger.REGISTRATION, today=D(2026, 3, 2))
    cases.case_assign(actor=city.dispatcher, case=case, today=D(2026, 3, 2))
    drain()
    assert Task.objects.get(pk=case.task_id).state == TaskState.REGISTERED


def test_case_end_handler_listens_to_the_ending_actions_only():
    """grid.case_opened (one per registration in a burst) runs no handler: no marker per event."""
    from zhijian.core import events

    events.load_handlers()
    assert [h.name for h in events.handlers_for("grid.case_opened")] == []
    assert "grid.finish_village_task" in [h.name for h in events.handlers_for("grid.case_cancel")]
    from zhijian.grid.handlers import ENDING

    assert set(ENDING) == village.ENDING_EVENTS
