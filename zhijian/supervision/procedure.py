"""The task loop (S2) as one procedure of the workflow kernel: its transition table and its guards.

``TASK.move(task, action, actor=…)`` is the only way a task changes state (the services in
``tasks.py`` call it); ``allowed_actions`` tells pages and the API what a person may do now.
A guard answers ``None`` or the Chinese reason; ``Guarded(…, status=403)`` for a rule about the
person, ``system=True`` for a rule the system obeys too (it acts with ``actor=None``).

Guards that check an input (a dispatch target, a comment, a reason) read it from ``ctx``; when
``allowed_actions`` lists the steps (``listing=True``) no input is given yet and they pass.
"""
from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhijian.core.errors import OutOfScope
from zhijian.core.scoping import jurisdiction_of
from zhijian.core.workflow import Forbidden, Guarded, GuardFailed, Procedure, StateError, T
from zhijian.deadlines import workdays
from zhijian.org.choices import RoleCode

from . import requirements
from .choices import OPEN_STATES, PROCEDURE, TaskAction, TaskState
from .models import Task

A, S = TaskAction, TaskState

# Who may do what (besides the jurisdiction rules in the guards below).
CREATORS = {RoleCode.DISPATCHER, RoleCode.LEADER, RoleCode.ENFORCEMENT_OFFICER, RoleCode.COMPLAINT_HANDLER, RoleCode.GRID_OFFICER}
DISPATCHERS = {RoleCode.DISPATCHER, RoleCode.LEADER}
EXECUTORS = {RoleCode.ENFORCEMENT_OFFICER, RoleCode.GRID_OFFICER}
REVIEWERS = {RoleCode.LEADER, RoleCode.LEGAL_REVIEWER}
ARCHIVERS = {RoleCode.LEADER, RoleCode.LEGAL_REVIEWER, RoleCode.DISPATCHER}
URGERS = {RoleCode.LEADER, RoleCode.DISPATCHER}
TEMPLATE_RUNNERS = {RoleCode.LEADER, RoleCode.DISPATCHER}


# --- areas ---------------------------------------------------------------------------------------


def covers(prefixes, code: str) -> bool:
    """``code`` (a division code or a prefix) lies inside the area ``prefixes``."""
    prefixes = tuple(prefixes)
    return "" in prefixes or bool(code) and any(code.startswith(p) for p in prefixes)


def area_within(outer, inner) -> bool:
    """Every prefix of the area ``inner`` lies inside the area ``outer`` (and inner is not empty)."""
    inner = tuple(inner)
    if not inner:
        return False
    if "" in inner:
        return "" in tuple(outer)
    return all(covers(outer, p) for p in inner)


def unit_area(task) -> tuple[str, ...]:
    """The area of the unit the task is dispatched to (its bureau, else the assignee's)."""
    if task.bureau_id:
        return tuple(task.bureau.jurisdiction_prefixes())
    if task.assignee_id:
        return tuple(task.assignee.jurisdiction_prefixes())
    return ()


# --- guards ----------------------------------------------------------------------------------------


def _listing(ctx) -> bool:
    return bool(ctx.get("listing"))


def not_taken_by_another_unit(task, actor, ctx):
    """Re-dispatch while unclaimed: a task already sent to a person of another unit is re-sent only
    from that unit or from above it."""
    if task.state == S.DISPATCHED and task.assignee_id and task.bureau_id and actor.bureau_id != task.bureau_id \
            and not area_within(jurisdiction_of(actor), unit_area(task)):
        return _("任务已派发给其他单位，您不能改派")
    return None


def target_named(task, actor, ctx):
    if not _listing(ctx) and ctx.get("bureau") is None and ctx.get("assignee") is None:
        return _("请选择承办机构或承办人")
    return None


def assignee_fits(task, actor, ctx):
    assignee, bureau = ctx.get("assignee"), ctx.get("bureau")
    if assignee is None:
        return None
    if not assignee.is_active:
        return _("承办人“%(name)s”已停用") % {"name": assignee}
    if not assignee.has_role(*EXECUTORS):
        return _("承办人“%(name)s”不是执法人员或网格员，不能承办任务") % {"name": assignee}
    if bureau is not None and assignee.bureau_id != bureau.pk:
        return _("承办人“%(name)s”不属于“%(unit)s”") % {"name": assignee, "unit": bureau}
    return None


def _target(ctx):
    bureau, assignee = ctx.get("bureau"), ctx.get("assignee")
    if bureau is not None:
        return bureau, tuple(bureau.jurisdiction_prefixes())
    if assignee is not None:
        return assignee, tuple(assignee.jurisdiction_prefixes())
    return None, ()


def target_in_your_area(task, actor, ctx):
    target, area = _target(ctx)
    if target is not None and not area_within(jurisdiction_of(actor), area):
        return _("“%(target)s”不在您的辖区内，不能向其派发") % {"target": target}
    return None


def task_in_target_area(task, actor, ctx):
    target, area = _target(ctx)
    if target is None:
        return None
    if not covers(area, task.division_code):
        return _("任务主体所在区划 %(code)s 不在“%(target)s”的辖区内") % {"code": task.division_code, "target": target}
    assignee = ctx.get("assignee")
    if assignee is not None and not covers(assignee.jurisdiction_prefixes(), task.division_code):
        return _("任务主体所在区划 %(code)s 不在承办人“%(name)s”的辖区内") % {"code": task.division_code, "name": assignee}
    return None


def assignee_or_unit_member(task, actor, ctx):
    """A task sent to a person is claimed by that person; one sent to a unit by any officer of it."""
    if task.assignee_id:
        if task.assignee_id != actor.pk:
            return _("任务已指定承办人“%(name)s”，只有承办人本人可以受领") % {"name": task.assignee}
        return None
    if not actor.has_role(*EXECUTORS):
        return _("只有执法人员或网格员可以受领任务")
    if task.bureau_id != actor.bureau_id:
        return _("任务派发给“%(unit)s”，只有该单位的人员可以受领") % {"unit": task.bureau}
    return None


def assignee_only(action):
    def guard(task, actor, ctx):
        if task.assignee_id != actor.pk:
            return _("只有承办人本人可以%(action)s") % {"action": TaskAction(action).label}
        return None

    guard.__name__ = f"assignee_only_{action}"
    return guard


def reviewer_over_the_unit(task, actor, ctx):
    if not area_within(jurisdiction_of(actor), unit_area(task)):
        return _("只有承办单位或其上级的领导、法制审核员可以审核该任务")
    return None


def not_own_task(task, actor, ctx):
    if task.assignee_id == actor.pk:
        return _("不能审核自己承办的任务")
    return None


def comment_given(task, actor, ctx):
    if not _listing(ctx) and not (ctx.get("review_comment") or "").strip():
        return _("退回任务须填写审核意见")
    return None


def reason_given(task, actor, ctx):
    if not _listing(ctx) and not (ctx.get("reason") or "").strip():
        return _("撤销任务须填写原因")
    return None


def assignee_or_archiver(task, actor, ctx):
    if task.assignee_id != actor.pk and not actor.has_role(*ARCHIVERS):
        return _("只有承办人、调度员、领导或法制审核员可以归档任务")
    return None


def not_carried(task, actor, ctx):
    """A task another app's item carries (the grid case of a village first visit) is moved by that
    item's flow, never by a person: one first visit, followed in one place."""
    carrier = requirements.carried_by(task)
    if carrier is None:
        return None
    return _("该任务由%(item)s办理，请在该事项中登记走访，任务随其办结") % {"item": carrier}


def requirements_met(stage, action):
    """Every requirement other apps registered for ``stage`` (``requirements.py``), all missing
    items named at once. Listing the steps shows the step (the page names what is missing)."""
    def guard(task, actor, ctx):
        if _listing(ctx):
            return None
        missing = requirements.missing(task, stage)
        if missing:
            # Raised rather than returned: the caller also gets the list (``extra["missing"]``).
            raise GuardFailed(
                _("任务还不能%(action)s，缺少：%(items)s") % {"action": TaskAction(action).label, "items": "；".join(missing)},
                code="requirements_missing", extra={"missing": missing},
            )
        return None

    guard.__name__ = f"requirements_met_{stage}"
    return guard


def system(fn, code="guard"):
    return Guarded(fn, status=400, system=True, code=code)


def person(fn):
    return Guarded(fn, status=403)


# --- the table -------------------------------------------------------------------------------------


def _date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def snapshot(task) -> dict:
    return {"state": task.state, "bureau_id": task.bureau_id, "assignee_id": task.assignee_id, "due_on": task.due_on,
            "version": task.version}


def event_payload(task, *, credit_code=None, **extra) -> dict:
    """What every ``task.*`` event carries, plus the step's own fields (``credit_code`` when the
    caller has it at hand, so a bulk writer does not load each entity)."""
    if credit_code is None:
        credit_code = task.entity.credit_code if task.entity_id else ""
    if extra.get("level") and extra.get("today") and extra.get("due_on"):
        # The clock sweep's overdue report (``task.overdue``): how late, in working days.
        extra["overdue_workdays"] = -workdays.workdays_between(_date(extra["today"]), _date(extra["due_on"]))
    return {
        "task_id": task.pk, "number": task.number, "credit_code": credit_code,
        "state": task.state, "business_line": task.business_line, "source": task.source, "bureau_id": task.bureau_id,
        "assignee_id": task.assignee_id, "due_on": task.due_on, **extra,
    }


TASK = Procedure(
    name=PROCEDURE, noun=gettext_lazy("任务"), model=Task, states=TaskState, actions=TaskAction,
    transitions=[
        T(A.DISPATCH, [S.REGISTERED, S.DISPATCHED], S.DISPATCHED, roles=DISPATCHERS,
          role_message=gettext_lazy("只有调度员或领导可以派发任务"),
          guards=[person(not_carried), person(not_taken_by_another_unit), system(target_named, "no_target"), system(assignee_fits, "bad_target"),
                  person(target_in_your_area), system(task_in_target_area, "bad_target")],
          hint=gettext_lazy("只有“已登记”或尚未受领的“已派发”任务才能派发")),
        T(A.ACCEPT, [S.DISPATCHED], S.ACCEPTED, guards=[person(not_carried), person(assignee_or_unit_member)],
          hint=gettext_lazy("只有“已派发”的任务才能受领")),
        T(A.START, [S.ACCEPTED], S.EXECUTING, guards=[person(not_carried), person(assignee_only(A.START))],
          hint=gettext_lazy("只有“已受领”的任务才能开始执行")),
        T(A.SUBMIT, [S.EXECUTING], S.REVIEW,
          guards=[person(not_carried), person(assignee_only(A.SUBMIT)), system(requirements_met(requirements.SUBMIT, A.SUBMIT), "requirements_missing")],
          hint=gettext_lazy("只有“执行中”的任务才能提交审核")),
        T(A.APPROVE, [S.REVIEW], S.APPROVED, roles=REVIEWERS, role_message=gettext_lazy("只有领导或法制审核员可以审核任务"),
          guards=[person(not_carried), person(reviewer_over_the_unit), person(not_own_task)], hint=gettext_lazy("只有“待审核”的任务才能审核")),
        T(A.REJECT, [S.REVIEW], S.EXECUTING, roles=REVIEWERS, role_message=gettext_lazy("只有领导或法制审核员可以审核任务"),
          guards=[person(not_carried), person(reviewer_over_the_unit), person(not_own_task), system(comment_given, "no_comment")],
          hint=gettext_lazy("只有“待审核”的任务才能退回")),
        T(A.ARCHIVE, [S.APPROVED], S.ARCHIVED,
          guards=[person(not_carried), person(assignee_or_archiver), system(requirements_met(requirements.ARCHIVE, A.ARCHIVE), "requirements_missing")],
          hint=gettext_lazy("只有“审核通过”的任务才能归档")),
        T(A.CANCEL, OPEN_STATES, S.CANCELLED, roles=DISPATCHERS, role_message=gettext_lazy("只有调度员或领导可以撤销任务"),
          guards=[person(not_carried), system(reason_given, "no_reason")], hint=gettext_lazy("已归档或已撤销的任务不能撤销")),
    ],
    event_prefix="task",
    event_names={A.CREATE: "created", A.DISPATCH: "dispatched", A.ACCEPT: "accepted", A.START: "started", A.SUBMIT: "submitted",
                 A.APPROVE: "approved", A.REJECT: "rejected", A.ARCHIVE: "archived", A.CANCEL: "cancelled"},
    payload=event_payload, snapshot=snapshot, select_related=("entity", "bureau", "assignee"),
    closed_states=(S.ARCHIVED, S.CANCELLED),
)


# --- urge (督办): not a step of the table (the state does not move) --------------------------------


def check_urge(task, actor) -> None:
    """Raise unless ``actor`` may urge ``task`` now."""
    if actor is not None and not covers(jurisdiction_of(actor), task.division_code):
        raise OutOfScope()
    if not task.is_open:
        raise StateError(_("任务当前为“%(state)s”，不能督办：只有未办结的任务才能督办") % {"state": task.get_state_display()})
    if actor is None:
        return
    if not actor.has_role(*URGERS):
        raise Forbidden(_("只有领导或调度员可以督办任务"))
    if task.assignee_id == actor.pk:
        raise Forbidden(_("不能督办自己承办的任务"))


def allowed_actions(task, user) -> list[str]:
    """The steps ``user`` may take on ``task`` now (``urge`` included), for pages and the API."""
    out = TASK.allowed(task, user, listing=True)
    try:
        check_urge(task, user)
    except (OutOfScope, StateError, Forbidden):
        return out
    return [*out, "urge"]
