"""Feedback on pushed items (C2): the department claims, accepts, returns, reassigns, finishes.

One transition table (``core.workflow``)::

    pushed ──claim──▶ claimed ──accept──▶ accepted ──finish──▶ finished
      │                 │
      └────return───────┴──▶ returned
      └──reassign (pushed, claimed, returned)──▶ reassigned (+ a new item for the other department)

Who: the receiving department's staff (another department is told the item does not exist); a
returned item is reassigned by the town office (镇街商改办: dispatchers, leaders).
"""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhijian.core.workflow import Guarded, Procedure, T
from zhijian.deadlines import clocks
from zhijian.org.choices import RoleCode

from . import engine
from .choices import PUSH_PROCEDURE, PushAction, PushState, PushTrigger
from .models import PushItem
from .push import create_items

TOWN_OFFICE = {RoleCode.DISPATCHER, RoleCode.LEADER}


def _is_member(actor, item) -> bool:
    return actor.department_id == item.department_id and actor.has_role(RoleCode.DEPARTMENT_STAFF)


def _returned_reassign(action, item) -> bool:
    return action == PushAction.REASSIGN and item.state == PushState.RETURNED


# --- guards: None when the step may go ahead, else the reason ------------------------------------


def _own_department(action):
    """Another department's staff: as if the item did not exist (404)."""
    def guard(item, actor, ctx):
        if _returned_reassign(action, item) or not actor.department_id or actor.department_id == item.department_id:
            return None
        return "other department"
    return guard


def _member(action):
    def guard(item, actor, ctx):
        if _returned_reassign(action, item):
            if getattr(actor, "is_superuser", False) or actor.has_role(*TOWN_OFFICE):
                return None
            return _("退回的事项由镇街商改办（调度员、领导）重新指定部门")
        if _is_member(actor, item):
            return None
        return _("只有接收部门的人员可以%(action)s") % {"action": PushAction(action).label}
    return guard


def _text(field, message):
    # What a person types passes while a page only lists the allowed steps (``listing``).
    def guard(item, actor, ctx):
        return None if ctx.get("listing") or (ctx.get(field) or "").strip() else str(message)
    return guard


def _department_given(item, actor, ctx):
    return None if ctx.get("listing") or ctx.get("department") is not None else _("请选择转办部门")


def _other_department(item, actor, ctx):
    if ctx.get("listing") or ctx["department"].pk != item.department_id:
        return None
    return _("不能转办给本部门")


def _department_covers(item, actor, ctx):
    department = ctx.get("department")
    if ctx.get("listing") or any(item.division_code.startswith(p) for p in department.jurisdiction_prefixes()):
        return None
    return _("“%(dept)s”的辖区不包括该主体所在区划") % {"dept": department.name}


def _people(action, *more):
    return [Guarded(_own_department(action), status=404), Guarded(_member(action), status=403), *more]


def event_payload(item, **extra) -> dict:
    """The ``push.*`` feedback events' payload (docs/interfaces.md)."""
    return {"item_id": item.pk, "state": item.state, "credit_code": item.entity.credit_code, "department_code": item.department.code,
            "matter": item.matter.name, **extra}


PUSH_ITEM = Procedure(
    name=PUSH_PROCEDURE, noun=gettext_lazy("事项"), model=PushItem, states=PushState, actions=PushAction, event_prefix="push",
    event_names={PushAction.CLAIM: "claimed", PushAction.ACCEPT: "accepted", PushAction.RETURN: "returned",
                 PushAction.REASSIGN: "reassigned", PushAction.FINISH: "finished"},
    transitions=[
        T(PushAction.CLAIM, [PushState.PUSHED], PushState.CLAIMED, guards=_people(PushAction.CLAIM),
          hint=gettext_lazy("只有“待签收”的事项才能签收")),
        T(PushAction.ACCEPT, [PushState.CLAIMED], PushState.ACCEPTED, guards=_people(PushAction.ACCEPT),
          hint=gettext_lazy("请先签收，再受理")),
        T(PushAction.RETURN, [PushState.PUSHED, PushState.CLAIMED], PushState.RETURNED,
          guards=_people(PushAction.RETURN, Guarded(_text("reason", gettext_lazy("请填写退回理由")), system=True, code="no_reason")),
          hint=gettext_lazy("只有未受理的事项才能退回")),
        T(PushAction.REASSIGN, [PushState.PUSHED, PushState.CLAIMED, PushState.RETURNED], PushState.REASSIGNED,
          guards=_people(PushAction.REASSIGN, Guarded(_department_given, system=True, code="no_department"),
                         Guarded(_other_department, system=True, code="same_department"),
                         Guarded(_department_covers, system=True, code="bad_department")),
          hint=gettext_lazy("只有未受理或已退回的事项才能转办")),
        T(PushAction.FINISH, [PushState.ACCEPTED], PushState.FINISHED,
          guards=_people(PushAction.FINISH, Guarded(_text("result", gettext_lazy("请填写办理结果")), system=True, code="no_result")),
          hint=gettext_lazy("只有“办理中”的事项才能办结")),
    ],
    payload=event_payload,
    select_related=("department", "entity", "matter"),
)


def allowed_actions(item, user) -> list[str]:
    """The steps ``user`` may take on ``item`` now (for the inbox's buttons and the item page)."""
    return PUSH_ITEM.allowed(item, user, listing=True)


# Steps that end the department's work on the item: its clock (the matter's day limit) stops.
CLOCK_STOPS = {PushAction.FINISH, PushAction.RETURN, PushAction.REASSIGN}


def _move(item, action, *, actor, via, comment="", fields=None, **ctx) -> PushItem:
    moved = PUSH_ITEM.move(
        item, action, actor=actor, fields=fields, comment=comment, via=via, department_id=item.department_id, lost_message=_("事项已被他人处理，请刷新后查看"),
        event_extra={"action": str(action), "comment": comment, "via": via, "actor": str(actor) if actor else "system"}, **ctx)
    if action in CLOCK_STOPS:
        clocks.stop_for(PUSH_PROCEDURE, moved.pk, on=timezone.localdate(), actor=actor)
    return moved


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


@transaction.atomic
def item_claim(*, actor, item, via="web") -> PushItem:
    """签收. After claiming, the deadline is the matter's handling deadline (if any)."""
    fields = {"claimed_by_id": actor.pk if actor else None, "claimed_at": timezone.now()}
    fresh = PushItem.objects.get(pk=item.pk)
    if fresh.deadline_hours:
        fields["due_at"] = _end_of(fresh.due_on) if fresh.due_on else None
    return _move(item, PushAction.CLAIM, actor=actor, via=via, fields=fields)


@transaction.atomic
def item_accept(*, actor, item, comment="", via="web") -> PushItem:
    """受理: the department takes the matter on."""
    return _move(item, PushAction.ACCEPT, actor=actor, via=via, comment=comment)


@transaction.atomic
def item_return(*, actor, item, reason, via="web") -> PushItem:
    """退回 with a reason (not our matter, wrong data …); the town office may reassign it."""
    reason = (reason or "").strip()
    return _move(item, PushAction.RETURN, actor=actor, via=via, reason=reason, fields={"return_reason": reason[:500]}, comment=reason)


@transaction.atomic
def item_reassign(*, actor, item, department, reason="", via="web") -> PushItem:
    """转办 to another department: this item closes as reassigned and a new one opens there."""
    comment = _("转办至 %(dept)s。%(reason)s") % {"dept": department.name, "reason": reason} if department is not None else reason
    moved = _move(item, PushAction.REASSIGN, actor=actor, via=via, department=department, comment=comment)
    current = PushItem.objects.select_related("entity", "matter", "rule").get(pk=item.pk)
    compiled = engine.CompiledRule(current.rule_id, current.rule_version, current.rule.name if current.rule else "",
                                   current.matter_id, current.matter.name, current.deadline_rule, current.deadline_hours,
                                   ((department.pk, tuple(department.jurisdiction_prefixes())),))
    match = engine.Match(compiled, [_("转办自 %(dept)s") % {"dept": moved.department.name}])
    new = create_items(current.entity, [(match, department.pk)], trigger=PushTrigger.REASSIGNED, trigger_key=f"reassign:{current.pk}",
                       source_event_id=current.source_event_id, actor=actor, via=via)
    PushItem.objects.filter(pk=current.pk).update(reassigned_to=new[0] if new else None)
    moved.reassigned_to = new[0] if new else None
    return moved


@transaction.atomic
def item_finish(*, actor, item, result, via="web") -> PushItem:
    """办结 with the result (licence issued, inspected, penalty …)."""
    result = (result or "").strip()
    return _move(item, PushAction.FINISH, actor=actor, via=via, result=result, fields={"result": result, "finished_at": timezone.now()},
                 comment=result[:1000])
