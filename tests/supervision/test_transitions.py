"""The state machine: every (step, state) pair is either the legal move of TASK's table or refused
with a message naming the current state; guards by role and jurisdiction."""
import pytest

from tests.factories import make_user
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.models import Event, TraceEntry
from zhijian.core.workflow import Forbidden, StateError
from zhijian.supervision import tasks
from zhijian.supervision.choices import TaskAction, TaskState
from zhijian.supervision.models import Task, TaskUrge
from zhijian.supervision.procedure import TASK, allowed_actions

pytestmark = pytest.mark.django_db


def _do(action, task, people):
    """Take ``action`` as the person allowed to (so only the state decides)."""
    if action == TaskAction.DISPATCH:
        return tasks.task_dispatch(actor=people["dispatcher"], task=task, bureau=people["station"])
    if action == TaskAction.ACCEPT:
        return tasks.task_accept(actor=people["officer_a"], task=task)
    if action == TaskAction.START:
        return tasks.task_start(actor=people["officer_a"], task=task)
    if action == TaskAction.SUBMIT:
        return tasks.task_submit(actor=people["officer_a"], task=task)
    if action == TaskAction.APPROVE:
        return tasks.task_review(actor=people["leader"], task=task, approve=True)
    if action == TaskAction.REJECT:
        return tasks.task_review(actor=people["leader"], task=task, approve=False, comment="笔录不完整")
    if action == TaskAction.ARCHIVE:
        return tasks.task_archive(actor=people["leader"], task=task)
    if action == TaskAction.CANCEL:
        return tasks.task_cancel(actor=people["dispatcher"], task=task, reason="主体已注销")
    raise AssertionError(action)


@pytest.fixture
def people(dispatcher, station, officer_a, leader):
    return {"dispatcher": dispatcher, "station": station, "officer_a": officer_a, "leader": leader}


@pytest.mark.parametrize("state", TaskState.values)
@pytest.mark.parametrize("action", list(TASK.table))
def test_every_step_from_every_state(action, state, people, make_task, clean_requirements):
    """A step succeeds exactly from the states the table lists and leads to its target state;
    from any other state it is refused, names the current state, and changes nothing."""
    task = make_task(state, bureau=people["station"], assignee=people["officer_a"])
    version = task.version
    rule = TASK.rule(action)
    if state in rule.sources:
        _do(action, task, people)
        task.refresh_from_db()
        assert task.state == rule.target
        assert task.version == version + 1
        assert TASK.timeline(task).filter(action=action, from_state=state, to_state=rule.target).count() == 1
    else:
        label = TaskState(state).label
        with pytest.raises(StateError, match=f"任务当前为“{label}”，不能{TaskAction(action).label}"):
            _do(action, task, people)
        task.refresh_from_db()
        assert task.state == state and task.version == version


def test_archive_from_dispatched_names_what_is_needed(people, make_task):
    task = make_task(TaskState.DISPATCHED, bureau=people["station"])
    with pytest.raises(ApplicationError) as exc:
        tasks.task_archive(actor=people["leader"], task=task)
    assert exc.value.message == "任务当前为“已派发”，不能归档：只有“审核通过”的任务才能归档"


def test_full_loop_writes_steps_trace_and_events(people, entity, clean_requirements):
    d, station, a, leader = people["dispatcher"], people["station"], people["officer_a"], people["leader"]
    task = tasks.task_create(actor=d, entity=entity, title="食品销售日常检查", source="plan", business_line="食品销售")
    assert task.state == TaskState.REGISTERED and f"任〔{task.created_at.year}〕" in task.number
    tasks.task_dispatch(actor=d, task=task, bureau=station)
    tasks.task_accept(actor=a, task=task)
    assert task.assignee == a  # claimed: the caller's object is kept current
    tasks.task_start(actor=a, task=task)
    tasks.task_submit(actor=a, task=task)
    tasks.task_review(actor=leader, task=task, approve=True, comment="同意")
    tasks.task_archive(actor=leader, task=task)
    assert task.state == TaskState.ARCHIVED and task.closed_at is not None
    assert list(TASK.timeline(task).values_list("action", flat=True)) == [
        "create", "dispatch", "accept", "start", "submit", "approve", "archive"]
    types = list(Event.objects.filter(object_type="supervision.task", object_id=str(task.pk)).order_by("id").values_list("type", flat=True))
    assert types == ["task.created", "task.dispatched", "task.accepted", "task.started", "task.submitted", "task.approved", "task.archived"]
    last = Event.objects.filter(type="task.archived").get()
    assert last.payload["task_id"] == task.pk and last.payload["number"] == task.number
    assert last.payload["credit_code"] == entity.credit_code and last.payload["state"] == "archived"
    assert last.division_code == entity.division_code
    actions = set(TraceEntry.objects.filter(object_type="supervision.task", object_id=str(task.pk)).values_list("action", flat=True))
    assert {"task.create", "task.dispatch", "task.accept", "task.archive"} <= actions


def test_numbers_are_consecutive_per_bureau_and_year(dispatcher, entity):
    """Numbered under the bureau responsible for the entity's division (here the city: no station yet)."""
    a = tasks.task_create(actor=dispatcher, entity=entity, title="甲", source="manual")
    b = tasks.task_create(actor=dispatcher, entity=entity, title="乙", source="manual")
    prefix = f"{dispatcher.bureau.short_name}任〔{a.created_at.year}〕"
    assert a.number.startswith(prefix) and b.number.startswith(prefix)
    assert int(b.number[len(prefix):-1]) == int(a.number[len(prefix):-1]) + 1


def test_create_with_assignee_dispatches_at_once(dispatcher, station, officer_a, entity):
    task = tasks.task_create(actor=dispatcher, entity=entity, title="投诉核查", source="complaint", source_ref="TS2026001", assignee=officer_a)
    assert task.state == TaskState.DISPATCHED and task.assignee == officer_a and task.bureau == station


def test_reject_sends_back_to_executing_with_comment(people, make_task, clean_requirements):
    task = make_task(TaskState.REVIEW, bureau=people["station"], assignee=people["officer_a"])
    with pytest.raises(ApplicationError, match="退回任务须填写审核意见"):
        tasks.task_review(actor=people["leader"], task=task, approve=False, comment=" ")
    tasks.task_review(actor=people["leader"], task=task, approve=False, comment="补充现场照片")
    assert task.state == TaskState.EXECUTING and task.review_comment == "补充现场照片"
    tasks.task_submit(actor=people["officer_a"], task=task)
    assert task.state == TaskState.REVIEW


# --- guards: roles -----------------------------------------------------------------------------


def test_only_dispatchers_or_leaders_dispatch(people, make_task, officer_b):
    task = make_task()
    with pytest.raises(Forbidden, match="只有调度员或领导可以派发任务"):
        tasks.task_dispatch(actor=officer_b, task=task, bureau=people["station"])


def test_assigned_task_is_accepted_only_by_the_assignee(people, make_task, officer_b):
    task = make_task(TaskState.DISPATCHED, bureau=people["station"], assignee=people["officer_a"])
    with pytest.raises(Forbidden, match="只有承办人本人可以受领"):
        tasks.task_accept(actor=officer_b, task=task)


def test_unit_task_is_claimed_by_any_officer_of_that_unit(people, make_task, officer_b):
    task = make_task(TaskState.DISPATCHED, bureau=people["station"])
    tasks.task_accept(actor=officer_b, task=task)
    assert task.assignee == officer_b and task.state == TaskState.ACCEPTED


def test_unit_task_is_not_claimed_from_another_unit_or_by_a_non_officer(people, make_task, far_officer, station):
    task = make_task(TaskState.DISPATCHED, bureau=people["station"])
    clerk = make_user("registry_clerk", bureau=station)
    with pytest.raises(Forbidden, match="只有执法人员或网格员可以受领任务"):
        tasks.task_accept(actor=clerk, task=task)
    # An officer of the city bureau sees the task (the city covers it) but is not of the unit.
    city_officer = make_user("enforcement_officer", bureau=people["dispatcher"].bureau)
    with pytest.raises(Forbidden, match="只有该单位的人员可以受领"):
        tasks.task_accept(actor=city_officer, task=task)
    with pytest.raises(OutOfScope):
        tasks.task_accept(actor=far_officer, task=task)


def test_only_the_assignee_starts_and_submits(people, make_task, officer_b, clean_requirements):
    task = make_task(TaskState.ACCEPTED, bureau=people["station"], assignee=people["officer_a"])
    with pytest.raises(Forbidden, match="只有承办人本人可以开始执行"):
        tasks.task_start(actor=officer_b, task=task)
    tasks.task_start(actor=people["officer_a"], task=task)
    with pytest.raises(Forbidden, match="只有承办人本人可以提交审核"):
        tasks.task_submit(actor=people["leader"], task=task)


def test_review_by_leader_or_legal_reviewer_of_the_unit(people, make_task, reviewer, officer_b, other_station):
    task = make_task(TaskState.REVIEW, bureau=people["station"], assignee=people["officer_a"])
    with pytest.raises(Forbidden, match="只有领导或法制审核员可以审核任务"):
        tasks.task_review(actor=officer_b, task=task, approve=True)
    # A leader of another station does not even see the task.
    with pytest.raises(OutOfScope):
        tasks.task_review(actor=make_user("leader", bureau=other_station), task=task, approve=True)
    tasks.task_review(actor=reviewer, task=task, approve=True)
    assert task.state == TaskState.APPROVED


def test_station_leader_cannot_review_a_city_unit_task(people, make_task, entity, city):
    """Dispatched to the city bureau, the task is reviewed at the city: the station's leader is not its superior."""
    task = make_task(TaskState.REVIEW, bureau=city, assignee=make_user("enforcement_officer", bureau=city))
    with pytest.raises(Forbidden, match="承办单位或其上级"):
        tasks.task_review(actor=people["leader"], task=task, approve=True)


def test_nobody_reviews_their_own_task(people, make_task, station):
    boss = make_user("leader", "enforcement_officer", bureau=station)
    task = make_task(TaskState.REVIEW, bureau=station, assignee=boss)
    with pytest.raises(Forbidden, match="不能审核自己承办的任务"):
        tasks.task_review(actor=boss, task=task, approve=True)


def test_archive_by_assignee_or_reviewer_roles_only(people, make_task, officer_b, clean_requirements):
    task = make_task(TaskState.APPROVED, bureau=people["station"], assignee=people["officer_a"])
    with pytest.raises(Forbidden, match="只有承办人、调度员、领导或法制审核员可以归档任务"):
        tasks.task_archive(actor=officer_b, task=task)
    tasks.task_archive(actor=people["officer_a"], task=task)
    assert task.state == TaskState.ARCHIVED


def test_cancel_needs_a_reason_and_a_dispatcher(people, make_task):
    task = make_task(TaskState.EXECUTING, bureau=people["station"], assignee=people["officer_a"])
    with pytest.raises(Forbidden, match="只有调度员或领导可以撤销任务"):
        tasks.task_cancel(actor=people["officer_a"], task=task, reason="不需要了")
    with pytest.raises(ApplicationError, match="撤销任务须填写原因"):
        tasks.task_cancel(actor=people["dispatcher"], task=task, reason="")
    tasks.task_cancel(actor=people["dispatcher"], task=task, reason="主体已注销")
    assert task.state == TaskState.CANCELLED and task.cancel_reason == "主体已注销"
    assert Event.objects.get(type="task.cancelled").payload["reason"] == "主体已注销"


# --- guards: jurisdiction ------------------------------------------------------------------------


def test_outsider_can_do_nothing(people, make_task, outsider):
    task = make_task(TaskState.DISPATCHED, bureau=people["station"])
    for call in (
        lambda: tasks.task_dispatch(actor=outsider, task=task, bureau=people["station"]),
        lambda: tasks.task_accept(actor=outsider, task=task),
        lambda: tasks.task_cancel(actor=outsider, task=task, reason="x"),
        lambda: tasks.task_urge(actor=outsider, task=task, message="x"),
    ):
        with pytest.raises(OutOfScope):
            call()


def test_create_refuses_an_entity_outside_the_jurisdiction(outsider, entity):
    leader = make_user("leader", jurisdiction="3701")
    with pytest.raises(OutOfScope, match="不在您的辖区内"):
        tasks.task_create(actor=leader, entity=entity, title="检查", source="manual")


def test_dispatch_target_must_lie_within_the_dispatchers_jurisdiction(make_task, leader, other_station, station):
    """The 莞城 station's leader may not send work to the 南城 station."""
    task = make_task()
    with pytest.raises(Forbidden, match="“南城市场监管所”不在您的辖区内"):
        tasks.task_dispatch(actor=leader, task=task, bureau=other_station)
    tasks.task_dispatch(actor=leader, task=task, bureau=station)
    assert task.state == TaskState.DISPATCHED


def test_entity_must_lie_within_the_target_unit(make_task, dispatcher, other_station, far_officer):
    task = make_task()
    with pytest.raises(ApplicationError, match="不在“南城市场监管所”的辖区内"):
        tasks.task_dispatch(actor=dispatcher, task=task, bureau=other_station)
    with pytest.raises(ApplicationError, match="不在“南城市场监管所”的辖区内"):
        tasks.task_dispatch(actor=dispatcher, task=task, assignee=far_officer)
    assert Task.objects.get(pk=task.pk).state == TaskState.REGISTERED


def test_assignee_must_be_an_officer_of_the_unit(make_task, dispatcher, station, city):
    task = make_task()
    clerk = make_user("registry_clerk", bureau=station)
    with pytest.raises(ApplicationError, match="不是执法人员或网格员"):
        tasks.task_dispatch(actor=dispatcher, task=task, assignee=clerk)
    city_officer = make_user("enforcement_officer", bureau=city)
    with pytest.raises(ApplicationError, match="不属于“莞城市场监管所”"):
        tasks.task_dispatch(actor=dispatcher, task=task, bureau=station, assignee=city_officer)


def test_redispatch_while_unclaimed(make_task, dispatcher, station, city, officer_a):
    task = make_task()
    tasks.task_dispatch(actor=dispatcher, task=task, bureau=city)
    tasks.task_dispatch(actor=dispatcher, task=task, bureau=station, assignee=officer_a)
    assert task.bureau == station and task.assignee == officer_a
    assert TASK.timeline(task).filter(action="dispatch").count() == 2


# --- urge (督办) -----------------------------------------------------------------------------------


def test_urge_by_a_superior(people, make_task):
    task = make_task(TaskState.EXECUTING, bureau=people["station"], assignee=people["officer_a"])
    urge = tasks.task_urge(actor=people["dispatcher"], task=task, message="请于本周内办结")
    assert TaskUrge.objects.get(task=task) == urge and urge.by == people["dispatcher"]
    event = Event.objects.get(type="task.urged")
    assert event.payload["message"] == "请于本周内办结" and event.payload["task_id"] == task.pk
    assert TraceEntry.objects.filter(action="task.urged", object_id=str(task.pk)).exists()


def test_urge_refused_for_officers_self_and_closed_tasks(people, make_task, officer_b, station):
    task = make_task(TaskState.EXECUTING, bureau=people["station"], assignee=people["officer_a"])
    with pytest.raises(Forbidden, match="只有领导或调度员可以督办任务"):
        tasks.task_urge(actor=officer_b, task=task, message="快")
    with pytest.raises(ApplicationError, match="请填写督办意见"):
        tasks.task_urge(actor=people["leader"], task=task, message="")
    boss = make_user("leader", "enforcement_officer", bureau=station)
    own = make_task(TaskState.EXECUTING, bureau=station, assignee=boss)
    with pytest.raises(Forbidden, match="不能督办自己承办的任务"):
        tasks.task_urge(actor=boss, task=own, message="快")
    done = make_task(TaskState.ARCHIVED, bureau=people["station"], assignee=people["officer_a"])
    with pytest.raises(StateError, match="任务当前为“已归档”，不能督办"):
        tasks.task_urge(actor=people["leader"], task=done, message="快")
    assert not TaskUrge.objects.exists()


def test_allowed_actions_follow_the_guards(people, make_task, officer_b):
    task = make_task(TaskState.DISPATCHED, bureau=people["station"])
    assert allowed_actions(task, officer_b) == ["accept"]
    assert set(allowed_actions(task, people["dispatcher"])) == {"dispatch", "cancel", "urge"}
