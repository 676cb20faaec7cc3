"""A draw's transition table on the workflow kernel (``zhijian.core.workflow``).

The commit creates a draw (``services.draw_commit``: one live draw per plan); from then on:

* execute — a committed draw reveals its seed and draws, once (an executed draw is refused with a
  409 naming its state: never a second selection);
* void — the approving role (领导) voids a committed or executed draw, always with a reason, as long
  as none of its items has gone on to a joint inspection or a result. The void is one
  compare-and-swap ``move`` (a ``WorkflowStep``, the trace entry ``draw.void`` and the event
  ``draw.voided``); the plan may then be committed again and the new draw names this one as its
  predecessor.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from zhijian.core.workflow import Guarded, Procedure, T
from zhijian.org.choices import RoleCode

from .choices import DrawAction, DrawState
from .models import Draw, DrawItem

# Who organises draws (commit, execute, results) and who approves them (void).
DRAW_ROLES = (RoleCode.LEADER, RoleCode.DISPATCHER, RoleCode.ENFORCEMENT_OFFICER)
APPROVERS = (RoleCode.LEADER,)


def reason_given(draw, actor, ctx):
    if not str(ctx.get("reason") or "").strip():
        return _("作废抽查批次必须填写理由")
    return None


def nothing_followed(draw, actor, ctx):
    """A draw whose items went on to joint inspections (tasks) or results is past voiding."""
    if draw.pk is None:
        return None
    if DrawItem.objects.filter(draw_id=draw.pk, joint__isnull=False).exists():
        return _("该批次的抽中主体已合并为联合检查并生成监管任务，不能作废")
    if DrawItem.objects.filter(draw_id=draw.pk).exclude(result="").exists():
        return _("该批次已录入检查结果，不能作废")
    return None


def snapshot(draw: Draw) -> dict:
    return {"state": draw.state, "version": draw.version, "public_id": draw.public_id, "plan": draw.plan_id,
            "void_reason": draw.void_reason, "voided_by": draw.voided_by_id,
            "voided_at": draw.voided_at.isoformat() if draw.voided_at else None}


def event_payload(draw: Draw, **extra) -> dict:
    return {"draw": draw.pk, "public_id": draw.public_id, "plan": draw.plan_id, "state": draw.state,
            "reason": draw.void_reason, **extra}


S = DrawState
DRAW = Procedure(
    name="draws.draw", noun=_("抽查批次"), model=Draw, states=DrawState, actions=DrawAction,
    transitions=[
        T(DrawAction.EXECUTE, [S.COMMITTED], S.EXECUTED, roles=DRAW_ROLES, role_message=_("您没有组织双随机抽查的权限"),
          hint=_("只有已锁定、待抽取的批次才能抽取，每个批次只抽取一次")),
        T(DrawAction.VOID, [S.COMMITTED, S.EXECUTED], S.VOIDED, roles=APPROVERS, role_message=_("只有领导可以作废抽查批次"),
          guards=[Guarded(reason_given, system=True, code="reason_required"),
                  Guarded(nothing_followed, status=409, system=True)],
          hint=_("已作废的批次不能再次作废")),
    ],
    event_prefix="draw", event_names={DrawAction.EXECUTE: "executed", DrawAction.VOID: "voided"}, trace_action="draw",
    payload=event_payload, snapshot=snapshot, scope=lambda draw: draw.plan.division_code, select_related=("plan",),
)
