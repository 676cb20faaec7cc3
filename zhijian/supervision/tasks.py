"""The task loop's writes (S2): registration, the steps of ``TASK``, urging and linked records.

Every write is keyword-only and atomic. A step goes through ``TASK.move`` (``procedure.py``): the
transition table, the guards, a compare-and-swap on (state, version), the step on the timeline
(``core.WorkflowStep``), the trace entry and the ``task.*`` event, all in the caller's
transaction; with ``client_key`` a replay changes nothing. ``actor=None`` is the system: role and
jurisdiction guards are skipped, state rules and requirements are not. The caller's ``task``
object is refreshed after a step, so its reference stays current.

Numbers come from ``deadlines.numbering`` (type ``supervision_task``, under the bureau
responsible for the task's division); a due date from a deadline rule is a clock of the registry
(``deadlines.clocks``): ``Task.due_on`` is its denormalised copy for list queries and ordering.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.models import WorkflowStep
from zhijian.core.scoping import common_division, jurisdiction_of
from zhijian.core.workflow import Forbidden, StateError
from zhijian.deadlines import clocks, numbering
from zhijian.deadlines.choices import DocType

from .choices import TaskAction, TaskSource, TaskState
from .models import Task, TaskRecord, TaskUrge
from .procedure import CREATORS, TASK, check_urge, covers, event_payload, snapshot

A = TaskAction


# --- numbers and clocks -----------------------------------------------------------------------------


def allocate_numbers(division_codes: list[str], *, year: int | None = None) -> list[str]:
    """One task number per division code, in order: consecutive per responsible bureau and year,
    bureaus locked in id order (then, later in the transaction, trace chain heads by name)."""
    year = year or timezone.localdate().year
    bureau_of = {code: numbering.bureau_for_division(code) for code in set(division_codes)}
    by_bureau: dict[int, list[int]] = {}
    bureaus = {}
    for i, code in enumerate(division_codes):
        b = bureau_of[code]
        if b is None:
            raise ApplicationError(_("区划 %(code)s 没有负责的市场监管机构，无法给任务编号") % {"code": code or "—"}, code="no_bureau")
        bureaus[b.pk] = b
        by_bureau.setdefault(b.pk, []).append(i)
    out = [""] * len(division_codes)
    for pk in sorted(by_bureau):
        idx = by_bureau[pk]
        for i, number in zip(idx, numbering.next_numbers(bureau=bureaus[pk], doc_type=DocType.SUPERVISION_TASK, count=len(idx), year=year)):
            out[i] = number
    return out


def _start_clock(task, rule: str, start: dt.date, actor):
    """The task's clock under ``rule`` from ``start``; the task keeps a copy of its due date."""
    clock = clocks.start(procedure=TASK.name, object_id=task.pk, rule=rule, start=start, division_code=task.division_code,
                         entity_id=task.entity_id, actor=actor)
    task.due_on = clock.due_on
    Task.objects.filter(pk=task.pk).update(due_on=clock.due_on)
    return clock


def _keep_current(task: Task) -> Task:
    """The caller's object, reloaded after a step (its relations and clock are fetched again on use)."""
    task.refresh_from_db()
    task.__dict__.pop("clock", None)
    return task


# --- registration -----------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *, actor, entity, title, source, business_line="", source_ref="", deadline_rule="", due_on=None, bureau=None, assignee=None,
    description="", division_code="",
) -> Task:
    """Register a task on ``entity``; with ``bureau`` or ``assignee`` it is dispatched at once.

    A task about a place that is not in the registry (an unlicensed-operation clue, a grid case
    opened from a clue) has no entity: give its ``division_code`` instead. With ``deadline_rule``
    (and no date typed by hand) the due date comes from a clock started today."""
    if entity is None and not division_code:
        raise ApplicationError(_("请选择市场主体"), code="no_entity")
    division = entity.division_code if entity is not None else division_code
    if source not in TaskSource.values:
        raise ApplicationError(_("未知的任务来源：%(source)s") % {"source": source}, code="bad_source")
    if not (title or "").strip():
        raise ApplicationError(_("请填写任务名称"), code="no_title")
    if actor is not None:
        if not actor.has_role(*CREATORS):
            raise Forbidden(_("您没有登记监管任务的权限"))
        if not covers(jurisdiction_of(actor), division):
            if entity is None:
                raise OutOfScope()
            raise OutOfScope(_("市场主体“%(name)s”不在您的辖区内") % {"name": entity.name})
    task = Task.objects.create(
        number=allocate_numbers([division])[0], title=title.strip()[:200], source=source, source_ref=source_ref,
        business_line=business_line, entity=entity, division_code=division, created_by=actor,
        deadline_rule=deadline_rule, due_on=due_on, description=description,
    )
    if deadline_rule and due_on is None:
        _start_clock(task, deadline_rule, timezone.localdate(), actor)
    TASK.record(task, action=A.CREATE, actor=actor)
    if bureau is not None or assignee is not None:
        task = task_dispatch(actor=actor, task=task, bureau=bureau, assignee=assignee)
    return task


@dataclass
class TaskSpec:
    """One task for :func:`tasks_create_bulk` (registered, not dispatched)."""

    entity: object
    title: str
    source: str
    business_line: str = ""
    source_ref: str = ""
    deadline_rule: str = ""
    description: str = ""


@transaction.atomic
def tasks_create_bulk(*, actor, specs: list[TaskSpec], trace_extra: list[dict] | None = None) -> list[Task]:
    """Register many tasks at once (system work: the push's village tasks), as ``task_create`` does
    one by one, without role or scope guards (``actor`` is recorded, not checked).

    Set-based: one number lock per responsible bureau for all the numbers, one bulk insert of the
    tasks, of their clocks and of their steps, one ``task.created`` event per task (the contract of
    docs/events.md), and **one** trace entry for the batch naming every task (a batch of one is
    traced on the task itself, exactly like ``task_create``). ``trace_extra``: the caller's own
    trace entries (``trace.record`` keyword arguments) of the same transaction, appended here so
    that every chain head is taken after the number sequences and in sorted order.
    """
    trace_extra = list(trace_extra or [])
    if not specs:
        trace.record_many(actor, trace_extra)
        return []
    for spec in specs:
        if spec.entity is None:
            raise ApplicationError(_("请选择市场主体"), code="no_entity")
        if spec.source not in TaskSource.values:
            raise ApplicationError(_("未知的任务来源：%(source)s") % {"source": spec.source}, code="bad_source")
    today = timezone.localdate()
    numbers = allocate_numbers([spec.entity.division_code for spec in specs], year=today.year)
    now = timezone.now()
    creator = actor if actor is not None and getattr(actor, "pk", None) else None
    tasks = [
        Task(number=numbers[i], title=spec.title.strip()[:200], source=spec.source, source_ref=spec.source_ref,
             business_line=spec.business_line, entity=spec.entity, division_code=spec.entity.division_code, created_by=creator,
             deadline_rule=spec.deadline_rule, description=spec.description, created_at=now, updated_at=now)
        for i, spec in enumerate(specs)
    ]
    created = events.bulk_insert(Task, tasks)
    start_clocks(created, today, actor)
    events.bulk_insert(WorkflowStep, TASK.steps_rows([(t, A.CREATE, "", TaskState.REGISTERED, creator, "") for t in created], at=now))
    events.emit_rows([(TASK.event_name(A.CREATE), event_payload(t), t.division_code, TASK.name, t.pk) for t in created])
    if len(created) == 1:
        t = created[0]
        entry = {"action": f"{TASK.trace_action}.{A.CREATE}", "obj": t, "object_type": TASK.name, "before": None, "after": snapshot(t)}
    else:
        entry = {"action": "task.create_many", "object_type": "supervision.taskbatch", "object_id": f"{created[0].number}..{created[-1].number}",
                 "division_code": common_division([t.division_code for t in created]),
                 "after": {"count": len(created), "numbers": [t.number for t in created], "ids": [t.pk for t in created]}}
    trace.record_many(actor, [entry, *trace_extra])
    return created


def start_clocks(tasks: list[Task], start: dt.date, actor) -> None:
    """Clocks for new tasks with a deadline rule, in bulk; each task keeps a copy of its due date."""
    todo = [t for t in tasks if t.deadline_rule]
    if not todo:
        return
    started = clocks.start_many([
        {"procedure": TASK.name, "object_id": t.pk, "rule": t.deadline_rule, "start": start, "division_code": t.division_code,
         "entity_id": t.entity_id} for t in todo], actor=actor)
    due = {c.object_id: c.due_on for c in started}
    by_date: dict[dt.date, list[int]] = {}
    for t in todo:
        t.due_on = due[t.pk]
        by_date.setdefault(t.due_on, []).append(t.pk)
    for day, ids in by_date.items():
        Task.objects.filter(pk__in=ids).update(due_on=day)


# --- the steps ----------------------------------------------------------------------------------------


@transaction.atomic
def task_dispatch(*, actor, task, bureau=None, assignee=None, client_key="") -> Task:
    """派发 to a unit (any of its officers may claim it) and/or a person; re-dispatch while unclaimed."""
    if assignee is not None and bureau is None:
        bureau = assignee.bureau
    TASK.move(task, A.DISPATCH, actor=actor, client_key=client_key, bureau=bureau, assignee=assignee,
              fields={"bureau_id": bureau.pk if bureau else None, "assignee_id": assignee.pk if assignee else None})
    return _keep_current(task)


@transaction.atomic
def task_accept(*, actor, task, client_key="") -> Task:
    """受领 (claim). Of two officers claiming one unit task at once exactly one wins."""
    fields = {"assignee_id": Coalesce("assignee_id", Value(actor.pk))} if actor is not None else {}
    TASK.move(task, A.ACCEPT, actor=actor, client_key=client_key, fields=fields,
              lost_message=_("任务已被他人受领或已变更，请刷新后查看"))
    return _keep_current(task)


@transaction.atomic
def task_start(*, actor, task, client_key="") -> Task:
    TASK.move(task, A.START, actor=actor, client_key=client_key)
    return _keep_current(task)


@transaction.atomic
def task_submit(*, actor, task, client_key="") -> Task:
    """提交审核: refused while any registered requirement of the submit stage is unmet."""
    TASK.move(task, A.SUBMIT, actor=actor, client_key=client_key)
    return _keep_current(task)


@transaction.atomic
def task_review(*, actor, task, approve: bool, comment="", client_key="") -> Task:
    """审核: approve → 审核通过 (ready to archive); reject → back to 执行中 (a comment is required)."""
    comment = (comment or "").strip()
    TASK.move(task, A.APPROVE if approve else A.REJECT, actor=actor, client_key=client_key, comment=comment, review_comment=comment,
              fields={"review_comment": comment[:500]}, event_extra={"approved": bool(approve), "comment": comment})
    return _keep_current(task)


@transaction.atomic
def task_archive(*, actor, task, client_key="") -> Task:
    """归档: only after approval and when every registered requirement of the archive stage is met."""
    moved = TASK.move(task, A.ARCHIVE, actor=actor, client_key=client_key)
    clocks.stop_for(TASK.name, moved.pk, on=timezone.localdate(), actor=actor)
    return _keep_current(task)


@transaction.atomic
def task_cancel(*, actor, task, reason, client_key="") -> Task:
    reason = (reason or "").strip()
    moved = TASK.move(task, A.CANCEL, actor=actor, client_key=client_key, reason=reason, comment=reason,
                      fields={"cancel_reason": reason[:500]}, event_extra={"reason": reason})
    clocks.stop_for(TASK.name, moved.pk, on=timezone.localdate(), actor=actor)
    return _keep_current(task)


# --- urging and linked records ------------------------------------------------------------------------


@transaction.atomic
def task_urge(*, actor, task, message) -> TaskUrge:
    """督办: a superior urges an open task; a ``TaskUrge`` row and a ``task.urged`` event."""
    current = TASK.fresh(task)
    check_urge(current, actor)
    message = (message or "").strip()
    if not message:
        raise ApplicationError(_("请填写督办意见"), code="no_message")
    urge = TaskUrge.objects.create(task=current, by=actor, message=message[:500])
    trace.record(actor=actor, action="task.urged", obj=current, object_type=TASK.name, after={"urge_id": urge.pk, "message": message})
    events.emit("task.urged", payload=event_payload(current, urge_id=urge.pk, message=message, by_id=actor.pk if actor else None),
                division_code=current.division_code, object_type=TASK.name, object_id=current.pk)
    return urge


@transaction.atomic
def task_link_record(*, task, kind, record_id, signed: bool, actor=None) -> TaskRecord:
    """Link a record another app keeps (e.g. ``inspection_record``) to the task; relinking the same
    record updates its ``signed`` mark (a record is usually linked first and signed later)."""
    current = TASK.fresh(task)
    if current.state in (TaskState.ARCHIVED, TaskState.CANCELLED):
        raise StateError(_("任务当前为“%(state)s”，不能再关联记录") % {"state": current.get_state_display()})
    if not kind or not str(record_id):
        raise ApplicationError(_("记录类型和编号不能为空"), code="bad_record")
    rec, created = TaskRecord.objects.get_or_create(task=current, kind=kind, record_id=str(record_id), defaults={"signed": bool(signed)})
    if not created and rec.signed != bool(signed):
        rec.signed = bool(signed)
        rec.save(update_fields=["signed"])
    elif not created:
        return rec
    trace.record(actor=actor, action="task.record_linked", obj=current, object_type=TASK.name,
                 after={"kind": kind, "record_id": str(record_id), "signed": bool(signed)})
    events.emit("task.record_linked", payload=event_payload(current, kind=kind, record_id=str(record_id), signed=bool(signed)),
                division_code=current.division_code, object_type=TASK.name, object_id=current.pk)
    return rec
