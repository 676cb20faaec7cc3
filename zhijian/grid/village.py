"""The village's supervision task and its grid case (C1 → G1 → supervision).

In: a village task (business line ``grid_first_visit``) opens its grid case — one by one
(``cases.case_open_for_task``) or, for the ``task.created`` events of a burst of registrations,
set-based (``cases_open_for_tasks``). Out: when the case ends, its village task is finished
through the task loop's own services (``finish_village_task``). Both run from the handlers in
``handlers.py``, each effect its own transaction, and both are idempotent.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from zhijian.coordination.push import VILLAGE_BUSINESS_LINE
from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError
from zhijian.core.models import WorkflowStep
from zhijian.core.scoping import common_division
from zhijian.deadlines import clocks, numbering
from zhijian.deadlines.choices import DocType
from zhijian.geo import placement
from zhijian.supervision import tasks as supervision
from zhijian.supervision.choices import TaskState

from .cases import case_assign, check_trigger
from .choices import FINAL_STATES, STATE_RULES, CaseAction, CaseState, Trigger
from .common import grid_supervisor
from .models import GridCase
from .procedure import GRID_CASE, STEP_CLOCK, event_payload

VILLAGE_TASK_LINE = VILLAGE_BUSINESS_LINE  # the village's first-visit tasks coordination creates
CASE_RECORD_KIND = "grid_case"  # the record that proves a village task (registered in apps.GridConfig.ready)
# Events of the moves that can end a case.
ENDING_EVENTS = {GRID_CASE.event_name(a) for a in (CaseAction.FIRST_VISIT, CaseAction.RECHECK, CaseAction.JOINT, CaseAction.ROUTE,
                                                    CaseAction.CANCEL)}


def carrying_case(task) -> str | None:
    """The grid case that is this village task's first visit, named for a person ("网格事项 …号")."""
    number = GridCase.objects.filter(task_id=task.pk).order_by("id").values_list("number", flat=True).first()
    return _("网格事项 %(number)s") % {"number": number} if number else None


@transaction.atomic
def cases_open_for_tasks(rows, *, auto_assign: bool | None = None) -> list[GridCase]:
    """``cases.case_open_for_task`` for many village tasks at once: ``rows`` = [(task, trigger,
    trigger_ref, today)], tasks with ``entity`` (and its grid) and ``bureau`` loaded.

    Same cases as one by one — idempotent per (entity, trigger, trigger_ref), grid from the
    entity (else placed), bureau from the task (else the most specific one), numbered by the
    bureau, the pending-assign step and its clock — written set-based: one query for existing
    cases, one numbering lock per bureau and year, one bulk insert of cases, of their clocks
    (``clocks.start_many``) and of their steps, one UPDATE per distinct due date, one
    ``grid.case_opened`` event per case, one trace entry for the batch (a batch of one is traced on
    its case, as ``case_open`` does). Returns the cases it created."""
    # A task without a source_ref is keyed "task:<id>" (as case_open_for_task does) before the
    # lookup of existing cases, so a case opened directly for the task is found, not inserted twice.
    rows = [(t, trigger, ref or f"task:{t.pk}", today) for t, trigger, ref, today in rows if t.entity_id is not None]
    if not rows:
        return []
    have = set()
    ids = sorted({t.entity_id for t, *_r in rows})
    for i in range(0, len(ids), 900):
        have.update(GridCase.objects.filter(entity_id__in=ids[i:i + 900], trigger_ref__in={r[2] for r in rows})
                    .values_list("entity_id", "trigger", "trigger_ref"))
    bureaus: dict[str, object] = {}
    placed: dict[tuple, object] = {}
    cases = []
    for task, trigger, trigger_ref, today in rows:
        check_trigger(trigger)
        entity = task.entity
        key = (entity.pk, trigger, trigger_ref)
        if key in have:
            continue
        have.add(key)
        grid = entity.grid if entity.grid_id else None
        if grid is None:
            where = (entity.lng, entity.lat, entity.division_code)
            if where not in placed:
                placed[where] = placement.locate(*where)
            grid = placed[where]
        division = entity.division_code
        if task.bureau_id is None and division not in bureaus:
            bureaus[division] = numbering.bureau_for_division(division)
        cases.append(GridCase(
            title=(task.title or f"{Trigger(trigger).label}：{entity.name}")[:200], trigger=trigger, trigger_ref=trigger_ref,
            entity=entity, task=task, place_name=entity.name[:200], address=(entity.address or "")[:300],
            industry_code=entity.industry_code, lng=entity.lng, lat=entity.lat, division_code=division, grid=grid,
            bureau=task.bureau if task.bureau_id else bureaus[division], received_on=today, state=CaseState.PENDING_ASSIGN,
        ))
    if not cases:
        return []
    _number(cases)
    events.bulk_insert(GridCase, cases)
    rule = STATE_RULES[CaseState.PENDING_ASSIGN]
    started = clocks.start_many([{"procedure": GRID_CASE.name, "object_id": c.pk, "rule": rule, "start": c.received_on, "name": STEP_CLOCK,
                                  "division_code": c.division_code, "entity_id": c.entity_id} for c in cases])
    by_due: dict[dt.date, list[int]] = defaultdict(list)
    for c, clock in zip(cases, started):
        c.step_due_on = clock.due_on
        by_due[clock.due_on].append(c.pk)
    for due_on, pks in by_due.items():
        for i in range(0, len(pks), 900):
            GridCase.objects.filter(pk__in=pks[i:i + 900]).update(step_due_on=due_on)
    labels = {t: str(Trigger(t).label) for t in {c.trigger for c in cases}}
    steps = GRID_CASE.steps_rows([(c, CaseAction.OPEN, "", c.state, None, labels[c.trigger]) for c in cases])
    for step, c in zip(steps, cases):
        step.due_on = c.step_due_on
    events.bulk_insert(WorkflowStep, steps)
    if len(cases) == 1:
        trace.record(actor=None, action="grid.case.open", obj=cases[0], object_type=GRID_CASE.name, before=None,
                     after=GRID_CASE.snapshot(cases[0]))
    else:
        trace.record(actor=None, action="grid.case.open_many", object_type="grid.casebatch",
                     object_id=f"{cases[0].number}..{cases[-1].number}", division_code=common_division(c.division_code for c in cases),
                     after={"count": len(cases), "cases": [[c.pk, c.number, c.task_id, c.state, str(c.step_due_on)] for c in cases]})
    events.emit_rows([(GRID_CASE.event_name(CaseAction.OPEN), event_payload(c), c.division_code, GRID_CASE.name, str(c.pk))
                      for c in cases])
    if auto_assign is None:
        auto_assign = getattr(settings, "GRID_AUTO_ASSIGN", False)
    if auto_assign:
        # Rare (a setting); one case at a time, in the order of their trace chains.
        order = sorted(range(len(cases)), key=lambda i: trace.chain_for(cases[i].division_code, GRID_CASE.name, str(cases[i].pk)))
        for i in order:
            c = cases[i]
            if c.grid is not None and grid_supervisor(c.grid) is not None:
                cases[i] = case_assign(actor=None, case=c, grid=c.grid, today=c.received_on)
    return cases


def _number(cases) -> None:
    """Numbers for new cases, one run per bureau and year (one lock each, gap-free)."""
    groups: dict[tuple, list[GridCase]] = defaultdict(list)
    for c in cases:
        if c.bureau is None:
            raise ApplicationError(_("没有责任机构，无法编号"), code="no_bureau")
        groups[(c.bureau.pk, c.received_on.year)].append(c)
    for (_b, year), group in sorted(groups.items()):
        for c, number in zip(group, numbering.next_numbers(bureau=group[0].bureau, doc_type=DocType.GRID_CASE, count=len(group), year=year)):
            c.number = number


@transaction.atomic
def finish_village_task(*, case):
    """End the village's supervision task of an ended case through the task loop's own services
    (system steps, ``actor=None``): a closed or routed case is linked to the task as its record
    (kind ``grid_case``, final) and the task goes 派发 (to the case's officer) → 受领 → 开始执行 →
    提交审核 → 审核通过 → 已归档 from wherever it stands; a cancelled case cancels it (已撤销).
    Only tasks of the village line; a task already archived or cancelled is left alone.
    Returns the task, or None when there was nothing to do."""
    task = case.task
    if case.state not in FINAL_STATES or task is None or task.business_line != VILLAGE_TASK_LINE or not task.is_open:
        return None
    comment = _("网格事项 %(number)s %(state)s：%(resolution)s") % {
        "number": case.number, "state": case.get_state_display(), "resolution": case.resolution or "—"}
    if case.state == CaseState.CANCELLED:
        return supervision.task_cancel(actor=None, task=task, reason=comment)
    supervision.task_link_record(task=task, kind=CASE_RECORD_KIND, record_id=case.pk, signed=True)
    if task.state == TaskState.REGISTERED:
        dispatched = False
        if case.assignee_id:
            try:
                supervision.task_dispatch(actor=None, task=task, assignee=case.assignee)
                dispatched = True
            except ApplicationError:  # the officer's unit does not cover the place: to the case's unit
                pass
        if not dispatched:
            supervision.task_dispatch(actor=None, task=task, bureau=case.bureau or numbering.bureau_for_division(case.division_code))
    if task.state == TaskState.DISPATCHED:
        supervision.task_accept(actor=None, task=task)
    if task.state == TaskState.ACCEPTED:
        supervision.task_start(actor=None, task=task)
    if task.state == TaskState.EXECUTING:
        supervision.task_submit(actor=None, task=task)
    if task.state == TaskState.REVIEW:
        supervision.task_review(actor=None, task=task, approve=True, comment=comment)
    if task.state == TaskState.APPROVED:
        supervision.task_archive(actor=None, task=task)
    return task
