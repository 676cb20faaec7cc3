"""The clue's procedure: one transition table (``core.workflow``).

::

    recorded ──assign──▶ assigned ──report──▶ reported           (C4: a department's matter)
       ▲  │                  └──return──▶ returned ─assign/verify/dismiss─▶ …
       │  ├──hand_over──▶ handed_over                             (a grid report → its grid case)
       │  ├──verify──▶ verifying ──extend (once)──▶ verifying     (15 working days, +15 from the
       │  │                 ├──file──▶ filed                        original due date)
       │  │                 └──close──▶ closed
       │  └──dismiss──▶ dismissed
    (intake)

Who: the town office (镇街商改办: dispatchers, leaders) assigns and dismisses; the assigned
department's staff report or return; a grid report is handed to its grid case by the system;
enforcement officers and leaders take a clue up for verification, the head (leader) approves an
extension, a filing or a decision not to file (市场监督管理行政处罚程序规定).
"""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhijian.core.workflow import Guarded, Procedure, T
from zhijian.org.choices import RoleCode

from .choices import CLOSED_STATES, PROCEDURE, ClueAction, ClueSource, ClueState
from .models import Clue

TOWN_OFFICE = {RoleCode.DISPATCHER, RoleCode.LEADER}
VERIFIERS = {RoleCode.ENFORCEMENT_OFFICER, RoleCode.LEADER}
HEADS = {RoleCode.LEADER}
# Who may record a clue from each source (a system call, actor=None, may record any).
RECORDERS = {
    ClueSource.VILLAGE: {RoleCode.GRID_OFFICER, RoleCode.ASSISTANT, RoleCode.INFORMANT, RoleCode.DISPATCHER, RoleCode.ENFORCEMENT_OFFICER,
                         RoleCode.LEADER},
    ClueSource.GRID_REPORT: {RoleCode.GRID_OFFICER, RoleCode.ASSISTANT, RoleCode.INFORMANT, RoleCode.ENFORCEMENT_OFFICER},
    ClueSource.GRID_CASE: {RoleCode.GRID_OFFICER, RoleCode.DISPATCHER, RoleCode.LEADER},
    ClueSource.INSPECTION: {RoleCode.ENFORCEMENT_OFFICER, RoleCode.LEADER},
    ClueSource.MANUAL: {RoleCode.DISPATCHER, RoleCode.ENFORCEMENT_OFFICER, RoleCode.COMPLAINT_HANDLER, RoleCode.LEADER},
    ClueSource.COMPLAINT: {RoleCode.COMPLAINT_HANDLER, RoleCode.ENFORCEMENT_OFFICER, RoleCode.LEADER},
}
# The verification clock's rule and its extension, by source (a clue found in mediating a
# complaint has its own article; every other clue is verified under the penalty procedure).
VERIFY_CLOCK = "verify"
VERIFY_RULES = {ClueSource.COMPLAINT: ("complaint.clue_verify", "complaint.clue_verify_extension")}
DEFAULT_VERIFY_RULES = ("penalty.clue_verify", "penalty.clue_verify_extension")


def verify_rules(clue) -> tuple[str, str]:
    """(base rule, extension rule) of the clue's verification clock."""
    return VERIFY_RULES.get(clue.source, DEFAULT_VERIFY_RULES)


def has_role(actor, roles) -> bool:
    return bool(getattr(actor, "is_superuser", False) or actor.has_role(*roles))


# --- guards: None when the step may go ahead, else the reason ------------------------------------


def _town_office_assigns(clue, actor, ctx):
    return None if has_role(actor, TOWN_OFFICE) else _("只有镇街商改办（调度员、领导）可以指派线索")


def _town_office_dismisses(clue, actor, ctx):
    return None if has_role(actor, TOWN_OFFICE) else _("只有镇街商改办（调度员、领导）可以决定不予处理")


def department_member(clue, actor, ctx):
    """The assigned department's staff (also checked before the state: an outsider learns nothing)."""
    if actor.department_id and actor.department_id == clue.department_id and actor.has_role(RoleCode.DEPARTMENT_STAFF):
        return None
    return _("只有承办部门的人员可以反馈或退回该线索")


# Guards on what a person types or picks pass while a page only lists the allowed steps (``listing``).


def _department_given(clue, actor, ctx):
    return None if ctx.get("listing") or ctx.get("department") is not None else _("请选择承办部门")


def _department_covers(clue, actor, ctx):
    if ctx.get("listing"):
        return None
    department = ctx["department"]
    if any(clue.division_code.startswith(p) for p in department.jurisdiction_prefixes()):
        return None
    return _("“%(dept)s”的辖区不包括线索所在区划") % {"dept": department.name}


def _text_given(field, message):
    def guard(clue, actor, ctx):
        return None if ctx.get("listing") or (ctx.get(field) or "").strip() else str(message)
    return guard


def _system_only(clue, actor, ctx):
    return _("线索由系统转交网格事项办理")


def _verifier(clue, actor, ctx):
    return None if has_role(actor, VERIFIERS) else _("只有执法人员或领导可以核查线索")


def _head(clue, actor, ctx):
    return None if has_role(actor, HEADS) else _("须经机构负责人（领导）批准")


def _not_extended(clue, actor, ctx):
    if CLUE.timeline(clue).filter(action=ClueAction.EXTEND).exists():
        return _("核查期限只能延长一次")
    return None


def event_payload(clue, **extra) -> dict:
    """The ``clue.*`` events' payload (docs/interfaces.md)."""
    return {
        "clue_id": clue.pk, "number": clue.number, "state": clue.state, "source": clue.source, "source_ref": clue.source_ref,
        "department_code": clue.department.code if clue.department_id else "",
        "credit_code": clue.entity.credit_code if clue.entity_id else "", **extra,
    }


_no_report = gettext_lazy("请填写反馈内容")
_no_reason = gettext_lazy("请填写退回理由")
_no_grounds = gettext_lazy("请填写理由")

CLUE = Procedure(
    name=PROCEDURE, noun=gettext_lazy("线索"), model=Clue, states=ClueState, actions=ClueAction, event_prefix="clue",
    event_names={ClueAction.RECORD: "recorded", ClueAction.ASSIGN: "assigned", ClueAction.RETURN: "returned",
                 ClueAction.REPORT: "reported", ClueAction.HAND_OVER: "handed_over", ClueAction.VERIFY: "verification_started",
                 ClueAction.EXTEND: "verification_extended", ClueAction.FILE: "filed", ClueAction.CLOSE: "closed",
                 ClueAction.DISMISS: "dismissed"},
    transitions=[
        T(ClueAction.ASSIGN, [ClueState.RECORDED, ClueState.RETURNED], ClueState.ASSIGNED,
          guards=[Guarded(_town_office_assigns, status=403), Guarded(_department_given, system=True, code="no_department"),
                  Guarded(_department_covers, system=True, code="bad_department")]),
        T(ClueAction.REPORT, [ClueState.ASSIGNED], ClueState.REPORTED,
          guards=[Guarded(department_member, status=403), Guarded(_text_given("report", _no_report), system=True, code="no_report")]),
        T(ClueAction.RETURN, [ClueState.ASSIGNED], ClueState.RETURNED,
          guards=[Guarded(department_member, status=403), Guarded(_text_given("reason", _no_reason), system=True, code="no_reason")]),
        T(ClueAction.HAND_OVER, [ClueState.RECORDED], ClueState.HANDED_OVER, guards=[Guarded(_system_only, status=403)]),
        T(ClueAction.VERIFY, [ClueState.RECORDED, ClueState.RETURNED], ClueState.VERIFYING, guards=[Guarded(_verifier, status=403)]),
        T(ClueAction.EXTEND, [ClueState.VERIFYING], ClueState.VERIFYING,
          guards=[Guarded(_head, status=403), Guarded(_text_given("reason", _no_grounds), system=True, code="no_reason"),
                  Guarded(_not_extended, status=409, system=True)]),
        T(ClueAction.FILE, [ClueState.VERIFYING], ClueState.FILED, guards=[Guarded(_head, status=403)]),
        T(ClueAction.CLOSE, [ClueState.VERIFYING], ClueState.CLOSED,
          guards=[Guarded(_head, status=403), Guarded(_text_given("reason", _no_grounds), system=True, code="no_reason")]),
        T(ClueAction.DISMISS, [ClueState.RECORDED, ClueState.RETURNED], ClueState.DISMISSED,
          guards=[Guarded(_town_office_dismisses, status=403), Guarded(_text_given("reason", _no_grounds), system=True, code="no_reason")]),
    ],
    payload=event_payload,
    snapshot=lambda clue: {"state": clue.state, "version": clue.version, "department": clue.department_id},
    select_related=("department", "entity"),
    closed_states=CLOSED_STATES,
)
