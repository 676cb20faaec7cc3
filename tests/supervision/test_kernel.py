"""The task loop on the workflow kernel: one table, illegal steps refused and nothing written, a
replayed step changes nothing, the clock gives the due date (provisional ones marked 暂定)."""
import datetime as dt

import pytest
from django.db import transaction
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhijian.core.errors import ApplicationError
from zhijian.core.idempotency import KeyConflict
from zhijian.core.models import Event, TraceEntry, WorkflowStep
from zhijian.core.workflow import PROCEDURES, StateError
from zhijian.deadlines import clocks
from zhijian.deadlines.services import holidays_enter
from zhijian.supervision import tasks
from zhijian.supervision.choices import TaskAction, TaskState
from zhijian.supervision.models import Task
from zhijian.supervision.procedure import TASK, allowed_actions

pytestmark = pytest.mark.django_db


def test_the_table_is_registered_under_its_name():
    assert PROCEDURES["supervision.task"] is TASK
    assert set(TASK.table) == set(TaskAction.values) - {TaskAction.CREATE}  # creation is recorded, not moved
    assert TASK.is_final(TaskState.ARCHIVED) and TASK.is_final(TaskState.CANCELLED)


# The inputs the system's guards ask for (a dispatch target, a comment, a reason); no requirement registered.
def _inputs(station):
    return {"bureau": station, "review_comment": "意见", "reason": "原因"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(walk=st.lists(st.sampled_from(sorted(TASK.table)), min_size=1, max_size=8))
def test_random_walks_follow_the_table(walk, make_task, station, clean_requirements):
    """Any sequence of steps by the system: a step from a state the table lists goes to its target
    and writes one step; any other is refused (409) and writes nothing."""
    with transaction.atomic():
        task = make_task(TaskState.REGISTERED)
        for action in walk:
            before = Task.objects.get(pk=task.pk)
            steps = WorkflowStep.objects.filter(procedure=TASK.name, object_id=task.pk).count()
            rule = TASK.table[action]
            if before.state in rule.sources:
                moved = TASK.move(before, action, actor=None, **_inputs(station))
                assert moved.state == rule.target and moved.version == before.version + 1
                assert WorkflowStep.objects.filter(procedure=TASK.name, object_id=task.pk).count() == steps + 1
            else:
                with pytest.raises(StateError) as err:
                    TASK.move(before, action, actor=None, **_inputs(station))
                assert err.value.status == 409 and TASK.state_label(before.state) in err.value.message
                after = Task.objects.get(pk=task.pk)
                assert (after.state, after.version) == (before.state, before.version)
                assert WorkflowStep.objects.filter(procedure=TASK.name, object_id=task.pk).count() == steps
        transaction.set_rollback(True)


def test_a_replayed_step_changes_nothing(make_task, station, officer_a):
    task = make_task(TaskState.DISPATCHED, bureau=station)
    tasks.task_accept(actor=officer_a, task=task, client_key="phone-accept-0001")
    stored = Task.objects.get(pk=task.pk)
    counts = (WorkflowStep.objects.filter(object_id=task.pk, procedure=TASK.name).count(),
              Event.objects.filter(object_id=str(task.pk)).count(), TraceEntry.objects.filter(object_id=str(task.pk)).count())
    # The phone lost the answer and sends the same step again: the stored task comes back, nothing is written.
    again = tasks.task_accept(actor=officer_a, task=Task.objects.get(pk=task.pk), client_key="phone-accept-0001")
    assert again.state == TaskState.ACCEPTED and again.version == stored.version
    assert counts == (WorkflowStep.objects.filter(object_id=task.pk, procedure=TASK.name).count(),
                      Event.objects.filter(object_id=str(task.pk)).count(), TraceEntry.objects.filter(object_id=str(task.pk)).count())
    # Still a replay after the task moved on (no 409 for the phone's retry).
    tasks.task_start(actor=officer_a, task=task)
    tasks.task_accept(actor=officer_a, task=task, client_key="phone-accept-0001")
    assert Task.objects.get(pk=task.pk).state == TaskState.EXECUTING
    assert TASK.timeline(task).filter(action="accept").count() == 1
    # The key belongs to that step: another step with it is refused.
    with pytest.raises(KeyConflict):
        tasks.task_submit(actor=officer_a, task=task, client_key="phone-accept-0001")


def test_a_refused_step_leaves_the_key_free(make_task, station, officer_a, officer_b):
    task = make_task(TaskState.DISPATCHED, bureau=station, assignee=officer_a)
    with pytest.raises(ApplicationError):
        tasks.task_accept(actor=officer_b, task=task, client_key="retry-key-0001")
    tasks.task_accept(actor=officer_a, task=task, client_key="retry-key-0002")
    assert task.state == TaskState.ACCEPTED


def test_allowed_actions_are_the_tables_plus_urge(make_task, station, dispatcher, officer_a):
    task = make_task(TaskState.EXECUTING, bureau=station, assignee=officer_a)
    assert allowed_actions(task, dispatcher) == [*TASK.allowed(task, dispatcher, listing=True), "urge"]
    assert allowed_actions(task, officer_a) == TASK.allowed(task, officer_a, listing=True) == ["submit"]


def test_the_timeline_carries_division_entity_and_labels(dispatcher, station, entity):
    task = tasks.task_create(actor=dispatcher, entity=entity, title="检查", source="manual", bureau=station)
    create, dispatch = TASK.timeline(task)
    assert (create.action, create.from_state, create.to_state) == ("create", "", "registered")
    assert (dispatch.get_action_display(), dispatch.get_from_state_display(), dispatch.get_to_state_display()) == ("派发", "已登记", "已派发")
    assert dispatch.division_code == entity.division_code and dispatch.entity_id == entity.pk and dispatch.actor == dispatcher


def test_numbers_come_from_the_responsible_bureaus_sequence(dispatcher, station, entity):
    a = tasks.task_create(actor=dispatcher, entity=entity, title="甲", source="manual")
    b = tasks.task_create(actor=dispatcher, entity=entity, title="乙", source="manual")
    year = a.created_at.year
    # The entity lies in the 莞城 station's area: the station (most specific bureau) numbers it.
    assert (a.number, b.number) == (f"{station.short_name}任〔{year}〕1号", f"{station.short_name}任〔{year}〕2号")


# --- the clock -----------------------------------------------------------------------------------


def test_a_rule_starts_the_tasks_clock_and_closing_stops_it(dispatcher, station, officer_a, leader, entity, clean_requirements):
    task = tasks.task_create(actor=dispatcher, entity=entity, title="核查", source="clue", deadline_rule="grid.first_visit",
                             assignee=officer_a)
    clock = clocks.get(TASK.name, task.pk)
    assert clock.state == "running" and clock.due_on == task.due_on and clock.entity_id == entity.pk
    tasks.task_accept(actor=officer_a, task=task)
    tasks.task_start(actor=officer_a, task=task)
    tasks.task_submit(actor=officer_a, task=task)
    tasks.task_review(actor=leader, task=task, approve=True)
    tasks.task_archive(actor=leader, task=task)
    assert clocks.get(TASK.name, task.pk).state == "stopped"
    assert not task.is_overdue(task.due_on + dt.timedelta(days=30))


def test_a_date_typed_by_hand_has_no_clock(dispatcher, entity):
    task = tasks.task_create(actor=dispatcher, entity=entity, title="核查", source="manual", due_on=dt.date(2026, 10, 9))
    assert clocks.get(TASK.name, task.pk) is None and task.clock is None
    assert task.is_overdue(dt.date(2026, 10, 10)) and not task.is_overdue(dt.date(2026, 10, 9))


@pytest.fixture
def provisional_task(dispatcher, station, entity):
    """Registered on 2026-12-20 with 10 working days: the count runs into 2027, whose schedule is not entered."""
    with freeze_time("2026-12-20 09:00:00+08:00"):
        return tasks.task_create(actor=dispatcher, entity=entity, title="年末走访", source="patrol", deadline_rule="grid.first_visit",
                                 bureau=station)


def test_a_provisional_due_date_is_marked_on_the_page_and_the_boards(client, provisional_task, dispatcher, officer_a):
    task = Task.objects.get(pk=provisional_task.pk)
    assert task.due_on.year == 2027 and task.due_provisional
    client.force_login(dispatcher)
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert "暂定" in page and "尚未公布" in page  # the mark and its tooltip
    assert "暂定" in client.get("/tasks/unit/").content.decode()
    client.force_login(officer_a)
    assert "暂定" in client.get("/tasks/").content.decode()  # the unit's unclaimed list
    assert client.get(f"/api/v1/tasks/{task.pk}/").json()["due_provisional"] is True


def test_entering_the_schedule_recomputes_the_tasks_due_date(provisional_task):
    before = provisional_task.due_on
    # 2027's schedule as it might be published: an extra day off on 2027-01-04 (a Monday).
    holidays_enter(2027, [{"date": "2027-01-01", "is_off_day": True, "name": "元旦"},
                          {"date": "2027-01-04", "is_off_day": True, "name": "元旦"}], actor=None)
    task = Task.objects.get(pk=provisional_task.pk)
    clock = clocks.get(TASK.name, task.pk)
    assert not clock.provisional and task.due_on == clock.due_on == before + dt.timedelta(days=1)
    assert not task.due_provisional
