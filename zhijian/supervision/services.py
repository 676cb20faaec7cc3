"""The task loop's writes (S2) and template generation (S5).

Every write is keyword-only and atomic, moves state only along ``TRANSITIONS``, writes a
``TaskStep`` (the timeline), a trace entry and an event in the same transaction, and refuses an
illegal step with :class:`~zhijian.core.errors.ApplicationError` carrying a Chinese message.

``actor=None`` stands for the system (a background job acting on its own authority): role and
jurisdiction guards are skipped, state guards and requirements are not.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.scoping import common_division, jurisdiction_of
from zhijian.org.choices import RoleCode

from . import requirements
from .choices import OPEN_STATES, TEMPLATE_SOURCE, TaskAction, TaskSource, TaskState, TemplateKind
from .models import Task, TaskCounter, TaskRecord, TaskStep, TaskTemplate, TaskUrge, TemplateRun

OBJECT_TYPE = "supervision.task"

# Who may do what (besides the jurisdiction rules in the guards below).
CREATORS = {RoleCode.DISPATCHER, RoleCode.LEADER, RoleCode.ENFORCEMENT_OFFICER, RoleCode.COMPLAINT_HANDLER, RoleCode.GRID_OFFICER}
DISPATCHERS = {RoleCode.DISPATCHER, RoleCode.LEADER}
EXECUTORS = {RoleCode.ENFORCEMENT_OFFICER, RoleCode.GRID_OFFICER}
REVIEWERS = {RoleCode.LEADER, RoleCode.LEGAL_REVIEWER}
ARCHIVERS = {RoleCode.LEADER, RoleCode.LEGAL_REVIEWER, RoleCode.DISPATCHER}
URGERS = {RoleCode.LEADER, RoleCode.DISPATCHER}
TEMPLATE_RUNNERS = {RoleCode.LEADER, RoleCode.DISPATCHER}


class TaskForbidden(ApplicationError):
    """The actor may not take this step (role or jurisdiction)."""

    status = 403

    def __init__(self, message):
        super().__init__(message, code="forbidden")


class TaskStateError(ApplicationError):
    """The step is not allowed from the task's current state."""

    status = 409

    def __init__(self, message, *, extra=None):
        super().__init__(message, code="illegal_state", extra=extra)


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    # Shown after "任务当前为“…”，不能…": which state the step needs.
    hint: str


# The explicit transition table: action -> the states it may start from and the state it leads to.
TRANSITIONS: dict[str, Transition] = {
    TaskAction.DISPATCH: Transition(TaskAction.DISPATCH, (TaskState.REGISTERED, TaskState.DISPATCHED), TaskState.DISPATCHED,
                                    gettext_lazy("只有“已登记”或尚未受领的“已派发”任务才能派发")),
    TaskAction.ACCEPT: Transition(TaskAction.ACCEPT, (TaskState.DISPATCHED,), TaskState.ACCEPTED, gettext_lazy("只有“已派发”的任务才能受领")),
    TaskAction.START: Transition(TaskAction.START, (TaskState.ACCEPTED,), TaskState.EXECUTING, gettext_lazy("只有“已受领”的任务才能开始执行")),
    TaskAction.SUBMIT: Transition(TaskAction.SUBMIT, (TaskState.EXECUTING,), TaskState.REVIEW, gettext_lazy("只有“执行中”的任务才能提交审核")),
    TaskAction.APPROVE: Transition(TaskAction.APPROVE, (TaskState.REVIEW,), TaskState.APPROVED, gettext_lazy("只有“待审核”的任务才能审核")),
    TaskAction.REJECT: Transition(TaskAction.REJECT, (TaskState.REVIEW,), TaskState.EXECUTING, gettext_lazy("只有“待审核”的任务才能退回")),
    TaskAction.ARCHIVE: Transition(TaskAction.ARCHIVE, (TaskState.APPROVED,), TaskState.ARCHIVED, gettext_lazy("只有“审核通过”的任务才能归档")),
    TaskAction.CANCEL: Transition(TaskAction.CANCEL, tuple(OPEN_STATES), TaskState.CANCELLED, gettext_lazy("已归档或已撤销的任务不能撤销")),
}


# --- jurisdiction helpers ------------------------------------------------------------------------


def _covers(prefixes, code: str) -> bool:
    """``code`` (a division code or a prefix) lies inside the area ``prefixes``."""
    prefixes = tuple(prefixes)
    return "" in prefixes or bool(code) and any(code.startswith(p) for p in prefixes)


def _area_within(outer, inner) -> bool:
    """Every prefix of the area ``inner`` lies inside the area ``outer`` (and inner is not empty)."""
    inner = tuple(inner)
    if not inner:
        return False
    if "" in inner:
        return "" in tuple(outer)
    return all(_covers(outer, p) for p in inner)


def _unit_area(task) -> tuple[str, ...]:
    """The area of the unit the task is dispatched to (its bureau, else the assignee's)."""
    if task.bureau_id:
        return tuple(task.bureau.jurisdiction_prefixes())
    if task.assignee_id:
        return tuple(task.assignee.jurisdiction_prefixes())
    return ()


def _need_scope(actor, task) -> None:
    if actor is not None and not _covers(jurisdiction_of(actor), task.division_code):
        raise OutOfScope()


def _need_role(actor, roles, message) -> None:
    if actor is not None and not actor.has_role(*roles):
        raise TaskForbidden(message)


def _need_state(task, action) -> Transition:
    t = TRANSITIONS[action]
    if task.state not in t.sources:
        raise TaskStateError(
            _("任务当前为“%(state)s”，不能%(action)s：%(hint)s")
            % {"state": task.get_state_display(), "action": TaskAction(action).label, "hint": t.hint},
            extra={"state": task.state, "action": str(action)},
        )
    return t


def _need_requirements(task, stage, action) -> None:
    missing = requirements.missing(task, stage)
    if missing:
        raise ApplicationError(
            _("任务还不能%(action)s，缺少：%(items)s") % {"action": TaskAction(action).label, "items": "；".join(missing)},
            code="requirements_missing",
            extra={"missing": missing},
        )


# --- payloads, steps, the one move helper ----------------------------------------------------------


def _snapshot(task) -> dict:
    return {
        "state": task.state, "bureau_id": task.bureau_id, "assignee_id": task.assignee_id, "due_on": task.due_on,
        "version": task.version,
    }


def event_payload(task, **extra) -> dict:
    """What every ``task.*`` event carries, plus the step's own fields."""
    return {
        "task_id": task.pk,
        "number": task.number,
        "credit_code": task.entity.credit_code if task.entity_id else "",
        "state": task.state,
        "business_line": task.business_line,
        "source": task.source,
        "bureau_id": task.bureau_id,
        "assignee_id": task.assignee_id,
        "due_on": task.due_on,
        **extra,
    }


def _record(task, *, actor, action: str, before: dict | None, comment: str = "", from_state: str = "", event_extra: dict | None = None):
    TaskStep.objects.create(task=task, action=action, from_state=from_state, to_state=task.state, actor=actor, comment=comment[:500])
    trace.record(actor=actor, action=f"task.{action}", obj=task, object_type=OBJECT_TYPE, before=before,
                 after={**_snapshot(task), "comment": comment} if comment else _snapshot(task))
    events.emit(f"task.{_EVENT_NAMES.get(action, action)}", payload=event_payload(task, **(event_extra or {})),
                division_code=task.division_code, object_type=OBJECT_TYPE, object_id=task.pk)


_EVENT_NAMES = {
    TaskAction.CREATE: "created", TaskAction.DISPATCH: "dispatched", TaskAction.ACCEPT: "accepted", TaskAction.START: "started",
    TaskAction.SUBMIT: "submitted", TaskAction.APPROVE: "approved", TaskAction.REJECT: "rejected", TaskAction.ARCHIVE: "archived",
    TaskAction.CANCEL: "cancelled",
}


def _fresh(task) -> Task:
    """The task as stored now (the caller's object may be stale)."""
    return Task.objects.select_related("entity", "bureau", "assignee").get(pk=task.pk)


def _move(task, *, actor, action, fields: dict | None = None, comment: str = "", lost_message=None, event_extra=None) -> Task:
    """Apply ``action`` with a conditional UPDATE on (state, version): of two concurrent steps on
    one task exactly one wins; the other is refused with ``lost_message``."""
    t = TRANSITIONS[action]
    before = _snapshot(task)
    fields = dict(fields or {})
    if t.target in (TaskState.ARCHIVED, TaskState.CANCELLED):
        fields["closed_at"] = timezone.now()
    won = Task.objects.filter(pk=task.pk, state=task.state, version=task.version).update(
        state=t.target, version=F("version") + 1, updated_at=timezone.now(), **fields
    )
    if not won:
        current = _fresh(task)
        raise TaskStateError(
            lost_message or _("任务刚被他人处理，当前为“%(state)s”，请刷新后重试") % {"state": current.get_state_display()},
            extra={"state": current.state},
        )
    from_state = task.state
    moved = _fresh(task)
    _record(moved, actor=actor, action=action, before=before, comment=comment, from_state=from_state, event_extra=event_extra)
    return moved


def _sync(target: Task, source: Task) -> Task:
    """Copy the stored state into the caller's object, so its reference stays current."""
    for f in Task._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    for name in ("entity", "bureau", "assignee"):
        if name in source._state.fields_cache:
            target._state.fields_cache[name] = source._state.fields_cache[name]
        else:
            target._state.fields_cache.pop(name, None)
    return target


# --- numbers and deadlines ------------------------------------------------------------------------


def _allocate_numbers(division_code: str, count: int, *, year: int | None = None) -> list[str]:
    """``count`` consecutive task numbers ``RW<year><city><serial>`` (inside the caller's transaction)."""
    year = year or timezone.localdate().year
    area = (division_code or "00")[:4].ljust(4, "0")
    TaskCounter.objects.bulk_create([TaskCounter(year=year, area=area)], ignore_conflicts=True)
    counter = TaskCounter.objects.select_for_update().get(year=year, area=area)
    start = counter.last + 1
    TaskCounter.objects.filter(pk=counter.pk).update(last=F("last") + count)
    return [f"RW{year}{area}{n:06d}" for n in range(start, start + count)]


def _due(rule: str, start: dt.date) -> dt.date:
    from zhijian.deadlines.rules import due

    return due(rule, start).due_date


# --- guards (also used by the pages to show the allowed actions) -------------------------------------


def _check_dispatch_target(actor, task, bureau, assignee) -> None:
    if bureau is None and assignee is None:
        raise ApplicationError(_("请选择承办机构或承办人"), code="no_target")
    if assignee is not None:
        if not assignee.is_active:
            raise ApplicationError(_("承办人“%(name)s”已停用") % {"name": assignee}, code="bad_target")
        if not assignee.has_role(*EXECUTORS):
            raise ApplicationError(_("承办人“%(name)s”不是执法人员或网格员，不能承办任务") % {"name": assignee}, code="bad_target")
        if bureau is not None and assignee.bureau_id != bureau.pk:
            raise ApplicationError(_("承办人“%(name)s”不属于“%(unit)s”") % {"name": assignee, "unit": bureau}, code="bad_target")
    target_area = tuple(bureau.jurisdiction_prefixes()) if bureau is not None else tuple(assignee.jurisdiction_prefixes())
    target_name = bureau if bureau is not None else assignee
    if actor is not None and not _area_within(jurisdiction_of(actor), target_area):
        raise TaskForbidden(_("“%(target)s”不在您的辖区内，不能向其派发") % {"target": target_name})
    if not _covers(target_area, task.division_code):
        raise ApplicationError(
            _("任务主体所在区划 %(code)s 不在“%(target)s”的辖区内") % {"code": task.division_code, "target": target_name}, code="bad_target"
        )
    if assignee is not None and not _covers(assignee.jurisdiction_prefixes(), task.division_code):
        raise ApplicationError(
            _("任务主体所在区划 %(code)s 不在承办人“%(name)s”的辖区内") % {"code": task.division_code, "name": assignee}, code="bad_target"
        )


def _guard(action, task, actor) -> None:
    """Raise unless ``actor`` may take ``action`` on ``task`` now (state, role, jurisdiction)."""
    _need_scope(actor, task)
    _need_state(task, action)
    if actor is None:
        return
    if action == TaskAction.DISPATCH:
        _need_role(actor, DISPATCHERS, _("只有调度员或领导可以派发任务"))
        if task.state == TaskState.DISPATCHED and task.assignee_id and task.bureau_id and actor.bureau_id != task.bureau_id \
                and not _area_within(jurisdiction_of(actor), _unit_area(task)):
            raise TaskForbidden(_("任务已派发给其他单位，您不能改派"))
    elif action == TaskAction.ACCEPT:
        if task.assignee_id:
            if task.assignee_id != actor.pk:
                raise TaskForbidden(_("任务已指定承办人“%(name)s”，只有承办人本人可以受领") % {"name": task.assignee})
        else:
            if not actor.has_role(*EXECUTORS):
                raise TaskForbidden(_("只有执法人员或网格员可以受领任务"))
            if task.bureau_id != actor.bureau_id:
                raise TaskForbidden(_("任务派发给“%(unit)s”，只有该单位的人员可以受领") % {"unit": task.bureau})
    elif action in (TaskAction.START, TaskAction.SUBMIT):
        if task.assignee_id != actor.pk:
            raise TaskForbidden(_("只有承办人本人可以%(action)s") % {"action": TaskAction(action).label})
    elif action in (TaskAction.APPROVE, TaskAction.REJECT):
        _need_role(actor, REVIEWERS, _("只有领导或法制审核员可以审核任务"))
        if not _area_within(jurisdiction_of(actor), _unit_area(task)):
            raise TaskForbidden(_("只有承办单位或其上级的领导、法制审核员可以审核该任务"))
        if task.assignee_id == actor.pk:
            raise TaskForbidden(_("不能审核自己承办的任务"))
    elif action == TaskAction.ARCHIVE:
        if task.assignee_id != actor.pk:
            _need_role(actor, ARCHIVERS, _("只有承办人、调度员、领导或法制审核员可以归档任务"))
    elif action == TaskAction.CANCEL:
        _need_role(actor, DISPATCHERS, _("只有调度员或领导可以撤销任务"))


def _guard_urge(task, actor) -> None:
    _need_scope(actor, task)
    if not task.is_open:
        raise TaskStateError(_("任务当前为“%(state)s”，不能督办：只有未办结的任务才能督办") % {"state": task.get_state_display()})
    if actor is None:
        return
    _need_role(actor, URGERS, _("只有领导或调度员可以督办任务"))
    if task.assignee_id == actor.pk:
        raise TaskForbidden(_("不能督办自己承办的任务"))


def allowed_actions(task, user) -> list[str]:
    """The steps ``user`` may take on ``task`` now (``urge`` included), for pages and the API."""
    out = []
    for action in TRANSITIONS:
        try:
            _guard(action, task, user)
        except ApplicationError:
            continue
        out.append(str(action))
    try:
        _guard_urge(task, user)
    except ApplicationError:
        pass
    else:
        out.append("urge")
    return out


# --- the services ---------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *, actor, entity, title, source, business_line="", source_ref="", deadline_rule="", due_on=None, bureau=None, assignee=None,
    description="", division_code="",
) -> Task:
    """Register a task on ``entity``; with ``bureau`` or ``assignee`` it is dispatched at once.

    A task about a place that is not in the registry (an unlicensed-operation clue, a grid case
    opened from a clue) has no entity: give its ``division_code`` instead."""
    if entity is None and not division_code:
        raise ApplicationError(_("请选择市场主体"), code="no_entity")
    division = entity.division_code if entity is not None else division_code
    if source not in TaskSource.values:
        raise ApplicationError(_("未知的任务来源：%(source)s") % {"source": source}, code="bad_source")
    if not (title or "").strip():
        raise ApplicationError(_("请填写任务名称"), code="no_title")
    if actor is not None:
        _need_role(actor, CREATORS, _("您没有登记监管任务的权限"))
        if not _covers(jurisdiction_of(actor), division):
            if entity is None:
                raise OutOfScope()
            raise OutOfScope(_("市场主体“%(name)s”不在您的辖区内") % {"name": entity.name})
    today = timezone.localdate()
    if deadline_rule and due_on is None:
        due_on = _due(deadline_rule, today)
    task = Task(
        number=_allocate_numbers(division, 1)[0], title=title.strip()[:200], source=source, source_ref=source_ref,
        business_line=business_line, entity=entity, division_code=division, created_by=actor,
        deadline_rule=deadline_rule, due_on=due_on, description=description,
    )
    task.save()
    _record(task, actor=actor, action=TaskAction.CREATE, before=None)
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


def lock_chains_in_order(names) -> None:
    """Take the trace chain heads ``names`` in sorted order (creating missing ones first).

    Hot locks in one transaction are always taken counters first (``_allocate_numbers``), then
    chain heads in name order; a transaction that appends to several chains calls this before its
    first append, so two such transactions never wait on each other in a cycle.
    """
    from zhijian.core.models import TraceChain

    names = sorted(set(names))
    if len(names) < 2:
        return
    TraceChain.objects.bulk_create([TraceChain(name=n) for n in names], ignore_conflicts=True)
    list(TraceChain.objects.select_for_update().filter(name__in=names).order_by("name").values_list("name", flat=True))


@transaction.atomic
def tasks_create_bulk(*, actor, specs: list[TaskSpec], batch_size: int = 1000, trace_extra: list[dict] | None = None) -> list[Task]:
    """Register many tasks at once (system work: the push's village tasks), as ``task_create`` does
    one by one, without role or scope guards (``actor`` is recorded, not checked).

    Set-based: one counter update per city for all the numbers (cities in sorted order), one
    ``bulk_create`` of tasks and of their steps, one ``task.created`` event per task (the contract
    of docs/events.md), and **one** trace entry for the batch naming every task (a batch of one is
    traced on the task itself, exactly like ``task_create``). ``trace_extra``: the caller's own
    trace entries (``trace.record`` keyword arguments) of the same transaction, appended here so
    that every chain head is taken after the counters and in sorted order.
    """
    from zhijian.core.trace import chain_for

    trace_extra = list(trace_extra or [])
    if not specs:
        _record_sorted(actor, trace_extra)
        return []
    for spec in specs:
        if spec.entity is None:
            raise ApplicationError(_("请选择市场主体"), code="no_entity")
        if spec.source not in TaskSource.values:
            raise ApplicationError(_("未知的任务来源：%(source)s") % {"source": spec.source}, code="bad_source")
    today = timezone.localdate()
    dues: dict[str, dt.date | None] = {}
    for spec in specs:
        if spec.deadline_rule and spec.deadline_rule not in dues:
            dues[spec.deadline_rule] = _due(spec.deadline_rule, today)
    by_area: dict[str, list[int]] = {}
    for i, spec in enumerate(specs):
        by_area.setdefault((spec.entity.division_code or "00")[:4].ljust(4, "0"), []).append(i)
    numbers = [""] * len(specs)
    for area in sorted(by_area):
        for i, number in zip(by_area[area], _allocate_numbers(area, len(by_area[area]), year=today.year)):
            numbers[i] = number
    now = timezone.now()
    creator = actor if actor is not None and getattr(actor, "pk", None) else None
    tasks = [
        Task(number=numbers[i], title=spec.title.strip()[:200], source=spec.source, source_ref=spec.source_ref,
             business_line=spec.business_line, entity=spec.entity, division_code=spec.entity.division_code, created_by=creator,
             deadline_rule=spec.deadline_rule, due_on=dues.get(spec.deadline_rule), description=spec.description,
             created_at=now, updated_at=now)
        for i, spec in enumerate(specs)
    ]
    created = events.bulk_insert(Task, tasks)
    events.insert_values(TaskStep, ["task_id", "action", "to_state", "actor_id", "at"],
                         [[t.pk, TaskAction.CREATE, TaskState.REGISTERED, creator.pk if creator else None, now] for t in created])
    events.emit_rows([("task.created", event_payload(t), t.division_code, OBJECT_TYPE, t.pk) for t in created])
    if len(created) == 1:
        t = created[0]
        entry = {"action": f"task.{TaskAction.CREATE}", "obj": t, "object_type": OBJECT_TYPE, "before": None, "after": _snapshot(t)}
    else:
        entry = {"action": "task.create_many", "object_type": "supervision.taskbatch", "object_id": f"{created[0].number}..{created[-1].number}",
                 "division_code": common_division([t.division_code for t in created]),
                 "after": {"count": len(created), "numbers": [t.number for t in created], "ids": [t.pk for t in created]}}
    _record_sorted(actor, [entry, *trace_extra], chain_for=chain_for)
    return created


def _record_sorted(actor, entries: list[dict], chain_for=None) -> None:
    """Append trace entries with their chain heads taken in name order."""
    if not entries:
        return
    from zhijian.core.trace import _division_of, chain_for as _chain_for

    chain_for = chain_for or _chain_for

    def name(e):
        obj = e.get("obj")
        ot = e.get("object_type") or (obj._meta.label_lower if obj is not None else "")
        oid = e.get("object_id") or (str(obj.pk) if obj is not None else "")
        div = e.get("division_code") or (_division_of(obj) if obj is not None else "")
        return chain_for(div, ot, str(oid))

    named = sorted(((name(e), i, e) for i, e in enumerate(entries)), key=lambda x: (x[0], x[1]))
    lock_chains_in_order([n for n, _i, _e in named])
    for _n, _i, e in named:
        trace.record(actor=e.pop("actor", actor), **e)


@transaction.atomic
def task_dispatch(*, actor, task, bureau=None, assignee=None) -> Task:
    """派发 to a unit (any of its officers may claim it) and/or a person; re-dispatch while unclaimed."""
    current = _fresh(task)
    _guard(TaskAction.DISPATCH, current, actor)
    if assignee is not None and bureau is None:
        bureau = assignee.bureau
    _check_dispatch_target(actor, current, bureau, assignee)
    moved = _move(current, actor=actor, action=TaskAction.DISPATCH,
                  fields={"bureau_id": bureau.pk if bureau else None, "assignee_id": assignee.pk if assignee else None})
    return _sync(task, moved)


@transaction.atomic
def task_accept(*, actor, task) -> Task:
    """受领 (claim). Of two officers claiming one unit task at once exactly one wins."""
    current = _fresh(task)
    _guard(TaskAction.ACCEPT, current, actor)
    fields = {} if current.assignee_id else {"assignee_id": actor.pk if actor else None}
    moved = _move(current, actor=actor, action=TaskAction.ACCEPT, fields=fields,
                  lost_message=_("任务已被他人受领或已变更，请刷新后查看"))
    return _sync(task, moved)


@transaction.atomic
def task_start(*, actor, task) -> Task:
    current = _fresh(task)
    _guard(TaskAction.START, current, actor)
    return _sync(task, _move(current, actor=actor, action=TaskAction.START))


@transaction.atomic
def task_submit(*, actor, task) -> Task:
    """提交审核: refused while any registered requirement of the submit stage is unmet."""
    current = _fresh(task)
    _guard(TaskAction.SUBMIT, current, actor)
    _need_requirements(current, requirements.SUBMIT, TaskAction.SUBMIT)
    return _sync(task, _move(current, actor=actor, action=TaskAction.SUBMIT))


@transaction.atomic
def task_review(*, actor, task, approve: bool, comment="") -> Task:
    """审核: approve → 审核通过 (ready to archive); reject → back to 执行中 (a comment is required)."""
    action = TaskAction.APPROVE if approve else TaskAction.REJECT
    current = _fresh(task)
    _guard(action, current, actor)
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ApplicationError(_("退回任务须填写审核意见"), code="no_comment")
    moved = _move(current, actor=actor, action=action, fields={"review_comment": comment[:500]}, comment=comment,
                  event_extra={"approved": bool(approve), "comment": comment})
    return _sync(task, moved)


@transaction.atomic
def task_archive(*, actor, task) -> Task:
    """归档: only after approval and when every registered requirement of the archive stage is met."""
    current = _fresh(task)
    _guard(TaskAction.ARCHIVE, current, actor)
    _need_requirements(current, requirements.ARCHIVE, TaskAction.ARCHIVE)
    return _sync(task, _move(current, actor=actor, action=TaskAction.ARCHIVE))


@transaction.atomic
def task_cancel(*, actor, task, reason) -> Task:
    current = _fresh(task)
    _guard(TaskAction.CANCEL, current, actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("撤销任务须填写原因"), code="no_reason")
    moved = _move(current, actor=actor, action=TaskAction.CANCEL, fields={"cancel_reason": reason[:500]}, comment=reason,
                  event_extra={"reason": reason})
    return _sync(task, moved)


@transaction.atomic
def task_urge(*, actor, task, message) -> TaskUrge:
    """督办: a superior urges an open task; a ``TaskUrge`` row and a ``task.urged`` event."""
    current = _fresh(task)
    _guard_urge(current, actor)
    message = (message or "").strip()
    if not message:
        raise ApplicationError(_("请填写督办意见"), code="no_message")
    urge = TaskUrge.objects.create(task=current, by=actor, message=message[:500])
    trace.record(actor=actor, action="task.urged", obj=current, object_type=OBJECT_TYPE, after={"urge_id": urge.pk, "message": message})
    events.emit("task.urged", payload=event_payload(current, urge_id=urge.pk, message=message, by_id=actor.pk if actor else None),
                division_code=current.division_code, object_type=OBJECT_TYPE, object_id=current.pk)
    return urge


@transaction.atomic
def task_link_record(*, task, kind, record_id, signed: bool, actor=None) -> TaskRecord:
    """Link a record another app keeps (e.g. ``inspection_record``) to the task; relinking the same
    record updates its ``signed`` mark (a record is usually linked first and signed later)."""
    current = _fresh(task)
    if current.state in (TaskState.ARCHIVED, TaskState.CANCELLED):
        raise TaskStateError(_("任务当前为“%(state)s”，不能再关联记录") % {"state": current.get_state_display()})
    if not kind or not str(record_id):
        raise ApplicationError(_("记录类型和编号不能为空"), code="bad_record")
    rec, created = TaskRecord.objects.get_or_create(task=current, kind=kind, record_id=str(record_id), defaults={"signed": bool(signed)})
    if not created and rec.signed != bool(signed):
        rec.signed = bool(signed)
        rec.save(update_fields=["signed"])
    elif not created:
        return rec
    trace.record(actor=actor, action="task.record_linked", obj=current, object_type=OBJECT_TYPE,
                 after={"kind": kind, "record_id": str(record_id), "signed": bool(signed)})
    events.emit("task.record_linked", payload=event_payload(current, kind=kind, record_id=str(record_id), signed=bool(signed)),
                division_code=current.division_code, object_type=OBJECT_TYPE, object_id=current.pk)
    return rec


# --- overdue sweep --------------------------------------------------------------------------------


def mark_overdue(*, today: dt.date | None = None, chunk: int = 500) -> int:
    """Mark open tasks past their due date as overdue and emit ``task.overdue`` once per task.

    A task is overdue from the day after ``due_on`` (due dates come from working-day rules, so the
    working-day count is already in ``due_on``). Each chunk commits on its own; a task is marked by
    a conditional UPDATE, so a task is reported once even when two sweeps overlap.
    """
    today = today or timezone.localdate()
    marked = 0
    base = Task.objects.filter(state__in=OPEN_STATES, overdue=False, due_on__lt=today)
    while True:
        ids = list(base.order_by("id").values_list("id", flat=True)[:chunk])
        if not ids:
            return marked
        with transaction.atomic():
            now = timezone.now()
            locked = list(Task.objects.select_for_update(of=("self",)).filter(pk__in=ids, overdue=False, state__in=OPEN_STATES).select_related("entity"))
            Task.objects.filter(pk__in=[t.pk for t in locked]).update(overdue=True, overdue_marked_at=now)
            rows = []
            for t in locked:
                t.overdue = True
                days = t.workdays_left(today)
                extra = {"overdue_workdays": -days if days is not None else None}
                trace.record(actor=None, action="task.overdue", obj=t, object_type=OBJECT_TYPE, after={"overdue": True, "due_on": t.due_on})
                rows.append(("task.overdue", event_payload(t, **extra), t.division_code, OBJECT_TYPE, t.pk))
            events.emit_many(rows)
            marked += len(locked)


# --- templates (S5) -------------------------------------------------------------------------------


@transaction.atomic
def template_create(
    *, actor, name, kind, division_code, business_lines="", deadline_rule="", description="", industry_prefixes="",
    division_prefix="", entity_types="",
) -> TaskTemplate:
    if kind not in TemplateKind.values:
        raise ApplicationError(_("未知的模板类型：%(kind)s") % {"kind": kind}, code="bad_kind")
    if actor is not None:
        _need_role(actor, TEMPLATE_RUNNERS, _("只有领导或调度员可以创建任务模板"))
        if not _covers(jurisdiction_of(actor), division_code):
            raise OutOfScope(_("所属区划不在您的辖区内"))
    if deadline_rule:
        _due(deadline_rule, timezone.localdate())  # refuses an unknown rule now, not at the first run
    tpl = TaskTemplate.objects.create(
        name=name, kind=kind, division_code=division_code, business_lines=business_lines, deadline_rule=deadline_rule,
        description=description, industry_prefixes=industry_prefixes, division_prefix=division_prefix, entity_types=entity_types,
        created_by=actor,
    )
    trace.record(actor=actor, action="task_template.created", obj=tpl, after={"name": name, "kind": kind})
    return tpl


def default_run_key(template, today: dt.date | None = None) -> str:
    """A patrol runs once a month (``2026-03``), a campaign once (``campaign``) unless a key is given."""
    today = today or timezone.localdate()
    return today.strftime("%Y-%m") if template.kind == TemplateKind.PATROL else "campaign"


def template_entities(template, bureau):
    """The active entities the template selects inside ``bureau``'s jurisdiction (a queryset)."""
    from zhijian.core.scoping import scope_q
    from zhijian.entities.choices import EntityStatus
    from zhijian.entities.models import MarketEntity

    qs = MarketEntity.objects.filter(scope_q("division_code", tuple(bureau.jurisdiction_prefixes())), status=EntityStatus.ACTIVE)
    if template.division_prefix:
        qs = qs.filter(division_code__startswith=template.division_prefix)
    industries = template.industry_prefix_list()
    if industries:
        q = Q()
        for p in industries:
            q |= Q(industry_code__startswith=p)
        qs = qs.filter(q)
    types = template.entity_type_list()
    if types:
        qs = qs.filter(entity_type__in=types)
    return qs


@transaction.atomic
def template_generate(*, actor, template, bureau, limit=None, run_key=None, batch_size: int = 1000) -> list[Task]:
    """Create tasks for the entities ``template`` selects in ``bureau``'s jurisdiction, dispatched
    to ``bureau`` (its officers claim them). Idempotent per (template, run key): entities that
    already have the run's task are skipped, so a second run creates only what is missing (usually
    nothing). Returns the tasks created by this call."""
    if not template.active:
        raise ApplicationError(_("模板“%(name)s”已停用") % {"name": template.name}, code="inactive")
    if actor is not None:
        _need_role(actor, TEMPLATE_RUNNERS, _("只有领导或调度员可以按模板生成任务"))
        if not _covers(jurisdiction_of(actor), template.division_code):
            raise OutOfScope()
        if not _area_within(jurisdiction_of(actor), bureau.jurisdiction_prefixes()):
            raise TaskForbidden(_("“%(unit)s”不在您的辖区内") % {"unit": bureau})
    run_key = (run_key or default_run_key(template))[:40]
    today = timezone.localdate()
    due_on = _due(template.deadline_rule, today) if template.deadline_rule else None
    lines = template.business_line_list() or [""]
    source = TEMPLATE_SOURCE[template.kind]

    done = set(
        Task.objects.filter(template=template, run_key=run_key).values_list("entity_id", "business_line")
    )
    wanted = []
    for entity_id, name, credit_code, division_code in template_entities(template, bureau).order_by("id").values_list(
        "id", "name", "credit_code", "division_code"
    ).iterator(chunk_size=2000):
        for line in lines:
            if (entity_id, line) not in done:
                wanted.append((entity_id, name, credit_code, division_code, line))
                if limit is not None and len(wanted) >= limit:
                    break
        if limit is not None and len(wanted) >= limit:
            break

    run = TemplateRun.objects.create(template=template, run_key=run_key, bureau=bureau, division_code=bureau.division_code, actor=actor)
    if not wanted:
        trace.record(actor=actor, action="task_template.run", obj=run, after={"run_key": run_key, "created": 0})
        return []

    # Numbers per city, one counter lock per city for the whole run.
    by_area: dict[str, list[int]] = {}
    for i, w in enumerate(wanted):
        by_area.setdefault(w[3][:4], []).append(i)
    numbers = [""] * len(wanted)
    for area, idx in by_area.items():
        for i, number in zip(idx, _allocate_numbers(area, len(idx), year=today.year)):
            numbers[i] = number
    now = timezone.now()
    tasks = [
        Task(
            number=numbers[i], title=f"{template.name}：{name}"[:200], source=source, source_ref=f"{template.pk}:{run_key}",
            business_line=line, entity_id=entity_id, division_code=division_code, state=TaskState.DISPATCHED, bureau=bureau,
            created_by=actor, deadline_rule=template.deadline_rule, due_on=due_on, description=template.description,
            template=template, run_key=run_key, created_at=now, updated_at=now,
        )
        for i, (entity_id, name, credit_code, division_code, line) in enumerate(wanted)
    ]
    created = Task.objects.bulk_create(tasks, batch_size=batch_size)
    if any(t.pk is None for t in created):  # a backend that does not return ids
        by_number = dict(Task.objects.filter(number__in=numbers).values_list("number", "pk"))
        for t in created:
            t.pk = t.id = by_number[t.number]
    steps, rows = [], []
    for t, (entity_id, name, credit_code, division_code, line) in zip(created, wanted):
        steps.append(TaskStep(task=t, action=TaskAction.CREATE, to_state=TaskState.REGISTERED, actor=actor, at=now,
                              comment=_("由模板“%(name)s”生成（批次 %(key)s）") % {"name": template.name, "key": run_key}))
        steps.append(TaskStep(task=t, action=TaskAction.DISPATCH, from_state=TaskState.REGISTERED, to_state=TaskState.DISPATCHED,
                              actor=actor, at=now))
        payload = {"task_id": t.pk, "number": t.number, "credit_code": credit_code, "state": t.state, "business_line": line,
                   "source": source, "bureau_id": bureau.pk, "assignee_id": None, "due_on": due_on, "template_id": template.pk,
                   "run_key": run_key}
        rows.append(("task.created", payload, division_code, OBJECT_TYPE, t.pk))
        rows.append(("task.dispatched", payload, division_code, OBJECT_TYPE, t.pk))
    TaskStep.objects.bulk_create(steps, batch_size=batch_size)
    events.emit_many(rows, batch_size=batch_size)
    run.created_count = len(created)
    run.save(update_fields=["created_count"])
    # One trace entry for the run: it names every task it created (as the registry import does per chunk).
    trace.record(actor=actor, action="task_template.run", obj=run,
                 after={"run_key": run_key, "created": len(created), "numbers": [t.number for t in created]})
    return created
