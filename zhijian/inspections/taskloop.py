"""A sealed inspection moves every task it covered forward in the task loop (S2).

The record is the proof the loop asks for before a task is submitted (``requirements.py``): once it
is sealed and linked, each covered task takes the steps still missing up to 待审核 through the one
move of the workflow kernel (``supervision.procedure.TASK.move``): 已派发 → 受领, 已受领 → 开始执行,
执行中 → 提交审核. The task loop has no path around review today (every task is approved by a leader
or legal reviewer, then archived), so 待审核 is as far as an inspection takes a task.

Who moves it: the uploading officer when the table lets them (their own task, or an unclaimed task
of their unit); otherwise the system on the authority of the signed record, but only for a task
whose assignee is one of the record's officers. Another officer's task stays where it is (the
record is linked to it; its assignee submits it).

Each move carries a client key made of the inspection and the task (``insp<id>.t<id>.<action>``),
so a replayed upload or a second run changes nothing. A task that cannot move (changed meanwhile,
cancelled) is reported, never a reason to lose the signed record: each task moves in its own
savepoint.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from zhijian.core.errors import ApplicationError
from zhijian.core.models import StepChannel
from zhijian.supervision.choices import TaskAction, TaskState
from zhijian.supervision.procedure import TASK

# The step each state still needs on the way to review.
NEXT_STEP = {TaskState.DISPATCHED: TaskAction.ACCEPT, TaskState.ACCEPTED: TaskAction.START, TaskState.EXECUTING: TaskAction.SUBMIT}


@dataclass
class TaskMove:
    task_id: int
    number: str
    title: str
    from_state: str
    state: str
    note: str = ""

    def as_dict(self) -> dict:
        return {"id": self.task_id, "number": self.number, "title": self.title, "from_state": self.from_state,
                "state": self.state, "state_label": str(TaskState(self.state).label), "note": self.note}


def client_key(inspection, task, action) -> str:
    return f"insp{inspection.pk}.t{task.pk}.{action}"


def _mover(task, action, actor, officer_ids):
    """The uploader when the table lets them, the system for a task of one of the record's officers,
    else nobody (``False``)."""
    if TASK.can(task, action, actor):
        return actor
    if task.assignee_id in officer_ids:
        return None
    return False


def advance_tasks(*, inspection, actor) -> list[TaskMove]:
    """Move the tasks of a sealed ``inspection`` on to review; the caller's transaction."""
    officer_ids = set(inspection.officer_rows.values_list("user_id", flat=True))
    comment = _("依据现场检查笔录 %(number)s") % {"number": inspection.number}
    out = []
    for task in inspection.tasks.order_by("pk"):
        current = TASK.fresh(task)
        move = TaskMove(task.pk, task.number, task.title, current.state, current.state)
        try:
            with transaction.atomic():
                for _step in range(len(NEXT_STEP)):  # bounded: a replayed key returns the task unchanged
                    action = NEXT_STEP.get(current.state)
                    if action is None:
                        break
                    who = _mover(current, action, actor, officer_ids)
                    if who is False:
                        move.note = _("任务由%(name)s承办，请承办人提交审核") % {"name": current.assignee}
                        break
                    fields = {"assignee_id": Coalesce("assignee_id", Value(who.pk))} if action == TaskAction.ACCEPT and who else None
                    current = TASK.move(current, action, actor=who, fields=fields, comment=comment, via=StepChannel.PHONE,
                                        client_key=client_key(inspection, task, action))
        except ApplicationError as exc:
            current = TASK.fresh(task)
            move.note = exc.message
        move.state = current.state
        out.append(move)
    return out


def task_states(inspection) -> list[dict]:
    """The covered tasks as they are now (what the phone shows after an upload or a replay), with
    the reason a task still waits for its own assignee."""
    officer_ids = set(inspection.officer_rows.values_list("user_id", flat=True))
    out = []
    for t in inspection.tasks.select_related("assignee").order_by("pk"):
        note = ""
        if t.state in NEXT_STEP and t.assignee_id and t.assignee_id not in officer_ids:
            note = _("任务由%(name)s承办，请承办人提交审核") % {"name": t.assignee}
        out.append(TaskMove(t.pk, t.number, t.title, t.state, t.state, note).as_dict())
    return out
