"""Deadlines from working-day rules (the task's clock) and the clock registry's overdue sweep, over
the 2026 National Day holiday."""
import datetime as dt

import pytest
from freezegun import freeze_time

from zhijian.core.models import Event
from zhijian.deadlines import clocks
from zhijian.deadlines.scheduling import registry, run_sweep
from zhijian.supervision import tasks
from zhijian.supervision.choices import TaskState
from zhijian.supervision.models import Task

pytestmark = pytest.mark.django_db

# Registered on Tue 2026-09-29 under grid.first_visit (10 working days): 9-30 is day 1,
# 10-01…10-07 are the National Day holiday, 10-08/09 and the adjusted working Saturday 10-10
# are days 2–4, 10-12…10-16 days 5–9, Mon 10-19 day 10. Counting Monday–Friday only would give 10-13.
START = dt.date(2026, 9, 29)
DUE = dt.date(2026, 10, 19)


@pytest.fixture
def late_task(dispatcher, station, entity):
    with freeze_time("2026-09-29 09:00:00+08:00"):
        return tasks.task_create(actor=dispatcher, entity=entity, title="新设主体首次走访", source="patrol",
                                    deadline_rule="grid.first_visit", bureau=station)


def mark_overdue(today):
    """The clock sweep's overdue marks of ``today`` (the task's flag follows by the inline handler)."""
    return clocks.sweep(today)["overdue"]


def _overdue_marks():
    """``task.overdue`` events of the overdue level (escalations are reported under the same name, level ≥ 2)."""
    return [e for e in Event.objects.filter(type="task.overdue").order_by("id") if e.payload["level"] == 1]


def test_due_date_counts_working_days_with_holidays(late_task):
    assert late_task.due_on == DUE
    clock = clocks.get("supervision.task", late_task.pk)
    assert clock.due_on == DUE and clock.rule_code == "grid.first_visit" and not clock.provisional
    assert late_task.workdays_left(dt.date(2026, 10, 9)) == 7  # 10-10, 12, 13, 14, 15, 16, 19


def test_sweep_marks_overdue_once_from_the_day_after_the_due_date(late_task):
    assert mark_overdue(dt.date(2026, 10, 14)) == 0   # late only by a Monday–Friday count
    assert mark_overdue(DUE) == 0                      # the due date itself is in time
    assert not late_task.is_overdue(DUE)
    assert mark_overdue(DUE + dt.timedelta(days=1)) == 1
    assert late_task.is_overdue(DUE + dt.timedelta(days=1))
    late_task.refresh_from_db()
    assert late_task.overdue and late_task.overdue_marked_at is not None
    assert mark_overdue(DUE + dt.timedelta(days=5)) == 0  # once per task
    marks = _overdue_marks()
    assert len(marks) == 1
    assert marks[0].payload["task_id"] == late_task.pk and marks[0].payload["overdue_workdays"] == 1


def test_closed_tasks_are_never_overdue(late_task, dispatcher):
    tasks.task_cancel(actor=dispatcher, task=late_task, reason="主体已迁出")
    assert clocks.get("supervision.task", late_task.pk).state == "stopped"
    assert mark_overdue(dt.date(2026, 11, 30)) == 0
    assert not Event.objects.filter(type="task.overdue").exists()


def test_sweep_is_registered_and_runs_under_the_scheduler(late_task):
    assert "deadlines.clocks" in registry()
    with freeze_time("2026-10-20 10:00:00+08:00"):
        ran, message = run_sweep("deadlines.clocks", due_only=False)
    assert ran and "1" in message
    assert Task.objects.get(pk=late_task.pk).overdue
    assert Task.objects.get(pk=late_task.pk).state == TaskState.DISPATCHED
