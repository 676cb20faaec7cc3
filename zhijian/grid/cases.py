"""The grid case's services (G1): open, assign, first visit, re-check, joint handling, cancel.

Every step goes through the case's transition table (``procedure.GRID_CASE``): checked first
(an outsider gets 404, a wrong role or person 403, a wrong state 409, each with a Chinese
message), then moved by the kernel (compare-and-swap, step, trace entry, event in the service's
transaction). Each open state has its own working-day limit (``choices.STATE_RULES``): the case's
**step clock** in the clock registry (``deadlines.clocks``, procedure ``grid.gridcase``, clock
``step``) is restarted on every move into an open state and stopped when the case ends; the
case keeps a copy of its due date in ``step_due_on`` (denormalised for the lists, the command
centre and the "overdue" filter, which read it with one indexed range).

Lock order of a move: the step clock's row first (``clocks.restart`` / ``clocks.stop`` lock it),
then the case's row (the CAS), then the trace chain heads — every move of a case takes them in
that order, so two moves of one case wait for each other instead of deadlocking, and the second
one is refused by the CAS.

``actor=None`` is the system (a handler or command): role and person rules are skipped, state
rules are not. ``today=`` (default: the local date) lets tests and back-fills run on a given day.
"""
from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.scoping import in_jurisdiction
from zhijian.core.workflow import Forbidden
from zhijian.deadlines import clocks, numbering
from zhijian.deadlines.choices import DocType
from zhijian.deadlines.rules import due
from zhijian.geo import placement

from .choices import MATTER_ORDER, RECTIFY_RULE, STATE_RULES, CaseAction, CaseState, ItemResult, Trigger, VisitKind
from .common import coordinate, grid_supervisor, today_or
from .models import GridCase
from .procedure import ASSIGNERS, GRID_CASE, REPORTERS, STEP_CLOCK, VISITORS
from .routing import check_route, route_for
from .visits import clean_items, issue_notice, open_problems, record_visit


def allowed_actions(case: GridCase, user) -> list[str]:
    """The steps ``user`` may take on ``case`` now (for pages; the services check again)."""
    return GRID_CASE.allowed(case, user)


def step_clock(case):
    """The clock of the case's current step: running while the case is open, stopped once it has
    ended (None for a case that ended before the clock registry existed)."""
    return clocks.get(GRID_CASE.name, case.pk, STEP_CLOCK)


def _restart_step(case, state, start, *, actor):
    """The step clock of ``state`` counted from ``start``: its rule is the state's (``STATE_RULES``)."""
    return clocks.restart(procedure=GRID_CASE.name, object_id=case.pk, rule=STATE_RULES[state], start=start, name=STEP_CLOCK,
                          division_code=case.division_code, entity_id=case.entity_id, actor=actor)


def _stop_step(case, *, today, actor):
    clocks.stop_for(GRID_CASE.name, case.pk, name=STEP_CLOCK, on=today, actor=actor)


def _check(case, action, actor) -> GridCase:
    """A fresh read of the case, checked for ``action`` before any work is done (the move checks
    its own fresh read again)."""
    current = GRID_CASE.fresh(case)
    GRID_CASE.check(current, action, actor)
    return current


# --- opening --------------------------------------------------------------------------------------


def check_opener(actor, division_code: str) -> None:
    if actor is None:
        return
    if not in_jurisdiction(actor, division_code):
        raise OutOfScope()
    if not actor.has_role(*(ASSIGNERS | REPORTERS)):
        raise Forbidden(_("您没有登记网格事项的权限"))


def check_trigger(trigger) -> None:
    if trigger not in Trigger.values:
        raise ApplicationError(_("未知的触发类型：%(t)s") % {"t": trigger}, code="bad_trigger")


@transaction.atomic
def case_open(*, actor, trigger, entity=None, clue=None, task=None, trigger_ref="", title="", auto_assign=False, today=None) -> GridCase:
    """A case arrives at the village (from the push of a registration / address / scope change, or a
    clue). Idempotent per (entity, trigger, trigger_ref): the existing case is returned. Numbered
    ``<机关代字>网格〔年〕N号`` by its bureau (``deadlines.numbering``); its assignment clock starts."""
    today = today_or(today)
    check_trigger(trigger)
    if entity is None and clue is None:
        raise ApplicationError(_("网格事项须对应一个市场主体或一条线索"), code="no_subject")
    if entity is not None:
        existing = GridCase.objects.filter(entity=entity, trigger=trigger, trigger_ref=trigger_ref).first()
        if existing is not None:
            return existing
    division = entity.division_code if entity is not None else clue.division_code
    check_opener(actor, division)
    grid = (entity.grid if entity is not None and entity.grid_id else None) or (clue.grid if clue is not None else None)
    if grid is None and entity is not None:
        grid = placement.locate(entity.lng, entity.lat, entity.division_code)
    bureau = (task.bureau if task is not None and task.bureau_id else None) or numbering.bureau_for_division(division)
    _n, number = numbering.next_number(bureau=bureau, doc_type=DocType.GRID_CASE, year=today.year)
    label = entity.name if entity is not None else clue.place_name
    case = GridCase.objects.create(
        number=number, title=(title or f"{Trigger(trigger).label}：{label}")[:200], trigger=trigger, trigger_ref=trigger_ref,
        entity=entity, clue=clue, task=task, place_name=label[:200],
        address=(entity.address if entity is not None else clue.place)[:300],
        industry_code=(entity.industry_code if entity is not None else clue.industry_code),
        lng=entity.lng if entity is not None else clue.lng, lat=entity.lat if entity is not None else clue.lat,
        division_code=division, grid=grid, bureau=bureau, received_on=today, state=CaseState.PENDING_ASSIGN,
    )
    clock = _restart_step(case, CaseState.PENDING_ASSIGN, today, actor=actor)
    case.step_due_on = clock.due_on
    GridCase.objects.filter(pk=case.pk).update(step_due_on=clock.due_on)
    GRID_CASE.record(case, action=CaseAction.OPEN, actor=actor, comment=str(Trigger(trigger).label), due_on=case.step_due_on)
    if auto_assign and grid is not None and grid_supervisor(grid) is not None:
        case = case_assign(actor=None, case=case, grid=grid, today=today)
    return case


def case_open_for_task(*, task, trigger=Trigger.REGISTRATION, trigger_ref="", today=None) -> GridCase:
    """The hand-over from coordination (C1): the village's supervision task exists; open its grid case."""
    return case_open(actor=None, trigger=trigger, entity=task.entity, task=task, trigger_ref=trigger_ref or f"task:{task.pk}",
                     title=task.title, auto_assign=getattr(settings, "GRID_AUTO_ASSIGN", False), today=today)


# --- G1: the steps --------------------------------------------------------------------------------


@transaction.atomic
def case_assign(*, actor, case, grid=None, assignee=None, today=None) -> GridCase:
    """分派网格: to a grid and its supervisor (GridStaff) unless a person is named. The first-visit
    limit runs from the day the village received the case; re-assigning keeps it."""
    today = today_or(today)
    current = _check(case, CaseAction.ASSIGN, actor)
    grid = grid or current.grid
    if grid is None:
        raise ApplicationError(_("请选择网格"), code="no_grid")
    if not (current.division_code.startswith(grid.division_code) or grid.division_code.startswith(current.division_code[:9])):
        raise ApplicationError(_("网格“%(grid)s”不覆盖该事项所在区划（%(code)s）") % {"grid": grid.name, "code": current.division_code},
                               code="grid_mismatch")
    assignee = assignee or grid_supervisor(grid)
    if assignee is None:
        raise ApplicationError(_("网格“%(grid)s”尚未配备网格监管员，请先在网格中配置人员或指定承办人") % {"grid": grid.name},
                               code="no_supervisor")
    if not assignee.has_role(*VISITORS):
        raise ApplicationError(_("%(name)s 不是网格监管员或执法人员，不能承办走访") % {"name": assignee}, code="bad_assignee")
    if not in_jurisdiction(assignee, current.division_code):
        raise ApplicationError(_("%(name)s 的辖区不包含该事项所在区划") % {"name": assignee}, code="bad_assignee")
    # Counted from receipt: the same start on a re-assignment, so the running clock is kept.
    clock = clocks.start(procedure=GRID_CASE.name, object_id=current.pk, rule=STATE_RULES[CaseState.FIRST_VISIT],
                         start=current.received_on, name=STEP_CLOCK, division_code=current.division_code,
                         entity_id=current.entity_id, actor=actor, at=current.received_on)
    return GRID_CASE.move(current, CaseAction.ASSIGN, actor=actor, due_on=clock.due_on,
                          fields={"grid": grid, "assignee": assignee, "bureau": current.bureau or assignee.bureau,
                                  "step_due_on": clock.due_on},
                          comment=f"{grid.name} · {assignee}")


def _close(current, action, *, actor, today, resolution, comment, event_extra=None) -> GridCase:
    _stop_step(current, today=today, actor=actor)
    return GRID_CASE.move(current, action, actor=actor, to_state=CaseState.CLOSED, fields={"resolution": resolution, "step_due_on": None},
                          comment=comment, event_extra=event_extra)


@transaction.atomic
def visit_first(*, actor, case, items: dict, note="", lng=None, lat=None, system="wgs84", notice_deadline=None, today=None) -> GridCase:
    """首次走访 with the 4+2 matters, each with result and note. Problems found: a 书面告知书 with a
    rectification deadline is issued and the case waits for the re-check (its own limit, counted
    from the rectification deadline)."""
    today = today_or(today)
    current = _check(case, CaseAction.FIRST_VISIT, actor)
    items = clean_items(items, required=MATTER_ORDER)
    problems = [m for m, (r, _n) in items.items() if r == ItemResult.PROBLEM]
    lng, lat = coordinate(lng, lat, system)
    record_visit(current, kind=VisitKind.FIRST, actor=actor, today=today, items=items, note=note, lng=lng, lat=lat,
                 problem_found=bool(problems), resolved=not problems)
    late = today > current.step_due_on if current.step_due_on else False
    if not problems:
        return _close(current, CaseAction.FIRST_VISIT, actor=actor, today=today, resolution=_("首次走访未发现问题"), comment=note,
                      event_extra={"late": late, "problems": []})
    longest = due(RECTIFY_RULE, today)
    deadline = notice_deadline or longest.due_date
    if deadline <= today:
        raise ApplicationError(_("整改期限须晚于走访当日"), code="bad_deadline")
    if deadline > longest.due_date:
        raise ApplicationError(_("整改期限不能晚于 %(d)s（规则 %(rule)s）") % {"d": longest.due_date.isoformat(), "rule": RECTIFY_RULE},
                               code="bad_deadline")
    clock = _restart_step(current, CaseState.RECTIFYING, deadline, actor=actor)
    moved = GRID_CASE.move(current, CaseAction.FIRST_VISIT, actor=actor, to_state=CaseState.RECTIFYING, due_on=clock.due_on,
                           fields={"notice_deadline": deadline, "step_due_on": clock.due_on}, comment=note,
                           event_extra={"late": late, "problems": problems})
    issue_notice(moved, actor=actor, today=today, problems=problems, items=items,
                 provisional=longest.provisional and notice_deadline is None)
    return moved


@transaction.atomic
def recheck(*, actor, case, items: dict, note="", lng=None, lat=None, system="wgs84", today=None) -> GridCase:
    """复查 the matters the notice named (within ``grid.recheck`` after the rectification deadline).
    All fixed: closed (also before the deadline). Still wrong — only once the deadline has passed:
    village joint handling with its own limit."""
    today = today_or(today)
    current = _check(case, CaseAction.RECHECK, actor)
    items = clean_items(items, required=open_problems(current))
    remaining = [m for m, (r, _n) in items.items() if r == ItemResult.PROBLEM]
    if remaining and current.notice_deadline and today <= current.notice_deadline:
        raise ApplicationError(_("整改期限（%(d)s）尚未届满，不能认定逾期未整改；请在期限届满后复查") % {"d": current.notice_deadline.isoformat()},
                               code="deadline_not_reached")
    lng, lat = coordinate(lng, lat, system)
    record_visit(current, kind=VisitKind.RECHECK, actor=actor, today=today, items=items, note=note, lng=lng, lat=lat,
                 problem_found=bool(remaining), resolved=not remaining)
    if not remaining:
        return _close(current, CaseAction.RECHECK, actor=actor, today=today, resolution=_("复查已整改"), comment=note)
    clock = _restart_step(current, CaseState.JOINT, today, actor=actor)
    return GRID_CASE.move(current, CaseAction.RECHECK, actor=actor, to_state=CaseState.JOINT, due_on=clock.due_on,
                          fields={"step_due_on": clock.due_on}, comment=note, event_extra={"problems": remaining})


@transaction.atomic
def joint_handle(*, actor, case, resolved: bool, note="", today=None) -> GridCase:
    """村（社区）联合处置 result. Resolved: closed. Not: routed by rule (``routing.route_for``)."""
    today = today_or(today)
    current = _check(case, CaseAction.JOINT if resolved else CaseAction.ROUTE, actor)
    if not (note or "").strip():
        raise ApplicationError(_("请填写联合处置情况"), code="note_required")
    problems = open_problems(current)
    items = {m: (ItemResult.OK if resolved else ItemResult.PROBLEM, note.strip()[:500]) for m in problems}
    record_visit(current, kind=VisitKind.JOINT, actor=actor, today=today, items=items, note=note, lng=None, lat=None,
                 problem_found=not resolved, resolved=resolved)
    if resolved:
        return _close(current, CaseAction.JOINT, actor=actor, today=today, resolution=_("村（社区）联合处置已解决"), comment=note)
    route = route_for(current, problems)
    check_route(route)
    _stop_step(current, today=today, actor=actor)
    return GRID_CASE.move(
        current, CaseAction.ROUTE, actor=actor, comment=note,
        fields={"route_target": route.target, "routed_bureau": route.bureau, "routed_department": route.department,
                "routing_rule": route.rule, "resolution": route.describe(), "step_due_on": None},
        event_extra={"route_target": route.target, "routed_bureau_id": route.bureau.pk if route.bureau else None,
                     "routed_department": route.department.code if route.department else "",
                     "rule_id": route.rule.pk if route.rule else None, "problems": problems},
    )


@transaction.atomic
def case_cancel(*, actor, case, reason: str, today=None) -> GridCase:
    today = today_or(today)
    current = _check(case, CaseAction.CANCEL, actor)
    if not (reason or "").strip():
        raise ApplicationError(_("请填写撤销原因"), code="reason_required")
    _stop_step(current, today=today, actor=actor)
    return GRID_CASE.move(current, CaseAction.CANCEL, actor=actor, fields={"resolution": reason.strip()[:500], "step_due_on": None},
                          comment=reason)

