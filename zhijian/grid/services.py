"""The grid flow's writes (G1–G4).

Every write is keyword-only and atomic, moves a case only along ``TRANSITIONS``, writes a
``CaseStep`` (the timeline), a trace entry and an event in the same transaction, and refuses an
illegal step with :class:`~zhijian.core.errors.ApplicationError` carrying a Chinese message.
``actor=None`` is the system (a handler or command): role and jurisdiction guards are skipped,
state guards are not. ``today=`` (default: the local date) lets tests and back-fills run on a
given day; every time limit comes from ``zhijian.deadlines.rules.due``.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.scoping import in_jurisdiction
from zhijian.deadlines.rules import due
from zhijian.geo import coords, placement
from zhijian.geo.models import Grid, GridRole, GridStaff
from zhijian.org.choices import BureauLevel, RoleCode
from zhijian.org.models import Bureau, Department

from .choices import (
    FINAL_STATES, MATTER_ORDER, OPEN_STATES, RECTIFY_RULE, STATE_RULES, CaseAction, CaseState, ClueKind, ClueState, ItemResult, Matter, OrderState,
    RouteTarget, Trigger, VisitKind,
)
from .models import Clue, CaseStep, DutyStatus, EmergencyOrder, GridCase, NoticeCounter, OrderRecipient, RoutingRule, Visit, VisitItem

OBJECT_TYPE = "grid.gridcase"

ASSIGNERS = {RoleCode.DISPATCHER, RoleCode.LEADER}
VISITORS = {RoleCode.GRID_OFFICER, RoleCode.ENFORCEMENT_OFFICER}
JOINT_HANDLERS = {RoleCode.DISPATCHER, RoleCode.LEADER, RoleCode.GRID_OFFICER, RoleCode.ENFORCEMENT_OFFICER}
REPORTERS = {RoleCode.ASSISTANT, RoleCode.INFORMANT, RoleCode.GRID_OFFICER, RoleCode.ENFORCEMENT_OFFICER}
COMMANDERS = {RoleCode.DISPATCHER, RoleCode.LEADER}
DUTY_ROLES = {RoleCode.GRID_OFFICER, RoleCode.ENFORCEMENT_OFFICER, RoleCode.ASSISTANT, RoleCode.INFORMANT}


class CaseForbidden(ApplicationError):
    status = 403

    def __init__(self, message):
        super().__init__(message, code="forbidden")


class CaseStateError(ApplicationError):
    status = 409

    def __init__(self, message):
        super().__init__(message, code="illegal_state")


class RateLimited(ApplicationError):
    status = 429

    def __init__(self, message, *, retry_after: int):
        super().__init__(message, code="rate_limited", extra={"retry_after": retry_after})


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    hint: str


# The explicit state machine: action -> the states it may start from. Where it leads depends on the
# step's outcome (a visit with or without problems), so each service names its target state.
TRANSITIONS: dict[str, Transition] = {
    CaseAction.ASSIGN: Transition((CaseState.PENDING_ASSIGN, CaseState.FIRST_VISIT), gettext_lazy("只有“待分派网格”或尚未走访的事项才能分派")),
    CaseAction.FIRST_VISIT: Transition((CaseState.FIRST_VISIT,), gettext_lazy("只有已分派、待首次走访的事项才能登记首次走访")),
    CaseAction.RECHECK: Transition((CaseState.RECTIFYING,), gettext_lazy("只有已送达书面告知书、处于限期整改的事项才能复查")),
    CaseAction.JOINT: Transition((CaseState.JOINT,), gettext_lazy("只有复查仍未整改、已转村（社区）联合处置的事项才能登记联合处置结果")),
    CaseAction.CANCEL: Transition(tuple(OPEN_STATES), gettext_lazy("已办结、已移交或已撤销的事项不能撤销")),
}


def allowed_actions(case: GridCase, user) -> list[str]:
    """The steps ``user`` may take on ``case`` now (for pages; the services check again)."""
    out = []
    for action, t in TRANSITIONS.items():
        if case.state not in t.sources:
            continue
        try:
            _need_actor(action, case, user)
        except ApplicationError:
            continue
        out.append(str(action))
    return out


# --- helpers -------------------------------------------------------------------------------------


def _today(today):
    return today or timezone.localdate()


def _due(rule: str, start: dt.date) -> dt.date:
    return due(rule, start).due_date


def _need_role(actor, roles, message):
    if actor is not None and not actor.has_role(*roles):
        raise CaseForbidden(message)


def _need_scope(actor, division_code):
    if actor is not None and not in_jurisdiction(actor, division_code):
        raise OutOfScope()


def _need_actor(action, case, actor):
    """Role and person rules per step (jurisdiction first: an outsider learns nothing)."""
    _need_scope(actor, case.division_code)
    if actor is None:
        return
    if action == CaseAction.ASSIGN or action == CaseAction.CANCEL:
        _need_role(actor, ASSIGNERS, _("只有调度员或领导可以分派或撤销网格事项"))
    elif action in (CaseAction.FIRST_VISIT, CaseAction.RECHECK):
        _need_role(actor, VISITORS, _("只有网格监管员可以登记走访和复查"))
        if case.assignee_id != actor.pk:
            raise CaseForbidden(_("本事项已分派给 %(name)s，只有承办的网格监管员可以登记走访和复查") % {"name": case.assignee})
    elif action == CaseAction.JOINT:
        _need_role(actor, JOINT_HANDLERS, _("只有调度员、领导或网格监管员可以登记联合处置结果"))


def _guard(action, case, actor):
    _need_actor(action, case, actor)
    t = TRANSITIONS[action]
    if case.state not in t.sources:
        raise CaseStateError(_("事项当前为“%(state)s”，不能%(action)s：%(hint)s") % {
            "state": case.get_state_display(), "action": CaseAction(action).label, "hint": t.hint})


def _fresh(case) -> GridCase:
    """Re-read and lock the row: two people acting on one case at once take turns."""
    return GridCase.objects.select_for_update(of=("self",)).select_related("entity", "grid", "bureau", "assignee").get(pk=case.pk)


def _sync(target, source):
    for f in source._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    return target


def event_payload(case: GridCase, **extra) -> dict:
    return {
        "case_id": case.pk, "number": case.number, "trigger": case.trigger, "state": case.state,
        "credit_code": case.entity.credit_code if case.entity_id else "", "grid_id": case.grid_id,
        "assignee_id": case.assignee_id, "bureau_id": case.bureau_id, "step_due_on": case.step_due_on, **extra,
    }


def _snapshot(case) -> dict:
    return {"state": case.state, "grid_id": case.grid_id, "assignee_id": case.assignee_id, "step_due_on": case.step_due_on,
            "notice_number": case.notice_number, "route_target": case.route_target, "version": case.version}


def _move(case, *, actor, action, to_state, today, fields=None, comment="", keep_due=False, step=None, event_extra=None):
    """Move ``case`` (locked, fresh) to ``to_state``: set the new step's rule and due date, write
    the step, the trace entry and the event."""
    before = _snapshot(case)
    from_state = case.state
    for k, v in (fields or {}).items():
        setattr(case, k, v)
    case.state = to_state
    if to_state in OPEN_STATES:
        if step is not None:
            case.step_rule, case.step_started_on, case.step_due_on = step
        elif not keep_due:
            case.step_rule = STATE_RULES[to_state]
            case.step_started_on = today
            case.step_due_on = _due(case.step_rule, today)
    else:
        case.step_rule, case.step_started_on, case.step_due_on = "", None, None
        case.closed_at = timezone.now()
    case.version = F("version") + 1
    case.save()
    case.refresh_from_db()
    CaseStep.objects.create(case=case, action=action, from_state=from_state, to_state=to_state, actor=actor,
                            comment=(comment or "")[:500], due_on=case.step_due_on)
    trace.record(actor=actor, action=f"grid.case.{action}", obj=case, before=before, after=_snapshot(case))
    events.emit(f"grid.case_{action}", payload=event_payload(case, from_state=from_state, **(event_extra or {})),
                division_code=case.division_code, object_type=OBJECT_TYPE, object_id=str(case.pk))
    return case


def responsible_bureau(division_code: str, *, level: str | None = None):
    """The most specific bureau whose jurisdiction covers ``division_code`` (optionally of one level)."""
    best, best_len = None, -1
    qs = Bureau.objects.all()
    if level:
        qs = qs.filter(level=level)
    for b in qs.only("id", "jurisdiction", "level", "division_code", "name", "short_name"):
        for p in b.jurisdiction_prefixes():
            if division_code.startswith(p) and len(p) > best_len:
                best, best_len = b, len(p)
    return best


def grid_supervisor(grid):
    post = GridStaff.objects.filter(grid=grid, role=GridRole.SUPERVISOR).select_related("user").first()
    return post.user if post else None


# --- G1: the case ----------------------------------------------------------------------------------


@transaction.atomic
def case_open(*, actor, trigger, entity=None, clue=None, task=None, trigger_ref="", title="", auto_assign=False, today=None) -> GridCase:
    """A case arrives at the village (from the push of a registration / address / scope change, or a
    clue). Idempotent per (entity, trigger, trigger_ref): the existing case is returned."""
    today = _today(today)
    if trigger not in Trigger.values:
        raise ApplicationError(_("未知的触发类型：%(t)s") % {"t": trigger}, code="bad_trigger")
    if entity is None and clue is None:
        raise ApplicationError(_("网格事项须对应一个市场主体或一条线索"), code="no_subject")
    if entity is not None:
        existing = GridCase.objects.filter(entity=entity, trigger=trigger, trigger_ref=trigger_ref).first()
        if existing is not None:
            return existing
    division = entity.division_code if entity is not None else clue.division_code
    _need_scope(actor, division)
    if actor is not None:
        _need_role(actor, ASSIGNERS | REPORTERS, _("您没有登记网格事项的权限"))
    grid = (entity.grid if entity is not None and entity.grid_id else None) or (clue.grid if clue is not None else None)
    if grid is None and entity is not None:
        grid = placement.locate(entity.lng, entity.lat, entity.division_code)
    bureau = (task.bureau if task is not None and task.bureau_id else None) or responsible_bureau(division)
    label = entity.name if entity is not None else clue.place_name
    case = GridCase(
        title=(title or f"{Trigger(trigger).label}：{label}")[:200], trigger=trigger, trigger_ref=trigger_ref, entity=entity, clue=clue,
        task=task, place_name=label[:200], address=(entity.address if entity is not None else clue.address)[:300],
        industry_code=(entity.industry_code if entity is not None else clue.industry_code),
        lng=entity.lng if entity is not None else clue.lng, lat=entity.lat if entity is not None else clue.lat,
        division_code=division, grid=grid, bureau=bureau, received_on=today, state=CaseState.PENDING_ASSIGN,
        step_rule=STATE_RULES[CaseState.PENDING_ASSIGN], step_started_on=today,
        step_due_on=_due(STATE_RULES[CaseState.PENDING_ASSIGN], today),
    )
    case.save()
    case.number = f"WG{today.year}{division[:4]}{case.pk:07d}"
    case.save(update_fields=["number"])
    CaseStep.objects.create(case=case, action=CaseAction.OPEN, to_state=case.state, actor=actor, due_on=case.step_due_on,
                            comment=Trigger(trigger).label)
    trace.record(actor=actor, action="grid.case.open", obj=case, before=None, after=_snapshot(case))
    events.emit("grid.case_opened", payload=event_payload(case), division_code=case.division_code, object_type=OBJECT_TYPE,
                object_id=str(case.pk))
    if auto_assign and grid is not None and grid_supervisor(grid) is not None:
        case = case_assign(actor=None, case=case, grid=grid, today=today)
    return case


def case_open_for_task(*, task, trigger=Trigger.REGISTRATION, trigger_ref="", today=None) -> GridCase:
    """The hand-over from coordination (C1): the village's supervision task exists; open its grid case."""
    return case_open(actor=None, trigger=trigger, entity=task.entity, task=task, trigger_ref=trigger_ref or f"task:{task.pk}",
                     title=task.title, auto_assign=getattr(settings, "GRID_AUTO_ASSIGN", False), today=today)


@transaction.atomic
def cases_open_for_tasks(rows, *, auto_assign: bool | None = None) -> list[GridCase]:
    """``case_open_for_task`` for many village tasks at once: ``rows`` = [(task, trigger,
    trigger_ref, today)], tasks with ``entity`` (and its grid) and ``bureau`` loaded.

    Same cases as one by one — idempotent per (entity, trigger, trigger_ref), grid from the
    entity (else placed), bureau from the task (else the most specific one), the pending-assign
    step and its due date — written set-based: one query for existing cases, one ``bulk_create``
    of cases and of their steps, one UPDATE for their numbers, one ``grid.case_opened`` event per
    case, one trace entry for the batch (a batch of one is traced on its case, as ``case_open``
    does). Returns the cases it created."""
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
    bureaus = list(Bureau.objects.only("id", "jurisdiction", "level", "division_code", "name", "short_name"))
    best_bureau: dict[str, object] = {}

    def bureau_for(division):
        if division not in best_bureau:
            best, best_len = None, -1
            for b in bureaus:
                for p in b.jurisdiction_prefixes():
                    if division.startswith(p) and len(p) > best_len:
                        best, best_len = b, len(p)
            best_bureau[division] = best
        return best_bureau[division]

    placed: dict[tuple, object] = {}
    dues: dict[dt.date, dt.date] = {}
    rule = STATE_RULES[CaseState.PENDING_ASSIGN]
    cases = []
    for task, trigger, trigger_ref, today in rows:
        if trigger not in Trigger.values:
            raise ApplicationError(_("未知的触发类型：%(t)s") % {"t": trigger}, code="bad_trigger")
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
        if today not in dues:
            dues[today] = _due(rule, today)
        division = entity.division_code
        cases.append(GridCase(
            title=(task.title or f"{Trigger(trigger).label}：{entity.name}")[:200], trigger=trigger, trigger_ref=trigger_ref,
            entity=entity, task=task, place_name=entity.name[:200], address=(entity.address or "")[:300],
            industry_code=entity.industry_code, lng=entity.lng, lat=entity.lat, division_code=division, grid=grid,
            bureau=(task.bureau if task.bureau_id else None) or bureau_for(division), received_on=today,
            state=CaseState.PENDING_ASSIGN, step_rule=rule, step_started_on=today, step_due_on=dues[today],
        ))
    if not cases:
        return []
    # Ids come first (events.bulk_insert), so the numbers WG<year><city><id> are written with the rows.
    from zhijian.core.events import _allocate_ids
    from django.db import connection

    for c, pk in zip(cases, _allocate_ids(GridCase, len(cases), connection)):
        c.pk = pk
        c.number = f"WG{c.received_on.year}{c.division_code[:4]}{pk:07d}"
    events.bulk_insert(GridCase, cases)
    labels = {t: str(Trigger(t).label) for t in {c.trigger for c in cases}}
    events.insert_values(CaseStep, ["case_id", "action", "to_state", "actor_id", "due_on", "comment"],
                         [[c.pk, CaseAction.OPEN, c.state, None, c.step_due_on, labels[c.trigger]] for c in cases])
    if len(cases) == 1:
        trace.record(actor=None, action="grid.case.open", obj=cases[0], before=None, after=_snapshot(cases[0]))
    else:
        codes = [c.division_code for c in cases]
        lo, hi = min(codes), max(codes)
        n = 0
        while n < min(len(lo), len(hi)) and lo[n] == hi[n]:
            n += 1
        trace.record(actor=None, action="grid.case.open_many", object_type="grid.casebatch",
                     object_id=f"{cases[0].number}..{cases[-1].number}", division_code=lo[:n],
                     after={"count": len(cases), "cases": [[c.pk, c.number, c.task_id, c.state, str(c.step_due_on)] for c in cases]})
    events.emit_rows([("grid.case_opened", event_payload(c), c.division_code, OBJECT_TYPE, str(c.pk)) for c in cases])
    if auto_assign is None:
        auto_assign = getattr(settings, "GRID_AUTO_ASSIGN", False)
    if auto_assign:
        # Rare (a setting); one case at a time, in the order of their trace chains.
        for c in sorted(cases, key=lambda c: trace.chain_for(c.division_code, OBJECT_TYPE, str(c.pk))):
            if c.grid is not None and grid_supervisor(c.grid) is not None:
                case_assign(actor=None, case=c, grid=c.grid, today=c.received_on)
    return cases


@transaction.atomic
def case_assign(*, actor, case, grid=None, assignee=None, today=None) -> GridCase:
    """分派网格: to a grid and its supervisor (GridStaff) unless a person is named. The first-visit
    limit runs from the day the village received the case; re-assigning keeps it."""
    today = _today(today)
    current = _fresh(case)
    _guard(CaseAction.ASSIGN, current, actor)
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
    keep = current.state == CaseState.FIRST_VISIT
    rule = STATE_RULES[CaseState.FIRST_VISIT]
    step = None if keep else (rule, current.received_on, _due(rule, current.received_on))
    moved = _move(current, actor=actor, action=CaseAction.ASSIGN, to_state=CaseState.FIRST_VISIT, today=today, keep_due=keep, step=step,
                  fields={"grid": grid, "assignee": assignee, "bureau": current.bureau or assignee.bureau},
                  comment=f"{grid.name} · {assignee}")
    return _sync(case, moved)


def _clean_items(items: dict, *, required: list[str]) -> dict[str, tuple[str, str]]:
    out = {}
    for matter, value in (items or {}).items():
        if matter not in Matter.values:
            raise ApplicationError(_("未知的检查事项：%(m)s") % {"m": matter}, code="bad_matter")
        result, note = (value, "") if isinstance(value, str) else (value[0], value[1] if len(value) > 1 else "")
        if result not in ItemResult.values:
            raise ApplicationError(_("“%(m)s”的结果无效") % {"m": Matter(matter).label}, code="bad_result")
        if result == ItemResult.PROBLEM and not (note or "").strip():
            raise ApplicationError(_("“%(m)s”发现问题，请写明问题") % {"m": Matter(matter).label}, code="note_required")
        out[matter] = (result, (note or "").strip()[:500])
    missing = [str(Matter(m).label) for m in required if m not in out]
    if missing:
        raise ApplicationError(_("请逐项填写检查结果，尚缺：%(m)s") % {"m": "、".join(missing)}, code="items_missing",
                               extra={"missing": missing})
    return out


def _record_visit(case, *, kind, actor, today, items, note, lng, lat, problem_found, resolved):
    visit = Visit.objects.create(case=case, kind=kind, officer=actor, visited_on=today, lng=lng, lat=lat, problem_found=problem_found,
                                 resolved=resolved, note=(note or "")[:1000])
    VisitItem.objects.bulk_create([VisitItem(visit=visit, matter=m, result=r, note=n)
                                   for m, (r, n) in sorted(items.items(), key=lambda kv: MATTER_ORDER.index(kv[0]))])
    return visit


def _position(lng, lat, system):
    if lng is None or lat is None:
        return None, None
    try:
        lng, lat = float(lng), float(lat)
    except (TypeError, ValueError):
        raise ApplicationError(_("位置坐标无效"), code="bad_position") from None
    if not (-180 <= lng <= 180 and -90 <= lat <= 90) or math.isnan(lng) or math.isnan(lat):
        raise ApplicationError(_("位置坐标无效"), code="bad_position")
    return coords.to_gcj02(lng, lat, system) if system != "gcj02" else (lng, lat)


@transaction.atomic
def visit_first(*, actor, case, items: dict, note="", lng=None, lat=None, system="wgs84", notice_deadline=None, today=None) -> GridCase:
    """首次走访 with the 4+2 matters, each with result and note. Problems found: a 书面告知书 with a
    rectification deadline is issued and the case waits for the re-check (its own limit)."""
    today = _today(today)
    current = _fresh(case)
    _guard(CaseAction.FIRST_VISIT, current, actor)
    items = _clean_items(items, required=MATTER_ORDER)
    problems = [m for m, (r, _n) in items.items() if r == ItemResult.PROBLEM]
    lng, lat = _position(lng, lat, system)
    _record_visit(current, kind=VisitKind.FIRST, actor=actor, today=today, items=items, note=note, lng=lng, lat=lat,
                  problem_found=bool(problems), resolved=not problems)
    late = today > current.step_due_on if current.step_due_on else False
    if not problems:
        moved = _move(current, actor=actor, action=CaseAction.FIRST_VISIT, to_state=CaseState.CLOSED, today=today,
                      fields={"resolution": _("首次走访未发现问题")}, comment=note, event_extra={"late": late, "problems": []})
        return _sync(case, moved)
    longest = _due(RECTIFY_RULE, today)
    deadline = notice_deadline or longest
    if deadline <= today:
        raise ApplicationError(_("整改期限须晚于走访当日"), code="bad_deadline")
    if deadline > longest:
        raise ApplicationError(_("整改期限不能晚于 %(d)s（规则 %(rule)s）") % {"d": longest.isoformat(), "rule": RECTIFY_RULE}, code="bad_deadline")
    rule = STATE_RULES[CaseState.RECTIFYING]
    moved = _move(current, actor=actor, action=CaseAction.FIRST_VISIT, to_state=CaseState.RECTIFYING, today=today,
                  step=(rule, deadline, _due(rule, deadline)),
                  fields={"notice_deadline": deadline}, comment=note, event_extra={"late": late, "problems": problems})
    _issue_notice(moved, actor=actor, today=today, problems=problems, items=items)
    return _sync(case, moved)


def _notice_number(bureau, year) -> str:
    if bureau is None:
        raise ApplicationError(_("事项没有责任机构，无法编号书面告知书"), code="no_bureau")
    counter, _created = NoticeCounter.objects.get_or_create(bureau=bureau, year=year)
    counter = NoticeCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{bureau.short_name or bureau.name}网告〔{year}〕{counter.last}号"


def render_notice(case, *, items, problems, number, today) -> bytes:
    """书面告知书 as an A4 PDF (WeasyPrint, Noto CJK): the inspections app's renderer when present."""
    html = render_to_string("grid/pdf/notice.html", {
        "case": case, "number": number, "today": today, "problems": [(Matter(m).label, items[m][1]) for m in problems],
        "font_family": "Noto Sans CJK SC", "deadline": case.notice_deadline,
    })
    try:
        from zhijian.inspections.documents import html_to_pdf
    except ImportError:  # pragma: no cover - the inspections app is part of the product
        from weasyprint import HTML

        return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
    return html_to_pdf(html)


def _issue_notice(case, *, actor, today, problems, items):
    from zhijian.security.uploads import check_upload, store_upload

    number = _notice_number(case.bureau, today.year)
    pdf = render_notice(case, items=items, problems=problems, number=number, today=today)
    buf = io.BytesIO(pdf)
    buf.name = f"{case.number}-notice.pdf"
    stored = store_upload(check_upload(buf, kinds=["pdf"]), uploaded_by=actor, purpose="grid_notice")
    GridCase.objects.filter(pk=case.pk).update(notice_number=number, notice_pdf=stored)
    case.notice_number, case.notice_pdf = number, stored
    CaseStep.objects.create(case=case, action=CaseAction.NOTICE, from_state=case.state, to_state=case.state, actor=actor,
                            comment=_("%(n)s，整改期限 %(d)s") % {"n": number, "d": case.notice_deadline.isoformat()}, due_on=case.step_due_on)
    trace.record(actor=actor, action="grid.case.notice", obj=case, before=None,
                 after={"notice_number": number, "deadline": case.notice_deadline, "pdf_sha256": stored.sha256}, sign=True)
    events.emit("grid.case_notice", payload=event_payload(case, notice_number=number, notice_deadline=case.notice_deadline, problems=problems),
                division_code=case.division_code, object_type=OBJECT_TYPE, object_id=str(case.pk))


def open_problems(case) -> list[str]:
    """The matters still found wrong at the latest visit."""
    visit = case.visits.order_by("-at", "-id").first()
    if visit is None:
        return []
    return [i.matter for i in visit.items.all() if i.result == ItemResult.PROBLEM]


@transaction.atomic
def recheck(*, actor, case, items: dict, note="", lng=None, lat=None, system="wgs84", today=None) -> GridCase:
    """复查 the matters the notice named (within ``grid.recheck`` after the rectification deadline).
    All fixed: closed (also before the deadline). Still wrong — only once the deadline has passed:
    village joint handling with its own limit."""
    today = _today(today)
    current = _fresh(case)
    _guard(CaseAction.RECHECK, current, actor)
    wanted = open_problems(current)
    items = _clean_items(items, required=wanted)
    remaining = [m for m, (r, _n) in items.items() if r == ItemResult.PROBLEM]
    if remaining and current.notice_deadline and today <= current.notice_deadline:
        raise ApplicationError(_("整改期限（%(d)s）尚未届满，不能认定逾期未整改；请在期限届满后复查") % {"d": current.notice_deadline.isoformat()},
                               code="deadline_not_reached")
    lng, lat = _position(lng, lat, system)
    _record_visit(current, kind=VisitKind.RECHECK, actor=actor, today=today, items=items, note=note, lng=lng, lat=lat,
                  problem_found=bool(remaining), resolved=not remaining)
    if not remaining:
        moved = _move(current, actor=actor, action=CaseAction.RECHECK, to_state=CaseState.CLOSED, today=today,
                      fields={"resolution": _("复查已整改")}, comment=note)
    else:
        moved = _move(current, actor=actor, action=CaseAction.RECHECK, to_state=CaseState.JOINT, today=today, comment=note,
                      event_extra={"problems": remaining})
    return _sync(case, moved)


@transaction.atomic
def joint_handle(*, actor, case, resolved: bool, note="", today=None) -> GridCase:
    """村（社区）联合处置 result. Resolved: closed. Not: routed by rule (``route_for``)."""
    today = _today(today)
    current = _fresh(case)
    _guard(CaseAction.JOINT, current, actor)
    if not (note or "").strip():
        raise ApplicationError(_("请填写联合处置情况"), code="note_required")
    problems = open_problems(current)
    items = {m: (ItemResult.OK if resolved else ItemResult.PROBLEM, note.strip()[:500]) for m in problems}
    _record_visit(current, kind=VisitKind.JOINT, actor=actor, today=today, items=items, note=note, lng=None, lat=None,
                  problem_found=not resolved, resolved=resolved)
    if resolved:
        moved = _move(current, actor=actor, action=CaseAction.JOINT, to_state=CaseState.CLOSED, today=today,
                      fields={"resolution": _("村（社区）联合处置已解决")}, comment=note)
        return _sync(case, moved)
    route = route_for(current, problems)
    if route.target == RouteTarget.DEPARTMENT and route.department is None:
        raise ApplicationError(_("分流规则“%(rule)s”指向的许可部门（%(code)s）在本辖区不存在，请管理员配置协同部门") % {
            "rule": route.rule.name, "code": route.rule.department_code}, code="no_department")
    if route.target == RouteTarget.MARKET_REGULATOR and route.bureau is None:
        raise ApplicationError(_("找不到覆盖该区划的区县市场监管局"), code="no_bureau")
    moved = _move(current, actor=actor, action=CaseAction.ROUTE, to_state=CaseState.ROUTED, today=today, comment=note,
                  fields={"route_target": route.target, "routed_bureau": route.bureau, "routed_department": route.department,
                          "routing_rule": route.rule, "resolution": route.describe()},
                  event_extra={"route_target": route.target, "routed_bureau_id": route.bureau.pk if route.bureau else None,
                               "routed_department": route.department.code if route.department else "", "rule_id": route.rule.pk if route.rule else None,
                               "problems": problems})
    return _sync(case, moved)


@transaction.atomic
def case_cancel(*, actor, case, reason: str, today=None) -> GridCase:
    today = _today(today)
    current = _fresh(case)
    _guard(CaseAction.CANCEL, current, actor)
    if not (reason or "").strip():
        raise ApplicationError(_("请填写撤销原因"), code="reason_required")
    return _sync(case, _move(current, actor=actor, action=CaseAction.CANCEL, to_state=CaseState.CANCELLED, today=today,
                             fields={"resolution": reason.strip()[:500]}, comment=reason))


# --- routing (谁许可，谁监管) ---------------------------------------------------------------------


@dataclass
class Route:
    target: str
    rule: RoutingRule | None
    bureau: Bureau | None = None
    department: Department | None = None

    def describe(self) -> str:
        to = self.department.name if self.department else (self.bureau.name if self.bureau else "")
        rule = self.rule.name if self.rule else _("默认规则")
        return _("联合处置未解决，按“%(rule)s”移交%(to)s") % {"rule": rule, "to": to}


def _rule_matches(rule: RoutingRule, matters: list[str], industry: str, text: str) -> bool:
    if rule.matter not in matters:
        return False
    prefixes = rule.industry_list()
    if prefixes and not any(industry.startswith(p) for p in prefixes):
        return False
    words = rule.keyword_list()
    return not words or any(w in text for w in words)


def _department_for(code: str, division_code: str):
    best, best_len = None, -1
    for d in Department.objects.filter(code__startswith=code):
        if d.code != code and not d.code.startswith(code + "-"):
            continue
        for p in d.jurisdiction_prefixes():
            if division_code.startswith(p) and len(p) > best_len:
                best, best_len = d, len(p)
    return best


def route_for(case, matters: list[str] | None = None) -> Route:
    """Where an unresolved case goes: the first matching ``RoutingRule`` (licensed trades to their
    licensing department, address and ordinary unlicensed cases to the county market regulator);
    with no rule matching, the county market regulator."""
    matters = matters if matters is not None else open_problems(case)
    industry = case.industry_code or (case.entity.industry_code if case.entity_id else "")
    text = " ".join(filter(None, [case.entity.business_scope if case.entity_id else "", case.place_name,
                                  case.clue.description if case.clue_id else ""]))
    rule = next((r for r in RoutingRule.objects.filter(active=True).order_by("priority", "id") if _rule_matches(r, matters, industry, text)), None)
    if rule is not None and rule.target == RouteTarget.DEPARTMENT:
        return Route(RouteTarget.DEPARTMENT, rule, department=_department_for(rule.department_code, case.division_code))
    county = responsible_bureau(case.division_code, level=BureauLevel.COUNTY) or responsible_bureau(case.division_code, level=BureauLevel.CITY)
    return Route(RouteTarget.MARKET_REGULATOR, rule, bureau=county)


# --- the case's end: its village task, and the routed case's work (grid → supervision, C4) ---------
#
# Run by the in-process handlers in ``handlers.py`` on the committed ``grid.case_*`` events, one
# handler per effect, each in its own transaction with its exactly-once marker: the officer's step
# never waits on (or fails with) another app's rules, and each transaction takes at most one
# counter and then one trace chain head (the lock order of docs/events.md). Both are idempotent
# on their own too (a replayed event or a second call finds the work done and does nothing).

VILLAGE_TASK_LINE = "grid_first_visit"  # zhijian.coordination.services.VILLAGE_BUSINESS_LINE
CASE_RECORD_KIND = "grid_case"  # the record that proves a village task (registered in apps.GridConfig.ready)
# Events of the moves that can end a case.
ENDING_EVENTS = {f"grid.case_{a}" for a in (CaseAction.FIRST_VISIT, CaseAction.RECHECK, CaseAction.JOINT, CaseAction.ROUTE,
                                             CaseAction.CANCEL)}
# The county bureau verifies a routed case as a clue of an offence: 15 working days to decide.
REFERRAL_RULE = "penalty.clue_verify"
# Business line of the county bureau's task, by the first unresolved matter.
REFERRAL_LINES = {
    Matter.UNLICENSED: "unlicensed_operation", Matter.LICENCE: "unlicensed_operation",
    Matter.ADDRESS: "registration_address", Matter.OPERATING: "registration_address",
    Matter.ANNUAL_REPORT: "annual_report", Matter.DISPLAY: "licence_display",
}


def _case_for_work(case_id):
    return (GridCase.objects.select_related("entity", "clue", "task", "task__entity", "task__bureau", "assignee", "assignee__bureau",
                                            "bureau", "routed_bureau", "routed_department", "routing_rule")
            .filter(pk=case_id).first())


@transaction.atomic
def finish_village_task(*, case):
    """End the village's supervision task of an ended case through the task loop's own services
    (system steps, ``actor=None``): a closed or routed case is linked to the task as its record
    (kind ``grid_case``, final) and the task goes 派发 (to the case's officer) → 受领 → 开始执行 →
    提交审核 → 审核通过 → 已归档 from wherever it stands; a cancelled case cancels it (已撤销).
    Only tasks of the village line; a task already archived or cancelled is left alone.
    Returns the task, or None when there was nothing to do."""
    from zhijian.supervision import services as sv
    from zhijian.supervision.choices import TaskState

    task = case.task
    if case.state not in FINAL_STATES or task is None or task.business_line != VILLAGE_TASK_LINE or not task.is_open:
        return None
    comment = _("网格事项 %(number)s %(state)s：%(resolution)s") % {
        "number": case.number, "state": case.get_state_display(), "resolution": case.resolution or "—"}
    if case.state == CaseState.CANCELLED:
        return sv.task_cancel(actor=None, task=task, reason=comment)
    sv.task_link_record(task=task, kind=CASE_RECORD_KIND, record_id=case.pk, signed=True)
    if task.state == TaskState.REGISTERED:
        dispatched = False
        if case.assignee_id:
            try:
                sv.task_dispatch(actor=None, task=task, assignee=case.assignee)
                dispatched = True
            except ApplicationError:  # the officer's unit does not cover the place: to the case's unit
                pass
        if not dispatched:
            sv.task_dispatch(actor=None, task=task, bureau=case.bureau or responsible_bureau(case.division_code))
    if task.state == TaskState.DISPATCHED:
        sv.task_accept(actor=None, task=task)
    if task.state == TaskState.ACCEPTED:
        sv.task_start(actor=None, task=task)
    if task.state == TaskState.EXECUTING:
        sv.task_submit(actor=None, task=task)
    if task.state == TaskState.REVIEW:
        sv.task_review(actor=None, task=task, approve=True, comment=comment)
    if task.state == TaskState.APPROVED:
        sv.task_archive(actor=None, task=task)
    return task


def _referral_facts(case):
    """(unresolved matters, text) of a routed case: what the department or bureau is handed."""
    visits = list(case.visits.prefetch_related("items").order_by("at", "id"))
    joint = next((v for v in reversed(visits) if v.kind == VisitKind.JOINT), None)
    matters = open_problems(case)
    notes: dict[str, list[str]] = {m: [] for m in matters}
    for visit in visits:  # what the first visit found and the re-check still found, oldest first
        if visit.kind == VisitKind.JOINT:
            continue
        for item in visit.items.all():
            if item.matter in notes and item.result == ItemResult.PROBLEM and item.note and item.note not in notes[item.matter]:
                notes[item.matter].append(item.note)
    problems = [f"{Matter(m).label}（{'；'.join(notes[m])}）" if notes[m] else str(Matter(m).label) for m in matters]
    # The case number opens the text: it names the case and is the referral's idempotency key.
    text = case.number + " " + _("网格事项：%(label)s（%(address)s）。未解决事项：%(problems)s。村（社区）联合处置情况：%(note)s。%(resolution)s") % {
        "label": case.label, "address": case.address or "—", "problems": "、".join(problems) or "—",
        "note": (joint.note if joint is not None else "") or "—", "resolution": case.resolution}
    return matters, text


def _note_referral(case, *, comment, extra):
    """The referral on the case's timeline (no state change) and as an event for subscribers."""
    CaseStep.objects.create(case=case, action=CaseAction.ROUTE, from_state=case.state, to_state=case.state, actor=None,
                            comment=comment[:500])
    events.emit("grid.case_referred", payload=event_payload(case, **extra), division_code=case.division_code,
                object_type=OBJECT_TYPE, object_id=str(case.pk))


@transaction.atomic
def route_work(*, case):
    """Put a routed case into the work queue of whoever it was routed to (谁许可，谁监管):

    * a licensing department: a C4 clue (``coordination.clue_record``, the case's number,
      unresolved matters and joint-handling note as its text, with entity, division, place and
      position), assigned to that department (``clue_assign``): it is in the department's clue
      list and the department reports back there;
    * the county market regulator: a supervision task (source 线索) dispatched to that bureau,
      due by ``penalty.clue_verify`` counted from the day of the routing, ``source_ref``
      ``grid:case:<id>``.

    Idempotent: the clue or the task with the case's ``source_ref`` (``grid:case:<id>``) that
    already exists is returned. The clue or task number goes on the case's timeline and into a
    ``grid.case_referred`` event."""
    if case.state != CaseState.ROUTED:
        return None
    matters, text = _referral_facts(case)
    if case.route_target == RouteTarget.DEPARTMENT and case.routed_department_id:
        from zhijian.coordination import services as coordination
        from zhijian.coordination.models import Clue as TransferClue

        ref = f"grid:case:{case.pk}"
        existing = TransferClue.objects.filter(source_ref=ref, division_code=case.division_code).first()
        if existing is not None:
            return existing
        department = case.routed_department
        clue = coordination.clue_record(actor=None, text=text, division_code=case.division_code, entity=case.entity,
                                        place="，".join(filter(None, [case.place_name, case.address]))[:300], lng=case.lng, lat=case.lat,
                                        source_ref=ref)
        clue = coordination.clue_assign(actor=None, clue=clue, department=department,
                                        comment=_("网格事项 %(number)s 分流移交%(to)s") % {"number": case.number, "to": department.name})
        _note_referral(case, comment=_("已转为线索 %(clue)s，移交%(to)s") % {"clue": clue.number, "to": department.name},
                       extra={"clue_id": clue.pk, "clue_number": clue.number, "routed_department": department.code})
        return clue
    if case.route_target == RouteTarget.MARKET_REGULATOR and case.routed_bureau_id:
        from zhijian.supervision import services as sv
        from zhijian.supervision.choices import TaskSource
        from zhijian.supervision.models import Task

        ref = f"grid:case:{case.pk}"
        existing = Task.objects.filter(source_ref=ref, division_code=case.division_code).first()
        if existing is not None:
            return existing
        joint = case.visits.filter(kind=VisitKind.JOINT).order_by("-at", "-id").first()
        routed_on = joint.visited_on if joint is not None else timezone.localdate(case.closed_at or timezone.now())
        bureau = case.routed_bureau
        task = sv.task_create(
            actor=None, entity=case.entity, division_code=case.division_code, source=TaskSource.CLUE, source_ref=ref,
            title=_("网格移交：%(number)s %(label)s") % {"number": case.number, "label": case.label},
            business_line=next((REFERRAL_LINES[m] for m in matters if m in REFERRAL_LINES), "grid_referral"),
            deadline_rule=REFERRAL_RULE, due_on=_due(REFERRAL_RULE, routed_on), bureau=bureau, description=text,
        )
        _note_referral(case, comment=_("已生成监管任务 %(task)s，移交%(to)s") % {"task": task.number, "to": bureau.name},
                       extra={"task_id": task.pk, "task_number": task.number, "routed_bureau_id": bureau.pk})
        return task
    return None


@transaction.atomic
def referral_feedback(*, clue_id: int, reported: bool, comment: str) -> CaseStep | None:
    """The licensing department's answer on the clue a routed case became — its report, or the
    clue sent back — on the case's timeline (no state change) and as a ``grid.case_feedback``
    event, so the village and town see how the case they could not solve was handled."""
    from zhijian.coordination.models import Clue as TransferClue

    clue = TransferClue.objects.select_related("department").filter(pk=clue_id).first()
    if clue is None:
        return None
    ref = re.fullmatch(r"grid:case:(\d+)", clue.source_ref or "")
    case = (GridCase.objects.filter(pk=int(ref.group(1)), division_code=clue.division_code, state=CaseState.ROUTED).first()
            if ref else None)
    if case is None:
        return None
    who = clue.department.name if clue.department_id else ""
    text = (_("%(dept)s反馈（线索 %(clue)s）：%(text)s") if reported else _("%(dept)s退回线索 %(clue)s：%(text)s")) % {
        "dept": who, "clue": clue.number, "text": comment}
    step = CaseStep.objects.create(case=case, action=CaseAction.ROUTE, from_state=case.state, to_state=case.state, actor=None,
                                   comment=text[:500])
    events.emit("grid.case_feedback", payload=event_payload(case, clue_id=clue.pk, clue_number=clue.number, reported=reported,
                                                            comment=comment[:500]),
                division_code=case.division_code, object_type=OBJECT_TYPE, object_id=str(case.pk))
    return step


# --- G2/G4: clues from the phone -------------------------------------------------------------------


@transaction.atomic
def clue_report(*, actor, place_name, lng, lat, system="wgs84", kind=ClueKind.UNLICENSED, address="", description="", photo=None,
                accuracy=None, industry_code="", today=None) -> Clue:
    """An unlicensed-operation clue from the phone: photo and position (WGS-84 from the browser,
    stored as GCJ-02), placed in a grid by point-in-polygon even when the place is not registered.
    Opens the grid case at once."""
    from zhijian.security.uploads import check_upload, store_upload

    _need_role(actor, REPORTERS, _("只有网格监管员、协管员和信息员可以报告线索"))
    if not (place_name or "").strip():
        raise ApplicationError(_("请填写场所名称或招牌"), code="no_name")
    if kind not in ClueKind.values:
        raise ApplicationError(_("线索类型无效"), code="bad_kind")
    if lng in (None, "") or lat in (None, ""):
        raise ApplicationError(_("没有取得位置，请允许浏览器定位后重试"), code="no_position")
    raw_lng, raw_lat = float(lng), float(lat)
    glng, glat = _position(raw_lng, raw_lat, system)
    grid = placement.locate(glng, glat, None)
    if grid is None:
        raise ApplicationError(_("该位置不在任何网格内，请确认定位"), code="outside_grids")
    if not in_jurisdiction(actor, grid.division_code):
        raise ApplicationError(_("该位置（%(grid)s）不在您的辖区内") % {"grid": grid.name}, code="outside_jurisdiction")
    stored = None
    if photo is not None:
        stored = store_upload(check_upload(photo, kinds=["image"]), uploaded_by=actor, purpose="grid_clue")
    clue = Clue.objects.create(
        kind=kind, place_name=place_name.strip()[:200], address=(address or "").strip()[:300], description=(description or "").strip(),
        industry_code=(industry_code or "").strip()[:5], reporter=actor, photo=stored, lng=glng, lat=glat,
        raw_lng=raw_lng if system == "wgs84" else None, raw_lat=raw_lat if system == "wgs84" else None,
        accuracy_m=float(accuracy) if accuracy not in (None, "") else None, grid=grid, division_code=grid.division_code,
    )
    trace.record(actor=actor, action="grid.clue.report", obj=clue, before=None,
                 after={"kind": kind, "grid_id": grid.pk, "lng": glng, "lat": glat, "photo": stored.sha256 if stored else ""})
    events.emit("grid.clue_reported", payload={"clue_id": clue.pk, "kind": kind, "grid_id": grid.pk, "lng": glng, "lat": glat},
                division_code=clue.division_code, object_type="grid.clue", object_id=str(clue.pk))
    case_open(actor=None, trigger=Trigger.CLUE, clue=clue, trigger_ref=f"clue:{clue.pk}", today=today)
    Clue.objects.filter(pk=clue.pk).update(state=ClueState.CASE_OPENED)
    clue.state = ClueState.CASE_OPENED
    return clue


# --- G3: duty, positions, emergency orders ---------------------------------------------------------


def position_min_interval() -> int:
    return int(getattr(settings, "GRID_POSITION_MIN_INTERVAL", 30))


def position_max_age() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "GRID_POSITION_MAX_AGE_MIN", 10)))


@transaction.atomic
def duty_start(*, actor, consent: bool) -> DutyStatus:
    """上岗. Sharing the position needs the officer's explicit consent, given here each time."""
    _need_role(actor, DUTY_ROLES, _("只有网格人员可以上岗打卡"))
    if not consent:
        raise ApplicationError(_("上岗期间需要共享位置：请勾选同意后再上岗"), code="consent_required")
    now = timezone.now()
    status, _c = DutyStatus.objects.select_for_update().get_or_create(user=actor, defaults={"division_code": actor.scope_division or ""})
    status.on_duty, status.consent_at, status.since = True, now, now
    status.lng = status.lat = status.accuracy_m = status.reported_at = None
    status.division_code = actor.scope_division or status.division_code
    status.save()
    trace.record(actor=actor, action="grid.duty.start", obj=status, before=None, after={"consent_at": now})
    events.emit("grid.duty_started", payload={"user_id": actor.pk}, division_code=status.division_code, object_type="grid.dutystatus",
                object_id=str(status.pk))
    return status


@transaction.atomic
def duty_end(*, actor) -> DutyStatus | None:
    """下岗: consent ends and the last position is erased."""
    status = DutyStatus.objects.select_for_update().filter(user=actor).first()
    if status is None or not status.on_duty:
        return status
    status.on_duty, status.consent_at = False, None
    status.lng = status.lat = status.accuracy_m = status.reported_at = None
    status.save()
    trace.record(actor=actor, action="grid.duty.end", obj=status, before=None, after={"on_duty": False})
    events.emit("grid.duty_ended", payload={"user_id": actor.pk}, division_code=status.division_code, object_type="grid.dutystatus",
                object_id=str(status.pk))
    return status


def position_report(*, actor, lng, lat, accuracy=None, system="wgs84", now=None) -> DutyStatus:
    """The phone reports where the on-duty officer is. At most one report per
    ``GRID_POSITION_MIN_INTERVAL`` seconds per officer (one conditional UPDATE: two racing reports
    cannot both pass). Only the latest position is kept; positions are not business facts, so no
    trace entry or event is written for them (duty start and end are)."""
    now = now or timezone.now()
    glng, glat = _position(lng, lat, system)
    if glng is None:
        raise ApplicationError(_("位置坐标无效"), code="bad_position")
    status = DutyStatus.objects.filter(user=actor).first()
    if status is None or not status.on_duty or status.consent_at is None:
        raise ApplicationError(_("您未上岗或未同意共享位置，位置未上报"), code="not_on_duty", extra={"status": 403})
    interval = dt.timedelta(seconds=position_min_interval())
    from django.db.models import Q

    grid = placement.locate(glng, glat, None)
    updated = DutyStatus.objects.filter(pk=status.pk, on_duty=True).filter(
        Q(reported_at__isnull=True) | Q(reported_at__lte=now - interval)
    ).update(lng=glng, lat=glat, accuracy_m=float(accuracy) if accuracy not in (None, "") else None, reported_at=now,
             division_code=grid.division_code if grid is not None else (actor.scope_division or status.division_code))
    if not updated:
        status.refresh_from_db()
        wait = position_min_interval() - int((now - status.reported_at).total_seconds()) if status.reported_at else position_min_interval()
        raise RateLimited(_("位置上报过于频繁，请 %(s)s 秒后再报") % {"s": max(wait, 1)}, retry_after=max(wait, 1))
    status.refresh_from_db()
    return status


def live_positions(user, *, now=None):
    """On-duty officers with a fresh position inside ``user``'s jurisdiction."""
    now = now or timezone.now()
    return (DutyStatus.objects.scoped(user).filter(on_duty=True, consent_at__isnull=False, reported_at__gte=now - position_max_age())
            .select_related("user"))


def haversine_m(lng1, lat1, lng2, lat2) -> float:
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def nearest_on_duty(user, *, lng, lat, n, now=None) -> list[tuple[DutyStatus, float]]:
    """The ``n`` nearest on-duty officers (fresh positions, GCJ-02, haversine), nearest first; ties by id."""
    ranked = sorted(((s, haversine_m(lng, lat, s.lng, s.lat)) for s in live_positions(user, now=now)), key=lambda x: (x[1], x[0].user_id))
    return ranked[:n]


@transaction.atomic
def order_issue(*, actor, title, lng, lat, wanted=3, message="", now=None) -> EmergencyOrder:
    """应急指令 to the ``wanted`` nearest on-duty officers."""
    _need_role(actor, COMMANDERS, _("只有调度员或领导可以下达应急指令"))
    if not (title or "").strip():
        raise ApplicationError(_("请填写指令内容"), code="no_title")
    try:
        wanted = int(wanted)
    except (TypeError, ValueError):
        wanted = 0
    if not 1 <= wanted <= 50:
        raise ApplicationError(_("派出人数须在 1 到 50 之间"), code="bad_count")
    lng, lat = _position(lng, lat, "gcj02")
    if lng is None:
        raise ApplicationError(_("请在地图上选择事发位置"), code="no_position")
    grid = placement.locate(lng, lat, None)
    division = grid.division_code if grid is not None else (actor.scope_division or "")
    _need_scope(actor, division)
    chosen = nearest_on_duty(actor, lng=lng, lat=lat, n=wanted, now=now)
    if not chosen:
        raise ApplicationError(_("当前没有在岗并共享位置的人员"), code="nobody_on_duty")
    order = EmergencyOrder.objects.create(title=title.strip()[:200], message=(message or "").strip()[:1000], lng=lng, lat=lat, wanted=wanted,
                                          issued_by=actor, division_code=division)
    OrderRecipient.objects.bulk_create([OrderRecipient(order=order, officer=s.user, rank=i + 1, distance_m=round(d, 1))
                                        for i, (s, d) in enumerate(chosen)])
    trace.record(actor=actor, action="grid.order.issue", obj=order, before=None,
                 after={"title": order.title, "recipients": [s.user_id for s, _d in chosen]})
    events.emit("grid.order_issued", payload={"order_id": order.pk, "recipients": [s.user_id for s, _d in chosen], "lng": lng, "lat": lat},
                division_code=division, object_type="grid.emergencyorder", object_id=str(order.pk))
    return order


@transaction.atomic
def order_acknowledge(*, actor, order) -> OrderRecipient:
    row = OrderRecipient.objects.select_for_update().filter(order=order, officer=actor).first()
    if row is None:
        raise OutOfScope()
    if order.state != OrderState.OPEN:
        raise ApplicationError(_("指令已结束"), code="order_closed")
    if row.acknowledged_at is None:
        row.acknowledged_at = timezone.now()
        row.save(update_fields=["acknowledged_at"])
        trace.record(actor=actor, action="grid.order.acknowledge", obj=order, before=None, after={"officer_id": actor.pk})
        events.emit("grid.order_acknowledged", payload={"order_id": order.pk, "officer_id": actor.pk}, division_code=order.division_code,
                    object_type="grid.emergencyorder", object_id=str(order.pk))
    return row


@transaction.atomic
def order_close(*, actor, order) -> EmergencyOrder:
    _need_role(actor, COMMANDERS, _("只有调度员或领导可以结束应急指令"))
    _need_scope(actor, order.division_code)
    if order.state == OrderState.OPEN:
        EmergencyOrder.objects.filter(pk=order.pk).update(state=OrderState.CLOSED)
        order.state = OrderState.CLOSED
        trace.record(actor=actor, action="grid.order.close", obj=order, before={"state": "open"}, after={"state": "closed"})
        events.emit("grid.order_closed", payload={"order_id": order.pk}, division_code=order.division_code, object_type="grid.emergencyorder",
                    object_id=str(order.pk))
    return order
