"""The grid case's transition table (G1) on the workflow kernel (``zhijian.core.workflow``).

One row per action: the states it may start from, where it leads (a visit's outcome decides
between two targets), who may take it and the person rule. ``GRID_CASE.move`` compare-and-swaps
the case on (state, version) — of two people acting on one case at once exactly one wins, the
other is told to refresh — and writes the ``WorkflowStep`` (procedure ``grid.gridcase``), the
trace entry ``grid.case.<action>`` and the event ``grid.case_<action>`` in the service's
transaction. The services that take these steps are in ``cases.py``.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from zhijian.core.workflow import Guarded, Procedure, T
from zhijian.org.choices import RoleCode

from .choices import FINAL_STATES, OPEN_STATES, CaseAction, CaseState
from .models import GridCase

ASSIGNERS = {RoleCode.DISPATCHER, RoleCode.LEADER}
VISITORS = {RoleCode.GRID_OFFICER, RoleCode.ENFORCEMENT_OFFICER}
JOINT_HANDLERS = {RoleCode.DISPATCHER, RoleCode.LEADER, RoleCode.GRID_OFFICER, RoleCode.ENFORCEMENT_OFFICER}
REPORTERS = {RoleCode.ASSISTANT, RoleCode.INFORMANT, RoleCode.GRID_OFFICER, RoleCode.ENFORCEMENT_OFFICER}
STEP_CLOCK = "step"  # the case's clock in the registry: its current step's limit, restarted on each move


def the_assignee(case, actor, ctx):
    """Only the officer the case is assigned to visits and re-checks it."""
    if case.assignee_id != actor.pk:
        return _("本事项已分派给 %(name)s，只有承办的网格监管员可以登记走访和复查") % {"name": case.assignee}
    return None


def event_payload(case: GridCase, **extra) -> dict:
    return {
        "case_id": case.pk, "number": case.number, "trigger": case.trigger, "state": case.state,
        "credit_code": case.entity.credit_code if case.entity_id else "", "grid_id": case.grid_id,
        "assignee_id": case.assignee_id, "bureau_id": case.bureau_id, "step_due_on": case.step_due_on, **extra,
    }


def snapshot(case) -> dict:
    return {"state": case.state, "grid_id": case.grid_id, "assignee_id": case.assignee_id, "step_due_on": case.step_due_on,
            "notice_number": case.notice_number, "route_target": case.route_target, "version": case.version}


_ASSIGN = _("只有调度员或领导可以分派或撤销网格事项")
_VISIT = _("只有网格监管员可以登记走访和复查")
_JOINT = _("只有调度员、领导或网格监管员可以登记联合处置结果")
_PERSON = Guarded(the_assignee, status=403)
S = CaseState

GRID_CASE = Procedure(
    name="grid.gridcase", noun=_("事项"), model=GridCase, states=CaseState, actions=CaseAction,
    transitions=[
        T(CaseAction.ASSIGN, [S.PENDING_ASSIGN, S.FIRST_VISIT], S.FIRST_VISIT, roles=ASSIGNERS, role_message=_ASSIGN,
          hint=_("只有“待分派网格”或尚未走访的事项才能分派")),
        T(CaseAction.FIRST_VISIT, [S.FIRST_VISIT], targets=(S.CLOSED, S.RECTIFYING), roles=VISITORS, role_message=_VISIT,
          guards=[_PERSON], hint=_("只有已分派、待首次走访的事项才能登记首次走访")),
        T(CaseAction.RECHECK, [S.RECTIFYING], targets=(S.CLOSED, S.JOINT), roles=VISITORS, role_message=_VISIT,
          guards=[_PERSON], hint=_("只有已送达书面告知书、处于限期整改的事项才能复查")),
        T(CaseAction.JOINT, [S.JOINT], S.CLOSED, roles=JOINT_HANDLERS, role_message=_JOINT,
          hint=_("只有复查仍未整改、已转村（社区）联合处置的事项才能登记联合处置结果")),
        # Joint handling that did not resolve the case routes it (谁许可，谁监管; routing.py).
        T(CaseAction.ROUTE, [S.JOINT], S.ROUTED, roles=JOINT_HANDLERS, role_message=_JOINT,
          hint=_("只有复查仍未整改、已转村（社区）联合处置的事项才能登记联合处置结果")),
        T(CaseAction.CANCEL, OPEN_STATES, S.CANCELLED, roles=ASSIGNERS, role_message=_ASSIGN,
          hint=_("已办结、已移交或已撤销的事项不能撤销")),
    ],
    # Events keep their published names: grid.case_opened, grid.case_assign, grid.case_first_visit …
    event_prefix="grid", event_names={**{a: f"case_{a}" for a in CaseAction.values}, CaseAction.OPEN: "case_opened"},
    trace_action="grid.case", payload=event_payload, snapshot=snapshot,
    select_related=("entity", "grid", "bureau", "assignee"), closed_states=FINAL_STATES,
)
