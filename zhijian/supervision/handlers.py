"""The task's copies of its clock (``deadlines.clocks``), kept by inline handlers.

The clock registry owns a task's due date and its overdue state; the task keeps two copies for
list queries, ordering and filters: ``due_on`` and the ``overdue`` flag. Both are updated by
handlers of the registry's events that run **inline**, in the transaction that moved the clock
(the sweep's chunk, the recomputation after a holiday schedule is entered); if one fails the
dispatcher runs it again later. Handlers rather than a procedure hook: the registry knows nothing
of tasks, and a failed copy never blocks the sweep.
"""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from zhijian.core import events

from .choices import OPEN_STATES, PROCEDURE
from .models import Task


@events.handler("task.overdue", name="supervision.task_overdue", batch=True, inline=True)
def mark_overdue(evs) -> None:
    """The sweep found the task's clock overdue (or escalated it): the task's flag is set once."""
    ids = sorted({int(e.payload["task_id"]) for e in evs})
    Task.objects.filter(pk__in=ids, overdue=False, state__in=OPEN_STATES).update(overdue=True, overdue_marked_at=timezone.now())


@events.handler("clock.recomputed", name="supervision.task_due_recomputed", batch=True, inline=True)
def copy_recomputed_due(evs) -> None:
    """A provisional due date was recomputed on the entered schedule: the task's copy follows, and
    a task no longer late loses its overdue flag (the clock's marks were reset the same way)."""
    today = timezone.localdate()
    for e in evs:
        p = e.payload
        if p.get("procedure") != PROCEDURE or p.get("name", "main") != "main":
            continue
        due = p["new_due_on"] if "new_due_on" in p else p["due_on"]
        due = dt.date.fromisoformat(due) if isinstance(due, str) else due
        fields = {"due_on": due}
        if due >= today:
            fields.update(overdue=False, overdue_marked_at=None)
        Task.objects.filter(pk=p["object_id"]).update(**fields)
