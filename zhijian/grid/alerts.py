"""C3 信息警示: one set-based sweep over every open time-limited item.

Items: grid cases (their current step's due date), supervision tasks (their due date) and the
departments' pushed items (their day limit; escalating from the person who claimed the item, else
the department's head, to the head, then the market regulator of the area). For a
sweep day ``T`` each warning level is one date range on the item's due date, computed once in
Python with the working-day calendar:

=====  ==========================================  =============================================
level  when                                        to whom
=====  ==========================================  =============================================
0      ``T ≤ due ≤ T + REMIND working days``       the person (else the unit head)
1      ``due < T`` (overdue)                        the person (else the unit head)
2      overdue by more than UNIT_HEAD_AFTER wd      the head (领导) of the item's unit
3      overdue by more than SUPERVISOR_AFTER wd     the head of the unit's parent (supervising level)
=====  ==========================================  =============================================

Each (level, item type) is ONE ``INSERT … SELECT … ON CONFLICT DO NOTHING`` over the indexed
``(state, due)`` range joined to ``EscalationChain`` (bureau → head, parent → head, refreshed at
the start of the sweep). The unique constraint (item_type, item_id, step, level) means a warning
is never raised twice, however often or concurrently the sweep runs. Each batch is a
``WarningRun`` with one trace entry (count and id range) and one ``grid.warnings_raised`` event;
acknowledging a warning is traced per warning.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.scoping import in_jurisdiction
from zhijian.core.transactions import no_flush_wait
from zhijian.deadlines.workdays import add_workdays
from zhijian.org.choices import RoleCode

from .choices import OPEN_STATES, ItemType, WarningLevel
from .models import DepartmentChain, EscalationChain, GridCase, Warning, WarningRun


def _setting(name, default):
    return int(getattr(settings, name, default))


def thresholds(today: dt.date) -> dict[int, tuple[dt.date | None, dt.date | None]]:
    """Per level, the inclusive range [low, high] of due dates that raise it on ``today``."""
    remind = _setting("GRID_WARN_REMIND_WORKDAYS", 2)
    head = _setting("GRID_WARN_UNIT_HEAD_AFTER", 2)
    sup = _setting("GRID_WARN_SUPERVISOR_AFTER", 5)
    one = dt.timedelta(days=1)
    return {
        WarningLevel.REMINDER: (today, add_workdays(today, remind)),
        WarningLevel.OVERDUE: (None, today - one),
        WarningLevel.UNIT_HEAD: (None, add_workdays(today, -head) - one),
        WarningLevel.SUPERVISOR: (None, add_workdays(today, -sup) - one),
    }


def _sources():
    from zhijian.coordination.choices import OPEN_PUSH_STATES, PushState
    from zhijian.coordination.models import PushItem
    from zhijian.supervision.choices import OPEN_STATES as TASK_OPEN
    from zhijian.supervision.models import Task

    return [
        # item type, table, step expression, due column, open states, extra condition, chain. A
        # village's grid task (coordination) is followed through its grid case, which carries the limits.
        (ItemType.GRID_CASE, GridCase._meta.db_table, "c.state", "step_due_on", [str(s) for s in OPEN_STATES], "", "bureau"),
        (ItemType.TASK, Task._meta.db_table, "'due'", "due_on", [str(s) for s in TASK_OPEN], "c.business_line <> 'grid_first_visit'",
         "bureau"),
        # A department's pushed items by their day limit, and by their receipt limit in hours (签收时限)
        # while nobody has claimed them.
        (ItemType.PUSH_ITEM, PushItem._meta.db_table, "c.state", "due_on", [str(s) for s in OPEN_PUSH_STATES], "", "department"),
        (ItemType.PUSH_ITEM, PushItem._meta.db_table, "'receipt'", "due_at", [str(PushState.PUSHED)], "c.deadline_hours IS NOT NULL",
         "department"),
    ]


HOURLY = {"due_at"}  # due columns holding a moment, not a day: thresholds in hours


def hour_thresholds(now: dt.datetime) -> dict[int, tuple[dt.datetime | None, dt.datetime | None]]:
    """Per level, the inclusive range of due moments that raise it at ``now`` (hour limits run on
    the clock, not on working days: a receipt within 1 hour is meant literally)."""
    remind = dt.timedelta(minutes=_setting("PUSH_WARN_REMIND_MINUTES", 60))
    head = dt.timedelta(hours=_setting("PUSH_WARN_UNIT_HEAD_AFTER_HOURS", 2))
    sup = dt.timedelta(hours=_setting("PUSH_WARN_SUPERVISOR_AFTER_HOURS", 8))
    tick = dt.timedelta(microseconds=1)
    return {
        WarningLevel.REMINDER: (now, now + remind),
        WarningLevel.OVERDUE: (None, now - tick),
        WarningLevel.UNIT_HEAD: (None, now - head - tick),
        WarningLevel.SUPERVISOR: (None, now - sup - tick),
    }


def refresh_chain() -> int:
    """Rebuild bureau → head / parent → parent's head from org data (leaders, lowest id first)."""
    from zhijian.org.models import Bureau, User

    heads = dict(User.objects.filter(is_active=True, bureau__isnull=False, roles__code=RoleCode.LEADER)
                 .values("bureau_id").annotate(first=Min("id")).values_list("bureau_id", "first"))
    rows = [EscalationChain(bureau_id=b, head_id=heads.get(b), parent_bureau_id=p, parent_head_id=heads.get(p))
            for b, p in Bureau.objects.values_list("id", "parent_id")]
    EscalationChain.objects.all().delete()
    EscalationChain.objects.bulk_create(rows, batch_size=2000)
    _refresh_departments(heads)
    return len(rows)


def _refresh_departments(bureau_heads: dict[int, int]) -> None:
    from zhijian.org.models import Bureau, Department, User

    heads = dict(User.objects.filter(is_active=True, department__isnull=False, roles__code=RoleCode.LEADER)
                 .values("department_id").annotate(first=Min("id")).values_list("department_id", "first"))
    bureaus: dict[str, int] = {}
    for pk, code in Bureau.objects.order_by("-id").values_list("id", "division_code"):
        bureaus[code] = pk  # lowest id wins
    rows = []
    for pk, code in Department.objects.values_list("id", "division_code"):
        above = next((bureaus[code[:n]] for n in range(len(code), 0, -1) if code[:n] in bureaus), None)
        rows.append(DepartmentChain(department_id=pk, head_id=heads.get(pk), supervisor_bureau_id=above,
                                    supervisor_head_id=bureau_heads.get(above)))
    DepartmentChain.objects.all().delete()
    DepartmentChain.objects.bulk_create(rows, batch_size=2000)


# Per chain: the join, and (recipient, bureau) per level.
_RECIPIENT = {
    "bureau": {
        WarningLevel.REMINDER: ("COALESCE(c.assignee_id, e.head_id)", "c.bureau_id"),
        WarningLevel.OVERDUE: ("COALESCE(c.assignee_id, e.head_id)", "c.bureau_id"),
        WarningLevel.UNIT_HEAD: ("e.head_id", "c.bureau_id"),
        WarningLevel.SUPERVISOR: ("e.parent_head_id", "COALESCE(e.parent_bureau_id, c.bureau_id)"),
    },
    "department": {  # the person who claimed the item, else the department's head; then the area's regulator
        WarningLevel.REMINDER: ("COALESCE(c.claimed_by_id, e.head_id)", "NULL"),
        WarningLevel.OVERDUE: ("COALESCE(c.claimed_by_id, e.head_id)", "NULL"),
        WarningLevel.UNIT_HEAD: ("e.head_id", "NULL"),
        WarningLevel.SUPERVISOR: ("e.supervisor_head_id", "e.supervisor_bureau_id"),
    },
}


def _join(chain: str) -> str:
    q = connection.ops.quote_name
    if chain == "department":
        return f"LEFT JOIN {q(DepartmentChain._meta.db_table)} e ON e.department_id = c.department_id"
    return f"LEFT JOIN {q(EscalationChain._meta.db_table)} e ON e.bureau_id = c.bureau_id"


def _insert(*, item_type, table, step_sql, due_col, states, extra, level, low, high, run_id, now, chain="bureau") -> int:
    ops = connection.ops
    q = ops.quote_name
    where = [f"c.state IN ({', '.join(['%s'] * len(states))})", f"c.{q(due_col)} IS NOT NULL"]
    params_where: list = list(states)
    if extra:
        where.append(extra)
    adapt = ops.adapt_datetimefield_value if due_col in HOURLY else ops.adapt_datefield_value
    if low is not None:
        where.append(f"c.{q(due_col)} >= %s")
        params_where.append(adapt(low))
    if high is not None:
        where.append(f"c.{q(due_col)} <= %s")
        params_where.append(adapt(high))
    recipient, bureau = _RECIPIENT[chain][level]
    due_sql, due_params = f"c.{q(due_col)}", []
    if due_col in HOURLY:  # the warning's due day: the moment's local date
        due_sql, due_params = ops.datetime_cast_date_sql(due_sql, (), settings.TIME_ZONE)
        due_params = list(due_params)
    sql = (
        f"INSERT INTO {q(Warning._meta.db_table)} (item_type, item_id, step, level, due_on, recipient_id, bureau_id, division_code, "
        f"run_id, raised_at, acknowledged) "
        f"SELECT %s, c.id, {step_sql}, %s, {due_sql}, {recipient}, {bureau}, c.division_code, %s, %s, %s "
        f"FROM {q(table)} c {_join(chain)} "
        f"WHERE {' AND '.join(where)} "
        f"ON CONFLICT (item_type, item_id, step, level) DO NOTHING"
    )
    params = [str(item_type), int(level), *due_params, run_id, ops.adapt_datetimefield_value(now), False, *params_where]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return max(cur.rowcount, 0)


def sweep(*, today: dt.date | None = None, now=None) -> dict[tuple[str, int], int]:
    """Raise every warning due on ``today`` that has not been raised. Returns {(item type, level): new}."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    refresh_chain()
    # Each batch commits without waiting for the WAL flush (PostgreSQL): a batch a crash loses is
    # raised again by the next sweep (the unique key makes the sweep idempotent).
    out = {}
    by_day, by_hour = thresholds(today), hour_thresholds(now)
    for item_type, table, step_sql, due_col, states, extra, chain in _sources():
        for level, (low, high) in (by_hour if due_col in HOURLY else by_day).items():
            with transaction.atomic():
                no_flush_wait()
                run = WarningRun.objects.create(ran_on=today, item_type=item_type, level=level, at=now)
                before = Warning.objects.aggregate(hi=Max("id"))["hi"] or 0
                n = _insert(item_type=item_type, table=table, step_sql=step_sql, due_col=due_col, states=states, extra=extra, level=level,
                            low=low, high=high, run_id=run.pk, now=now, chain=chain)
                if not n:
                    run.delete()
                else:
                    # The batch's ids follow the highest id before it (one sweep at a time: the lease).
                    span = {"lo": before + 1, "hi": Warning.objects.aggregate(hi=Max("id"))["hi"]}
                    run.count = n
                    run.save(update_fields=["count"])
                    trace.record(actor="sweep:grid.warnings", action="grid.warnings.raise", obj=run, before=None,
                                 after={"item_type": str(item_type), "level": int(level), "count": n, "ids": [span["lo"], span["hi"]],
                                        "ran_on": today})
                    events.emit("grid.warnings_raised", payload={"run_id": run.pk, "item_type": str(item_type), "level": int(level),
                                                                 "count": n, "ran_on": today},
                                object_type="grid.warningrun", object_id=str(run.pk))
            out[(str(item_type), int(level))] = out.get((str(item_type), int(level)), 0) + n
    return out


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
