"""G1 end to end on the 2026 calendar (Mid-Autumn 25 Sep, National Day 1–7 Oct, make-up working
days Sun 20 Sep and Sat 10 Oct): every limit from the deadline rules, hand-counted below."""
import datetime as dt

import pytest
from freezegun import freeze_time

from zhijian.core.errors import ApplicationError
from zhijian.grid import cases
from zhijian.grid.procedure import GRID_CASE
from zhijian.grid.choices import CaseState, RouteTarget, Trigger

D = dt.date
ALL_OK = {m: ("ok", "") for m in ["address", "operating", "licence", "unlicensed", "annual_report", "display"]}


def _problems(**bad):
    items = dict(ALL_OK)
    items.update({m: ("problem", note) for m, note in bad.items()})
    return items


def _open(city, **kw):
    return cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=city.entity, trigger_ref="push:event:1", today=D(2026, 9, 21), **kw)


def test_open_is_idempotent_and_limited_by_the_assign_rule(city):
    """Received Mon 21 Sep: assignment due the next working day (grid.assign, 1 wd)."""
    case = _open(city)
    assert case.state == CaseState.PENDING_ASSIGN
    assert case.step_due_on == D(2026, 9, 22)
    assert case.grid == city.west and case.bureau == city.station
    assert _open(city).pk == case.pk


def test_first_visit_limit_counts_working_days_across_national_day(city):
    """10 wd from 21 Sep: 22,23,24 (25 off), 28,29,30, (1–7 Oct off) 8, 9, Sat 10 (make-up), Mon 12."""
    case = cases.case_assign(actor=city.dispatcher, case=_open(city), today=D(2026, 9, 22))
    assert case.state == CaseState.FIRST_VISIT
    assert case.assignee == city.officer  # the grid's supervisor (GridStaff)
    assert case.step_due_on == D(2026, 10, 12)
    # Re-assigning keeps the limit counted from receipt.
    case = cases.case_assign(actor=city.dispatcher, case=case, grid=city.west, assignee=city.officer3, today=D(2026, 9, 29))
    assert case.assignee == city.officer3 and case.step_due_on == D(2026, 10, 12)


@freeze_time("2026-11-06 16:00:00+08:00")  # the day of the routing, when the handlers run
def test_whole_flow_notice_recheck_joint_and_routing_to_the_market_regulator(city):
    from tests.grid.conftest import drain
    from zhijian.supervision import tasks as sv
    from zhijian.supervision.choices import TaskState
    from zhijian.supervision.models import Task

    village = sv.task_create(actor=None, entity=city.entity, title="首次走访", source="clue", business_line="grid_first_visit",
                             deadline_rule="grid.first_visit")
    case = cases.case_assign(actor=city.dispatcher, case=_open(city, task=village), today=D(2026, 9, 22))

    with pytest.raises(ApplicationError, match="只有已送达书面告知书"):
        cases.recheck(actor=city.officer, case=case, items={}, today=D(2026, 9, 23))
    with pytest.raises(ApplicationError, match="请逐项填写检查结果，尚缺：亮照经营"):
        cases.visit_first(actor=city.officer, case=case, items={k: v for k, v in ALL_OK.items() if k != "display"}, today=D(2026, 10, 9))
    with pytest.raises(ApplicationError, match="发现问题，请写明问题"):
        cases.visit_first(actor=city.officer, case=case, items=_problems(address=""), today=D(2026, 10, 9))
    with pytest.raises(ApplicationError, match="只有承办的网格监管员"):
        cases.visit_first(actor=city.officer2, case=case, items=ALL_OK, today=D(2026, 10, 9))

    # Fri 9 Oct: problems found -> 书面告知书, rectify by 10 wd (Sat 10, 12–16, 19–22 -> Thu 22 Oct).
    case = cases.visit_first(actor=city.officer, case=case, items=_problems(address="实际经营地址与登记住所不符"),
                                lng=113.72, lat=23.01, system="gcj02", today=D(2026, 10, 9))
    assert case.state == CaseState.RECTIFYING
    assert case.notice_deadline == D(2026, 10, 22)
    assert case.notice_number.endswith("网告〔2026〕1号")
    with open(case.notice_pdf.path, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    # Re-check within 10 wd after the rectification deadline: 23, 26–30, 2–5 Nov -> Thu 5 Nov.
    assert case.step_due_on == D(2026, 11, 5)

    with pytest.raises(ApplicationError, match="整改期限（2026-10-22）尚未届满"):
        cases.recheck(actor=city.officer, case=case, items={"address": ("problem", "仍未变更")}, today=D(2026, 10, 22))
    case = cases.recheck(actor=city.officer, case=case, items={"address": ("problem", "仍未变更登记")}, today=D(2026, 10, 26))
    assert case.state == CaseState.JOINT
    assert case.step_due_on == D(2026, 11, 9)  # 27–30 Oct, 2–6 Nov, Mon 9 Nov

    with pytest.raises(ApplicationError, match="请填写联合处置情况"):
        cases.joint_handle(actor=city.dispatcher, case=case, resolved=False, note="", today=D(2026, 11, 6))
    case = cases.joint_handle(actor=city.dispatcher, case=case, resolved=False, note="村委会约谈，仍拒不改正", today=D(2026, 11, 6))
    assert case.state == CaseState.ROUTED
    assert case.route_target == RouteTarget.MARKET_REGULATOR
    assert case.routed_bureau == city.county
    assert case.routing_rule.name == "地址问题 → 市场监管"
    assert case.step_due_on is None and case.closed_at is not None
    assert [s.action for s in GRID_CASE.timeline(case)] == ["open", "assign", "first_visit", "notice", "recheck", "route"]
    with pytest.raises(ApplicationError, match="已办结、已移交或已撤销的事项不能撤销"):
        cases.case_cancel(actor=city.dispatcher, case=case, reason="重复")

    # The handlers: the village's task is done (archived through the task loop), and the county
    # bureau has one task, due 15 wd after the routing day (Fri 6 Nov: 9–13, 16–20, 23–27 Nov);
    # the handlers run on the day of the routing (the frozen clock).
    drain()
    village.refresh_from_db()
    assert village.state == TaskState.ARCHIVED
    county = Task.objects.get(source_ref=f"grid:case:{case.pk}")
    assert county.bureau == city.county and county.state == TaskState.DISPATCHED and county.due_on == D(2026, 11, 27)
    assert county.business_line == "registration_address" and case.number in county.title
    drain()
    assert Task.objects.filter(source_ref=f"grid:case:{case.pk}").count() == 1


def test_visit_without_problems_closes_and_fixed_at_recheck_closes(city):
    case = cases.case_assign(actor=city.dispatcher, case=_open(city), today=D(2026, 9, 22))
    assert cases.visit_first(actor=city.officer, case=case, items=ALL_OK, today=D(2026, 9, 24)).state == CaseState.CLOSED

    other = cases.case_open(actor=None, trigger=Trigger.ADDRESS_CHANGE, entity=city.entity, trigger_ref="push:event:2", today=D(2026, 9, 21))
    other = cases.case_assign(actor=city.dispatcher, case=other, today=D(2026, 9, 22))
    other = cases.visit_first(actor=city.officer, case=other, items=_problems(display="未亮照"), notice_deadline=D(2026, 9, 30),
                                 today=D(2026, 9, 24))
    assert other.notice_deadline == D(2026, 9, 30)
    # Fixed before the deadline: allowed, closes.
    assert cases.recheck(actor=city.officer, case=other, items={"display": ("ok", "已悬挂执照")}, today=D(2026, 9, 28)).state == CaseState.CLOSED


def test_notice_deadline_bounded_by_the_rule(city):
    case = cases.case_assign(actor=city.dispatcher, case=_open(city), today=D(2026, 9, 22))
    # 10 wd from Thu 24 Sep: (25 off) 28, 29, 30, (1–7 Oct off) 8, 9, Sat 10, 12, 13, 14, 15.
    with pytest.raises(ApplicationError, match="整改期限不能晚于 2026-10-15"):
        cases.visit_first(actor=city.officer, case=case, items=_problems(display="未亮照"), notice_deadline=D(2026, 10, 16),
                             today=D(2026, 9, 24))
    with pytest.raises(ApplicationError, match="整改期限须晚于走访当日"):
        cases.visit_first(actor=city.officer, case=case, items=_problems(display="未亮照"), notice_deadline=D(2026, 9, 24),
                             today=D(2026, 9, 24))


def test_joint_resolution_closes(city):
    case = cases.case_assign(actor=city.dispatcher, case=_open(city), today=D(2026, 9, 22))
    case = cases.visit_first(actor=city.officer, case=case, items=_problems(annual_report="未报 2025 年度年报"), today=D(2026, 9, 24))
    case = cases.recheck(actor=city.officer, case=case, items={"annual_report": ("problem", "仍未报")}, today=D(2026, 10, 16))
    case = cases.joint_handle(actor=city.officer, case=case, resolved=True, note="村委协助完成年报", today=D(2026, 10, 19))
    assert case.state == CaseState.CLOSED


def test_roles_and_scope_are_checked(city, outsider):
    case = _open(city)
    with pytest.raises(ApplicationError, match="只有调度员或领导可以分派"):
        cases.case_assign(actor=city.officer, case=case, today=D(2026, 9, 22))
    with pytest.raises(ApplicationError) as e:
        cases.case_assign(actor=outsider, case=case, today=D(2026, 9, 22))
    assert e.value.status == 404
    with pytest.raises(ApplicationError, match="尚未配备网格监管员"):
        from zhijian.geo.models import GridStaff

        GridStaff.objects.filter(grid=city.west).delete()
        cases.case_assign(actor=city.dispatcher, case=case, today=D(2026, 9, 22))


def test_auto_assign_to_the_grid_supervisor(city):
    case = _open(city, auto_assign=True)
    assert case.state == CaseState.FIRST_VISIT and case.assignee == city.officer


def test_every_step_is_traced_and_emitted(city):
    from zhijian.core.models import Event, TraceEntry

    case = cases.case_assign(actor=city.dispatcher, case=_open(city), today=D(2026, 9, 22))
    cases.visit_first(actor=city.officer, case=case, items=ALL_OK, today=D(2026, 9, 24))
    actions = list(TraceEntry.objects.filter(object_type="grid.gridcase", object_id=str(case.pk)).values_list("action", flat=True))
    assert actions == ["grid.case.open", "grid.case.assign", "grid.case.first_visit"]
    types = list(Event.objects.filter(object_type="grid.gridcase", object_id=str(case.pk)).order_by("id").values_list("type", flat=True))
    assert types == ["grid.case_opened", "grid.case_assign", "grid.case_first_visit"]
