"""Routing (谁许可，谁监管): where an unresolved case goes, the work it becomes there, and the
answer that comes back.

* ``route_for``: the first matching ``RoutingRule`` (rules are data; an administrator edits them
  through ``rule_save`` / ``rule_delete``, each traced);
* ``route_work``: a routed case becomes a clue for the licensing department or a supervision task
  for the county market regulator (run by the ``grid.route_work`` handler, idempotent);
* ``referral_feedback``: the department's report on that clue goes on the case's timeline.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from zhijian.clues import intake
from zhijian.clues import services as clues
from zhijian.clues.choices import ClueSource
from zhijian.clues.models import Clue
from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError
from zhijian.deadlines.numbering import bureau_for_division
from zhijian.org.choices import BureauLevel
from zhijian.org.models import Bureau, Department
from zhijian.supervision import tasks as supervision
from zhijian.supervision.choices import TaskSource
from zhijian.supervision.models import Task

from .choices import CaseAction, CaseState, ItemResult, Matter, RouteTarget, VisitKind
from .models import GridCase, RoutingRule
from .procedure import GRID_CASE, event_payload
from .visits import open_problems

# The county bureau verifies a routed case as a clue of an offence: 15 working days to decide.
REFERRAL_RULE = "penalty.clue_verify"
# Business line of the county bureau's task, by the first unresolved matter.
REFERRAL_LINES = {
    Matter.UNLICENSED: "unlicensed_operation", Matter.LICENCE: "unlicensed_operation",
    Matter.ADDRESS: "registration_address", Matter.OPERATING: "registration_address",
    Matter.ANNUAL_REPORT: "annual_report", Matter.DISPLAY: "licence_display",
}
RULE_FIELDS = ["priority", "name", "matter", "industry_prefixes", "keywords", "target", "department_code", "legal_basis", "active"]


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
                                  case.clue.text if case.clue_id else ""]))
    rule = next((r for r in RoutingRule.objects.filter(active=True).order_by("priority", "id") if _rule_matches(r, matters, industry, text)), None)
    if rule is not None and rule.target == RouteTarget.DEPARTMENT:
        return Route(RouteTarget.DEPARTMENT, rule, department=_department_for(rule.department_code, case.division_code))
    county = (bureau_for_division(case.division_code, level=BureauLevel.COUNTY)
              or bureau_for_division(case.division_code, level=BureauLevel.CITY))
    return Route(RouteTarget.MARKET_REGULATOR, rule, bureau=county)


def check_route(route: Route) -> None:
    """Refuse a route that leads nowhere, naming the rule."""
    if route.target == RouteTarget.DEPARTMENT and route.department is None:
        raise ApplicationError(_("分流规则“%(rule)s”指向的许可部门（%(code)s）在本辖区不存在，请管理员配置协同部门") % {
            "rule": route.rule.name, "code": route.rule.department_code}, code="no_department")
    if route.target == RouteTarget.MARKET_REGULATOR and route.bureau is None:
        raise ApplicationError(_("找不到覆盖该区划的区县市场监管局"), code="no_bureau")


# --- the rules themselves (admin) ------------------------------------------------------------------


def _rule_snapshot(rule: RoutingRule) -> dict:
    return {f: getattr(rule, f) for f in RULE_FIELDS}


@transaction.atomic
def rule_save(*, actor, rule: RoutingRule) -> RoutingRule:
    """Create or change a routing rule (the administrator's form), traced with what it said before
    and after: where unresolved cases go is legally relevant (谁许可，谁监管)."""
    created = rule.pk is None
    stored = None if created else RoutingRule.objects.select_for_update().filter(pk=rule.pk).first()
    before = _rule_snapshot(stored) if stored is not None else None
    created = stored is None
    rule.save()
    trace.record(actor=actor, action="grid.routing_rule.create" if created else "grid.routing_rule.change", obj=rule,
                 before=before, after=_rule_snapshot(rule))
    return rule


@transaction.atomic
def rule_delete(*, actor, rule: RoutingRule) -> None:
    """Delete a routing rule, traced with what it said. A rule that cases were routed by is
    protected (the cases keep it): deactivate it instead."""
    before, pk = _rule_snapshot(rule), rule.pk
    rule.delete()
    trace.record(actor=actor, action="grid.routing_rule.delete", object_type="grid.routingrule", object_id=str(pk), before=before,
                 after=None)


# --- the routed case's work (grid → clues / supervision, C4) ---------------------------------------


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


def _note(case, *, comment):
    """A ``route`` step on the case's timeline without a state change (a referral, an answer)."""
    step, = GRID_CASE.steps_rows([(case, CaseAction.ROUTE, case.state, case.state, None, comment)])
    step.save()
    return step


def _note_referral(case, *, comment, extra):
    """The referral on the case's timeline and as a ``grid.case_referred`` event for subscribers."""
    _note(case, comment=comment)
    events.emit("grid.case_referred", payload=event_payload(case, **extra), division_code=case.division_code,
                object_type=GRID_CASE.name, object_id=str(case.pk))


def case_for_work(case_id):
    return (GridCase.objects.select_related("entity", "clue", "task", "task__entity", "task__bureau", "assignee", "assignee__bureau",
                                            "bureau", "routed_bureau", "routed_department", "routing_rule")
            .filter(pk=case_id).first())


@transaction.atomic
def route_work(*, case):
    """Put a routed case into the work queue of whoever it was routed to (谁许可，谁监管):

    * a licensing department: a clue through the one intake (``clues.intake.record``, source
      网格事项分流移交: the case's number, unresolved matters and joint-handling note as its text,
      with entity, division, place and position), assigned to that department
      (``clues.services.clue_assign``): it is in the department's clue list and the department
      reports back there;
    * the county market regulator: a supervision task (source 线索) dispatched to that bureau,
      its clock ``penalty.clue_verify`` started on the day of the routing, ``source_ref``
      ``grid:case:<id>``.

    Idempotent: the clue or the task with the case's ``source_ref`` (``grid:case:<id>``) that
    already exists is returned. The clue or task number goes on the case's timeline and into a
    ``grid.case_referred`` event."""
    if case.state != CaseState.ROUTED:
        return None
    matters, text = _referral_facts(case)
    ref = f"grid:case:{case.pk}"
    if case.route_target == RouteTarget.DEPARTMENT and case.routed_department_id:
        existing = Clue.objects.filter(source=ClueSource.GRID_CASE, source_ref=ref).first()
        if existing is not None:
            return existing
        department = case.routed_department
        clue = intake.record(source=ClueSource.GRID_CASE, actor=None, text=text, division_code=case.division_code, entity=case.entity,
                             place="，".join(filter(None, [case.place_name, case.address]))[:300], lng=case.lng, lat=case.lat,
                             source_ref=ref)
        clue = clues.clue_assign(actor=None, clue=clue, department=department,
                                 comment=_("网格事项 %(number)s 分流移交%(to)s") % {"number": case.number, "to": department.name})
        _note_referral(case, comment=_("已转为线索 %(clue)s，移交%(to)s") % {"clue": clue.number, "to": department.name},
                       extra={"clue_id": clue.pk, "clue_number": clue.number, "routed_department": department.code})
        return clue
    if case.route_target == RouteTarget.MARKET_REGULATOR and case.routed_bureau_id:
        existing = Task.objects.filter(source_ref=ref, division_code=case.division_code).first()
        if existing is not None:
            return existing
        bureau = case.routed_bureau
        # The bureau's verification clock (``deadline_rule``) starts today: this handler runs
        # right after the routing move.
        task = supervision.task_create(
            actor=None, entity=case.entity, division_code=case.division_code, source=TaskSource.CLUE, source_ref=ref,
            title=_("网格移交：%(number)s %(label)s") % {"number": case.number, "label": case.label},
            business_line=next((REFERRAL_LINES[m] for m in matters if m in REFERRAL_LINES), "grid_referral"),
            deadline_rule=REFERRAL_RULE, bureau=bureau, description=text,
        )
        _note_referral(case, comment=_("已生成监管任务 %(task)s，移交%(to)s") % {"task": task.number, "to": bureau.name},
                       extra={"task_id": task.pk, "task_number": task.number, "routed_bureau_id": bureau.pk})
        return task
    return None


@transaction.atomic
def referral_feedback(*, clue_id: int, reported: bool, comment: str):
    """The licensing department's answer on the clue a routed case became — its report, or the
    clue sent back — on the case's timeline (no state change) and as a ``grid.case_feedback``
    event, so the village and town see how the case they could not solve was handled."""
    clue = Clue.objects.select_related("department").filter(pk=clue_id).first()
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
    step = _note(case, comment=text)
    events.emit("grid.case_feedback", payload=event_payload(case, clue_id=clue.pk, clue_number=clue.number, reported=reported,
                                                            comment=comment[:500]),
                division_code=case.division_code, object_type=GRID_CASE.name, object_id=str(case.pk))
    return step
