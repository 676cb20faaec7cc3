"""The clue procedure (``clues.workflow.CLUE``): the transfer chain (C4), the grid hand-over, and
verification with its clock — 15 working days, +15 once, counted from the ORIGINAL due date."""
import datetime as dt

import pytest

from tests.clues.conftest import VILLAGE
from tests.factories import make_entity
from zhijian.clues import intake, queries, services
from zhijian.clues.choices import ClueAction, ClueSource, ClueState
from zhijian.clues.models import Clue
from zhijian.clues.workflow import CLUE
from zhijian.core.errors import ApplicationError
from zhijian.core.models import Event
from zhijian.core.workflow import Forbidden, GuardFailed, StateError
from zhijian.deadlines.choices import ClockState
from zhijian.deadlines.rules import due
from zhijian.deadlines.workdays import add_workdays


def _clue(people, **kw):
    return intake.record(**{"source": ClueSource.VILLAGE, "actor": people.grid_officer, "text": "疑似无证诊所", "division_code": VILLAGE,
                            **kw})


@pytest.mark.django_db
def test_transfer_chain_assign_report(people):
    """Village records → town office assigns → the department reports; both sides see one timeline."""
    clue = _clue(people)
    with pytest.raises(Forbidden, match="只有镇街商改办"):
        services.clue_assign(actor=people.grid_officer, clue=clue, department=people.health)
    with pytest.raises(Forbidden, match="只有承办部门"):  # before the state: an outsider learns nothing
        services.clue_report(actor=people.health_staff, clue=clue, report="已查处")
    with pytest.raises(GuardFailed, match="请选择承办部门"):
        services.clue_assign(actor=people.town_office, clue=clue, department=None)
    with pytest.raises(GuardFailed, match="辖区不包括"):
        services.clue_assign(actor=people.town_office, clue=clue, department=people.jinan)
    assigned = services.clue_assign(actor=people.town_office, clue=clue, department=people.health)
    assert assigned.state == ClueState.ASSIGNED and assigned.department == people.health and assigned.assigned_at
    with pytest.raises(GuardFailed, match="请填写反馈内容"):
        services.clue_report(actor=people.health_staff, clue=clue, report=" ")
    done = services.clue_report(actor=people.health_staff, clue=clue, report="已立案查处")
    assert done.state == ClueState.REPORTED and done.reported_at and done.closed_at and done.report == "已立案查处"
    steps = list(done.steps)
    assert [(s.action, s.to_state) for s in steps] == [("record", "recorded"), ("assign", "assigned"), ("report", "reported")]
    assert steps[1].department_id == people.health.pk and steps[1].comment == "指派给 市卫生健康局"
    ev = Event.objects.get(type="clue.reported", object_id=str(clue.pk))
    assert ev.payload["comment"] == "已立案查处" and ev.payload["department_code"] == "wjj"
    assert list(queries.clues(people.health_staff)) == [done]
    with pytest.raises(StateError):
        services.clue_return(actor=people.health_staff, clue=clue, reason="非本部门")


@pytest.mark.django_db
def test_returned_clue_is_reassigned_or_dismissed(people):
    clue = _clue(people)
    services.clue_assign(actor=people.town_office, clue=clue, department=people.health)
    with pytest.raises(GuardFailed, match="请填写退回理由"):
        services.clue_return(actor=people.health_staff, clue=clue, reason="")
    back = services.clue_return(actor=people.health_staff, clue=clue, reason="属消防事项")
    assert back.state == ClueState.RETURNED
    assert Event.objects.get(type="clue.returned", object_id=str(clue.pk)).payload["comment"] == "属消防事项"
    with pytest.raises(Forbidden, match="不予处理"):
        services.clue_dismiss(actor=people.grid_officer, clue=clue, reason="重复线索")
    with pytest.raises(GuardFailed, match="请填写理由"):
        services.clue_dismiss(actor=people.town_office, clue=clue, reason="")
    ended = services.clue_dismiss(actor=people.town_office, clue=clue, reason="重复线索")
    assert ended.state == ClueState.DISMISSED and ended.decision == "重复线索" and ended.closed_at


@pytest.mark.django_db
def test_allowed_actions_follow_the_table(people):
    clue = _clue(people)
    assert services.allowed_actions(clue, people.town_office) == ["assign", "dismiss"]
    assert services.allowed_actions(clue, people.officer) == ["verify"]
    assert services.allowed_actions(clue, people.grid_officer) == []
    clue = services.clue_assign(actor=people.town_office, clue=clue, department=people.health)
    assert services.allowed_actions(clue, people.health_staff) == ["report", "return"]
    assert services.allowed_actions(clue, people.outsider) == []


@pytest.mark.django_db
@pytest.mark.parametrize("state", ClueState.values)
def test_every_illegal_transition_is_refused(people, state):
    """Generated from the table: from each state, every action the table does not allow is refused
    (also for the system), and nothing moves."""
    clue = _clue(people)
    Clue.objects.filter(pk=clue.pk).update(state=state)
    clue.refresh_from_db()
    for action in ClueAction.values:
        t = CLUE.table.get(action)
        if t is None or state in t.sources:
            continue
        with pytest.raises(StateError):
            CLUE.check(clue, action, None)
    assert Clue.objects.get(pk=clue.pk).state == state


@pytest.mark.django_db
def test_verification_extended_once_from_the_original_due_date(people):
    """15 working days from the day found; the head's +15 counts from the ORIGINAL due date (the
    old bug counted it from the start again, which gave no extra day); once only; the decision
    stops the clock."""
    found = dt.date(2026, 9, 15)  # the base period runs over the National Day holiday
    clue = _clue(people, entity=make_entity(VILLAGE), found_on=found)
    with pytest.raises(Forbidden, match="只有执法人员或领导"):
        services.clue_verify(actor=people.grid_officer, clue=clue)
    clue = services.clue_verify(actor=people.officer, clue=clue)
    clock = queries.verify_clock(clue)
    original = due("penalty.clue_verify", found).due_date
    assert clue.state == ClueState.VERIFYING and clock.due_on == original and clock.started_on == found
    assert clue.steps.last().due_on == original

    with pytest.raises(Forbidden, match="机构负责人"):
        services.clue_extend(actor=people.officer, clue=clue, reason="案情复杂")
    with pytest.raises(GuardFailed, match="请填写理由"):
        services.clue_extend(actor=people.head, clue=clue, reason="")
    clue = services.clue_extend(actor=people.head, clue=clue, reason="案情复杂，需调取外地证据")
    clock = queries.verify_clock(clue)
    assert clock.due_on == due("penalty.clue_verify_extension", original).due_date == add_workdays(original, 15)
    assert clock.due_on > original and clock.original_due_on == original
    assert clock.due_on != due("penalty.clue_verify_extension", found).due_date  # not from the start
    assert clue.steps.last().action == "extend" and clue.steps.last().due_on == clock.due_on
    assert Event.objects.get(type="clue.verification_extended", object_id=str(clue.pk)).payload["due_on"] == str(clock.due_on)
    with pytest.raises(StateError, match="只能延长一次"):
        services.clue_extend(actor=people.head, clue=clue, reason="再延")

    with pytest.raises(Forbidden):
        services.clue_file(actor=people.officer, clue=clue, comment="立案")
    filed = services.clue_file(actor=people.head, clue=clue, comment="经负责人批准立案", handed_to="case:1")
    assert filed.state == ClueState.FILED and filed.handed_to == "case:1" and filed.closed_at
    assert queries.verify_clock(filed).state == ClockState.STOPPED


@pytest.mark.django_db
def test_decision_not_to_file_needs_grounds(people):
    clue = services.clue_verify(actor=people.officer, clue=_clue(people))
    with pytest.raises(GuardFailed, match="请填写理由"):
        services.clue_close(actor=people.head, clue=clue, reason=" ")
    closed = services.clue_close(actor=people.head, clue=clue, reason="经核查不存在违法事实")
    assert closed.state == ClueState.CLOSED and closed.decision == "经核查不存在违法事实"
    assert queries.verify_clock(closed).state == ClockState.STOPPED
    with pytest.raises(ApplicationError):
        services.clue_extend(actor=people.head, clue=closed, reason="x")
