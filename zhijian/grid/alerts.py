"""C3 信息警示 for grid cases: who is told when a case's step runs late.

The time limits are clocks (``deadlines.clocks``): each case's current step has its step clock,
and the registry's one sweep over all clocks decides *when* — a reminder ``remind_days`` working
days before the due date (the grid rules carry 2), overdue the day after it, escalations after
``DEADLINE_ESCALATE_AFTER_WORKDAYS`` (2 and 5) working days overdue — marking each clock once per
level and emitting ``clock.reminder`` / ``clock.overdue`` / ``clock.escalated``. This module decides
*who*: the ``grid.warnings`` handler turns the events of grid cases' step clocks into ``Warning``
rows along the escalation chain below (data, not SQL), one per (case, step, level) whatever the
number of deliveries, each batch a ``WarningRun`` traced once. Supervision tasks' clocks
(procedure ``supervision.task``) are warned the same way (step ``due``; a village's first-visit
task is followed through its grid case instead), and so are the departments' pushed items by their
matter's day limit (``coordination.pushitem``: the claimer, else the department's head; then the
head; then the head of the area's market regulator — ``_push_warnings``). An unclaimed item's
receipt limit in hours (``deadline_hours``/``due_at``, step ``receipt``) is not a registry clock:
``receipt_warnings`` reads the items by the current time, run hourly from ``grid.sweeps``.

=====  ==============================  ==============================================
level  clock event                      to whom (``ESCALATION``)
=====  ==============================  ==============================================
0      ``clock.reminder``               the case's officer (else the unit head)
1      ``clock.overdue``                the case's officer (else the unit head)
2      ``clock.escalated`` (1st)        the head (领导) of the case's unit
3      ``clock.escalated`` (2nd)        the head of the unit's parent (supervising level)
=====  ==============================  ==============================================
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.scoping import in_jurisdiction
from zhijian.deadlines import clocks
from zhijian.org.choices import RoleCode
from zhijian.org.models import Bureau, Department, User

from zhijian.coordination.choices import OPEN_PUSH_STATES, PUSH_PROCEDURE, PushState
from zhijian.coordination.models import PushItem
from zhijian.coordination.push import VILLAGE_BUSINESS_LINE
from zhijian.supervision.choices import PROCEDURE as TASK_PROCEDURE
from zhijian.supervision.models import Task

from .choices import STATE_RULES, ItemType, WarningLevel
from .models import GridCase, Warning, WarningRun
from .procedure import GRID_CASE, STEP_CLOCK

CLOCK_EVENTS = ("clock.reminder", "clock.overdue", "clock.escalated")

# The escalation chain, as data: per level, who gets the warning.
PERSON, UNIT_HEAD, PARENT_HEAD = "person", "unit_head", "parent_head"
ESCALATION = {
    WarningLevel.REMINDER: PERSON,
    WarningLevel.OVERDUE: PERSON,
    WarningLevel.UNIT_HEAD: UNIT_HEAD,
    WarningLevel.SUPERVISOR: PARENT_HEAD,
}
STEP_OF_RULE = {rule: str(state) for state, rule in STATE_RULES.items()}  # the step a step clock's rule times


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _heads(bureau_ids) -> dict[int, int]:
    """Each bureau's head: its active leader with the lowest id."""
    return dict(User.objects.filter(is_active=True, bureau_id__in=bureau_ids, roles__code=RoleCode.LEADER)
                .values("bureau_id").annotate(first=Min("id")).values_list("bureau_id", "first"))


def _recipient(level, case, heads, parents) -> tuple[int | None, int | None]:
    """(recipient id, bureau id) of a warning of ``level`` on ``case`` along ``ESCALATION``."""
    who = ESCALATION[level]
    if who == PERSON:
        return case.assignee_id or heads.get(case.bureau_id), case.bureau_id
    if who == UNIT_HEAD:
        return heads.get(case.bureau_id), case.bureau_id
    parent = parents.get(case.bureau_id)
    return heads.get(parent), parent or case.bureau_id


def _case_warnings(wanted) -> list[tuple[dt.date, int, Warning]]:
    """Warnings on grid cases' step clocks: (sweep day, level, unsaved row)."""
    cases = GridCase.objects.only("id", "assignee_id", "bureau_id", "division_code").in_bulk({int(c["object_id"]) for _t, _l, c in wanted})
    return _warnings(ItemType.GRID_CASE, wanted, cases, lambda c: STEP_OF_RULE[c["rule"]])


def _task_warnings(wanted) -> list[tuple[dt.date, int, Warning]]:
    """Warnings on supervision tasks' clocks (step ``due``). A village's grid first-visit task is
    followed through its grid case, which carries the limits: not warned twice."""
    tasks = (Task.objects.only("id", "assignee_id", "bureau_id", "division_code", "business_line")
             .exclude(business_line=VILLAGE_BUSINESS_LINE).in_bulk({int(c["object_id"]) for _t, _l, c in wanted}))
    return _warnings(ItemType.TASK, wanted, tasks, lambda c: "due")


def _warnings(item_type, wanted, objs, step_of) -> list[tuple[dt.date, int, Warning]]:
    """Rows along ``ESCALATION`` for objects with ``assignee_id``/``bureau_id``/``division_code``."""
    bureau_ids = {o.bureau_id for o in objs.values() if o.bureau_id}
    parents = dict(Bureau.objects.filter(pk__in=bureau_ids, parent__isnull=False).values_list("id", "parent_id"))
    heads = _heads(bureau_ids | set(parents.values()))
    out = []
    for today, level, c in wanted:
        obj = objs.get(int(c["object_id"]))
        if obj is None:
            continue
        recipient, bureau = _recipient(level, obj, heads, parents)
        out.append((today, level, Warning(item_type=item_type, item_id=obj.pk, step=step_of(c), level=level, due_on=_date(c["due_on"]),
                                          recipient_id=recipient, bureau_id=bureau, division_code=obj.division_code)))
    return out


def _push_warnings(wanted, *, states=OPEN_PUSH_STATES, step=None) -> list[tuple[dt.date, int, Warning]]:
    """Warnings on departments' pushed items (their matter's day limit; step = the item's state):
    the person who claimed the item, else the department's head; then the head; then the head of
    the market regulator of the department's area (the bureau whose division is the longest prefix
    of the department's). Items no longer open (finished, returned, reassigned) are not warned."""
    items = (PushItem.objects.only("id", "claimed_by_id", "department_id", "division_code", "state")
             .filter(state__in=states).in_bulk({int(c["object_id"]) for _t, _l, c in wanted}))
    dept_ids = {i.department_id for i in items.values()}
    dept_heads = dict(User.objects.filter(is_active=True, department_id__in=dept_ids, roles__code=RoleCode.LEADER)
                      .values("department_id").annotate(first=Min("id")).values_list("department_id", "first"))
    bureaus: dict[str, int] = {}
    for pk, code in Bureau.objects.order_by("-id").values_list("id", "division_code"):
        bureaus[code] = pk  # lowest id wins
    above = {}
    for pk, code in Department.objects.filter(pk__in=dept_ids).values_list("id", "division_code"):
        above[pk] = next((bureaus[code[:n]] for n in range(len(code), 0, -1) if code[:n] in bureaus), None)
    regulators = _heads({b for b in above.values() if b})
    out = []
    for today, level, c in wanted:
        item = items.get(int(c["object_id"]))
        if item is None:
            continue
        who, head, bureau = ESCALATION[level], dept_heads.get(item.department_id), None
        if who == PERSON:
            recipient = item.claimed_by_id or head
        elif who == UNIT_HEAD:
            recipient = head
        else:
            bureau = above.get(item.department_id)
            recipient = regulators.get(bureau)
        out.append((today, level, Warning(item_type=ItemType.PUSH_ITEM, item_id=item.pk, step=step or str(item.state), level=level,
                                          due_on=_date(c["due_on"]), recipient_id=recipient, bureau_id=bureau,
                                          division_code=item.division_code)))
    return out


def _is_push_clock(c) -> bool:
    return c["procedure"] == PUSH_PROCEDURE and c["name"] == "main"


def _is_case_clock(c) -> bool:
    return c["procedure"] == GRID_CASE.name and c["name"] == STEP_CLOCK and c["rule"] in STEP_OF_RULE


def _is_task_clock(c) -> bool:
    return c["procedure"] == TASK_PROCEDURE and c["name"] == "main"


# Per item type: which reported clocks are its own, and how they become warnings.
SOURCES = ((ItemType.GRID_CASE, _is_case_clock, _case_warnings), (ItemType.TASK, _is_task_clock, _task_warnings),
           (ItemType.PUSH_ITEM, _is_push_clock, _push_warnings))


def raise_warnings(evs) -> dict[tuple[str, int], int]:
    """Warnings for the clocks the sweep reported in ``evs`` (``clock.*`` events, each listing the
    clocks of one chunk and county): grid cases' step clocks and supervision tasks' clocks (other
    clocks are ignored). Returns {(item type, level): new warnings}."""
    wanted: dict = defaultdict(list)  # item type -> [(sweep day, level, clock dict)]
    for e in evs:
        p = e.payload or {}
        level = int(p.get("level", -1))
        if level not in ESCALATION:
            continue
        today = _date(p.get("today") or timezone.localdate())
        for c in clocks.reported_clocks(p):
            for item_type, mine, _build in SOURCES:
                if mine(c):
                    wanted[item_type].append((today, level, c))
                    break
    out: dict[tuple[str, int], int] = {}
    for item_type, _mine, build in SOURCES:
        if wanted[item_type]:
            _insert_runs(item_type, build(wanted[item_type]), out)
    return out


def _insert_runs(item_type, built, out: dict) -> dict:
    by_run: dict[tuple[dt.date, int], list[Warning]] = defaultdict(list)
    for today, level, row in built:
        by_run[(today, level)].append(row)
    for (today, level), rows in sorted(by_run.items()):
        key = (str(item_type), int(level))
        out[key] = out.get(key, 0) + _insert_run(today, level, rows, item_type=item_type)
    return out


RECEIPT_STEP = "receipt"


def receipt_offsets() -> dict[int, dt.timedelta]:
    """Per level, how long after an unclaimed item's receipt moment (``due_at``) it is raised:
    the reminder ``PUSH_WARN_REMIND_MINUTES`` before (60), overdue right after, the department head
    ``PUSH_WARN_UNIT_HEAD_AFTER_HOURS`` (2) and the area's regulator
    ``PUSH_WARN_SUPERVISOR_AFTER_HOURS`` (8) hours after."""
    return {
        WarningLevel.REMINDER: -dt.timedelta(minutes=int(getattr(settings, "PUSH_WARN_REMIND_MINUTES", 60))),
        WarningLevel.OVERDUE: dt.timedelta(0),
        WarningLevel.UNIT_HEAD: dt.timedelta(hours=int(getattr(settings, "PUSH_WARN_UNIT_HEAD_AFTER_HOURS", 2))),
        WarningLevel.SUPERVISOR: dt.timedelta(hours=int(getattr(settings, "PUSH_WARN_SUPERVISOR_AFTER_HOURS", 8))),
    }


def receipt_warnings(now: dt.datetime | None = None) -> dict[tuple[str, int], int]:
    """签收时限: pushed items with a receipt limit in hours (``deadline_hours``) that nobody has
    claimed yet, warned by the clock (not working days): the reminder while ``now`` is in the last
    ``PUSH_WARN_REMIND_MINUTES`` before ``due_at`` (a missed reminder is not raised once overdue),
    overdue after it, the escalations by ``receipt_offsets``; step ``receipt``, same recipients as
    the day limit (``_push_warnings``), each level once. Run hourly (``grid.sweeps``).
    Returns {(item type, level): new warnings}."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    offsets = receipt_offsets()
    remind = -offsets[WarningLevel.REMINDER]
    due = (PushItem.objects.filter(state=PushState.PUSHED, deadline_hours__isnull=False, due_at__isnull=False,
                                   due_at__lte=now + remind).values_list("id", "due_at"))
    wanted = []
    for pk, due_at in due:
        c = {"object_id": pk, "due_on": timezone.localdate(due_at)}
        if due_at >= now:
            wanted.append((today, WarningLevel.REMINDER, c))
            continue
        wanted.extend((today, level, c) for level, after in offsets.items()
                      if level != WarningLevel.REMINDER and due_at + after < now)
    if not wanted:
        return {}
    return _insert_runs(ItemType.PUSH_ITEM, _push_warnings(wanted, states=(PushState.PUSHED,), step=RECEIPT_STEP), {})


@transaction.atomic
def _insert_run(today: dt.date, level: int, rows: list[Warning], *, item_type=ItemType.GRID_CASE) -> int:
    now = timezone.now()
    run = WarningRun.objects.create(ran_on=today, item_type=item_type, level=level, at=now)
    for w in rows:
        w.run, w.raised_at = run, now
    Warning.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)  # once per (item, step, level)
    made = list(Warning.objects.filter(run=run).values_list("id", flat=True).order_by("id"))
    if not made:
        run.delete()
        return 0
    run.count = len(made)
    run.save(update_fields=["count"])
    trace.record(actor="sweep:grid.warnings", action="grid.warnings.raise", obj=run, before=None,
                 after={"item_type": str(item_type), "level": int(level), "count": len(made), "ids": [made[0], made[-1]],
                        "ran_on": today})
    events.emit("grid.warnings_raised", payload={"run_id": run.pk, "item_type": str(item_type), "level": int(level),
                                                 "count": len(made), "ran_on": today},
                object_type="grid.warningrun", object_id=str(run.pk))
    return len(made)


@transaction.atomic
def warning_acknowledge(*, actor, warning) -> Warning:
    """The recipient (or a leader or dispatcher of the area) acknowledges a warning."""
    if not in_jurisdiction(actor, warning.division_code) and warning.recipient_id != actor.pk:
        raise OutOfScope()
    if warning.recipient_id != actor.pk and not actor.has_role(RoleCode.LEADER, RoleCode.DISPATCHER):
        raise ApplicationError(_("只有接收人或本辖区的领导、调度员可以确认预警"), code="forbidden")
    current = Warning.objects.select_for_update().get(pk=warning.pk)
    if not current.acknowledged:
        current.acknowledged, current.acknowledged_at = True, timezone.now()
        current.save(update_fields=["acknowledged", "acknowledged_at"])
        trace.record(actor=actor, action="grid.warning.acknowledge", obj=current, before={"acknowledged": False}, after={"acknowledged": True})
        events.emit("grid.warning_acknowledged", payload={"warning_id": current.pk, "item_type": current.item_type, "item_id": current.item_id,
                                                          "level": current.level}, division_code=current.division_code,
                    object_type="grid.warning", object_id=str(current.pk))
    warning.acknowledged, warning.acknowledged_at = current.acknowledged, current.acknowledged_at
    return warning
