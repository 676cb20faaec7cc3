"""The clock registry: every legal time limit of every procedure, one ``Clock`` row each.

    clock = clocks.start(procedure="supervision.task", object_id=task.pk, rule="penalty.clue_verify",
                         start=found_on, division_code=task.division_code, actor=officer)
    clocks.extend(clock, rule="penalty.clue_verify_extension", actor=chief, reason="案情复杂")
    clocks.suspend(clock, on=hearing_day, reason="听证", actor=officer)
    clocks.resume(clock, on=hearing_end, actor=officer)
    clocks.stop_for("supervision.task", task.pk, on=closed_on, actor=officer)

Rules of the registry:

* **One row per (procedure, object_id, name).** ``start`` on an existing key restarts it (a step
  clock: grid cases give each state its own clock; ``restart`` says so explicitly).
* **The due date is a function of the row.** ``started_on`` + the rule version, then the
  ``history`` in order: each suspension moves the due date later by the days it lasted (counted in
  the rule's unit: working days for a working-day rule, natural days otherwise), each extension
  applies its rule **from the due date it extends** (the original due date on a first extension),
  never from the start. :func:`_replay` computes it; ``start``/``extend``/``resume`` and the
  recomputation after a new holiday schedule all call it.
* **Unknown years never refuse.** A year without a holiday schedule is counted on its provisional
  calendar (``workdays``); the clock is marked ``provisional``. When the schedule is entered
  (``services.holidays_enter`` or the admin), :func:`recompute_provisional` recomputes every open
  provisional clock; a period owed to a party (``obligor = party``) never moves earlier.
* **Every write is traced and emits an event** (``clock.started``, ``clock.extended``,
  ``clock.suspended``, ``clock.resumed``, ``clock.stopped``, ``clock.recomputed``; the sweep:
  ``clock.reminder``, ``clock.overdue``, ``clock.escalated`` and, for procedures registered in
  ``core.workflow.PROCEDURES``, ``<event_prefix>.overdue`` with the procedure's payload).
* **One sweep** (:func:`sweep`, registered as ``deadlines.clocks``) raises reminders, overdue marks
  and escalations with conditional UPDATEs in chunks: two sweeps never report one clock twice.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace, workflow
from zhijian.core.errors import ApplicationError
from zhijian.core.scoping import common_division

from . import workdays
from .choices import ClockState, Obligor, RuleKind, Unit
from .models import Clock, DeadlineRule
from .rules import RuleNotFound, rule_in_force

OBJECT_TYPE = "deadlines.clock"


class ClockStateError(ApplicationError):
    status = 409

    def __init__(self, clock: Clock, wanted: str):
        super().__init__(
            _("期限计时“%(clock)s”当前为“%(state)s”，不能%(action)s") % {
                "clock": f"{clock.procedure}#{clock.object_id}/{clock.name}", "state": clock.get_state_display(), "action": wanted},
            code="clock_state", extra={"state": clock.state},
        )


# --- settings -------------------------------------------------------------------------------------


def remind_workdays(rule: DeadlineRule) -> int:
    """Working days before the due date at which the reminder is raised (rule, else setting)."""
    if rule.remind_days is not None:
        return rule.remind_days
    return int(getattr(settings, "DEADLINE_REMIND_WORKDAYS", 3))


def escalate_after() -> tuple[int, ...]:
    """Escalation levels: overdue by more than N working days (level 1, 2, …)."""
    return tuple(int(n) for n in getattr(settings, "DEADLINE_ESCALATE_AFTER_WORKDAYS", (2, 5)))


# --- computing a due date ---------------------------------------------------------------------------


def _rule(rule, at: dt.date) -> DeadlineRule:
    if isinstance(rule, DeadlineRule):
        return rule
    return rule_in_force(str(rule), at)


def _version(code: str, version: int) -> DeadlineRule:
    row = DeadlineRule.objects.filter(code=code, version=version).first()
    if row is None:
        raise RuleNotFound(code, timezone.localdate())
    return row


def _apply(rule: DeadlineRule, start: dt.date, amount: int | None = None) -> tuple[dt.date, dt.date]:
    """(unrolled end, due date) of ``rule`` (or of ``amount`` units of it) counted from ``start``.
    Only natural-day, month and year rules with ``roll_forward`` differ: their last day, if a day
    off, rolls to the next working day (民法典 art. 203)."""
    if rule.kind == RuleKind.ANNUAL_WINDOW:
        em, ed = (int(x) for x in rule.window_end.split("-"))
        end = dt.date(start.year, em, ed)
        return end, end
    n = rule.amount if amount is None else amount
    if rule.unit == Unit.WORKDAYS:
        end = workdays.add_workdays(start, n)
        return end, end
    if rule.unit == Unit.DAYS:
        end = workdays.add_days(start, n)
    elif rule.unit == Unit.MONTHS:
        end = workdays.add_months(start, n)
    else:
        end = workdays.add_years(start, n)
    return end, (workdays.next_workday(end) if rule.roll_forward else end)


def _span(unit: str, since: dt.date, until: dt.date) -> int:
    """Days of a suspension from ``since`` to ``until``, in the rule's unit: the working days in
    (since, until] for a working-day rule, else the natural days. The period ran on ``since``
    and runs again from the day after ``until`` (the resumption day counts like a start day)."""
    if until <= since:
        return 0
    if unit == Unit.WORKDAYS:
        return workdays.workdays_between(since, until)
    return (until - since).days


@dataclass(frozen=True)
class Computed:
    due_on: dt.date
    original_due_on: dt.date
    suspended_days: int
    provisional: bool
    remind_on: dt.date | None
    history: list


def _replay(rule: DeadlineRule, started_on: dt.date, history: list, *, amount: int | None = None,
            rules_cache: dict | None = None) -> Computed:
    """The due date from the start, the rule version (``amount`` units of it if given) and the
    history (suspensions, extensions), in order."""
    rules_cache = {} if rules_cache is None else rules_cache
    out = []
    suspended = 0
    with workdays.tracking() as used:
        raw, due = _apply(rule, started_on, amount)
        original = due
        for h in history:
            h = dict(h)
            if h["op"] == "suspend" and h.get("to"):
                days = _span(rule.unit, dt.date.fromisoformat(h["from"]), dt.date.fromisoformat(h["to"]))
                h["days"] = days
                suspended += days
                if rule.unit == Unit.WORKDAYS:
                    raw = due = workdays.add_workdays(due, days)
                else:
                    raw = raw + dt.timedelta(days=days)
                    due = workdays.next_workday(raw) if rule.roll_forward else raw
            elif h["op"] == "extend":
                key = (h["rule"], h["version"])
                ext = rules_cache.get(key) or rules_cache.setdefault(key, _version(*key))
                h["from_due"] = due.isoformat()
                raw, due = _apply(ext, due)  # from the due date it extends, never from the start
                h["to_due"] = due.isoformat()
            out.append(h)
        remind = workdays.add_workdays(due, -remind_workdays(rule)) if remind_workdays(rule) else due
    return Computed(due_on=due, original_due_on=original, suspended_days=suspended, provisional=bool(used),
                    remind_on=remind, history=out)


# --- the record ---------------------------------------------------------------------------------

_SNAPSHOT = ("procedure", "object_id", "name", "rule_code", "rule_version", "amount", "started_on", "due_on", "original_due_on",
             "provisional", "state", "suspended_since", "suspended_days", "overdue", "stopped_on")


def snapshot(clock: Clock) -> dict:
    return {f: (v.isoformat() if isinstance(v := getattr(clock, f), dt.date) else v) for f in _SNAPSHOT}


def payload(clock: Clock, **extra) -> dict:
    return {
        "clock_id": clock.pk, "procedure": clock.procedure, "object_id": clock.object_id, "name": clock.name,
        "rule": clock.rule_code, "version": clock.rule_version, "started_on": clock.started_on, "due_on": clock.due_on,
        "original_due_on": clock.original_due_on, "provisional": clock.provisional, "state": clock.state,
        "obligor": clock.obligor, "division_code": clock.division_code, "entity_id": clock.entity_id, **extra,
    }


def _log(clock: Clock, action: str, *, actor, before: dict | None, **extra) -> None:
    trace.record(actor=actor, action=f"clock.{action}", obj=clock, object_type=OBJECT_TYPE, before=before,
                 after={**snapshot(clock), **({"note": extra} if extra else {})}, division_code=clock.division_code)
    events.emit(f"clock.{action}", payload=payload(clock, **extra), division_code=clock.division_code,
                object_type=OBJECT_TYPE, object_id=str(clock.pk))


def _apply_computed(clock: Clock, c: Computed, today: dt.date) -> None:
    clock.due_on, clock.original_due_on = c.due_on, c.original_due_on
    clock.suspended_days, clock.provisional, clock.remind_on, clock.history = c.suspended_days, c.provisional, c.remind_on, c.history
    _reset_marks(clock, today)


def _reset_marks(clock: Clock, today: dt.date) -> None:
    """After the due date moved: marks that no longer hold are cleared, so they can be raised again."""
    if clock.due_on >= today:
        clock.overdue, clock.overdue_marked_at, clock.escalation, clock.escalated_at = False, None, 0, None
    if clock.remind_on is not None and clock.remind_on > today:
        clock.warned_at = None


def _locked(clock: Clock) -> Clock:
    return Clock.objects.select_for_update().get(pk=clock.pk)


# --- the API --------------------------------------------------------------------------------------


def get(procedure: str, object_id, name: str = "main") -> Clock | None:
    return Clock.objects.filter(procedure=procedure, object_id=object_id, name=name).first()


def start(*, procedure: str, object_id, rule, start: dt.date, name: str = "main", division_code: str = "",
          entity_id=None, actor=None, at: dt.date | None = None, amount: int | None = None) -> Clock:
    """Start (or restart) the clock ``name`` of an object: ``rule`` (a code, or a ``DeadlineRule``
    row) in the version in force on ``at`` (default ``start``) counted from ``start``.

    ``amount`` sets the period of this clock when the officer fixes it within the rule's
    maximum (a correction order of 15 working days under ``inspection.max_correction``, 90):
    ``0 < amount ≤ rule.amount``, else the rule's ``amount`` applies.
    Starting an open clock again with the same rule and start returns it unchanged (a replay)."""
    return _start(procedure=procedure, object_id=object_id, rule=rule, started_on=start, name=name,
                  division_code=division_code, entity_id=entity_id, actor=actor, at=at, amount=amount)


def check_amount(rule: DeadlineRule, amount: int | None) -> None:
    if amount is not None and not 0 < amount <= rule.amount:
        raise ApplicationError(
            _("期限须为 1–%(max)d %(unit)s（%(name)s）") % {"max": rule.amount, "unit": rule.get_unit_display(), "name": rule.name},
            code="bad_amount", extra={"max": rule.amount, "rule": rule.code},
        )


@transaction.atomic
def _start(*, procedure, object_id, rule, started_on, name, division_code, entity_id, actor, at, amount=None) -> Clock:
    r = _rule(rule, at or started_on)
    check_amount(r, amount)
    existing = Clock.objects.select_for_update().filter(procedure=procedure, object_id=object_id, name=name).first()
    if (existing is not None and existing.state != ClockState.STOPPED and existing.rule_code == r.code
            and existing.rule_version == r.version and existing.started_on == started_on and existing.amount == amount):
        return existing
    before = snapshot(existing) if existing is not None else None
    clock = existing or Clock(procedure=procedure, object_id=object_id, name=name)
    clock.division_code, clock.entity_id = division_code or "", entity_id
    clock.rule_code, clock.rule_version, clock.unit, clock.obligor, clock.amount = r.code, r.version, r.unit, r.obligor, amount
    clock.started_on, clock.state, clock.suspended_since, clock.stopped_on = started_on, ClockState.RUNNING, None, None
    clock.overdue, clock.overdue_marked_at, clock.warned_at, clock.escalation, clock.escalated_at = False, None, None, 0, None
    clock.history = []
    _apply_computed(clock, _replay(r, started_on, [], amount=amount), timezone.localdate())
    clock.save()
    _log(clock, "started", actor=actor, before=before)
    return clock


@transaction.atomic
def restart(*, procedure: str, object_id, rule, start: dt.date, name: str = "main", division_code: str = "",
            entity_id=None, actor=None, at: dt.date | None = None, amount: int | None = None) -> Clock:
    """Stop the clock (if open) and start it again on a new rule/start: a step clock's next step."""
    stop_for(procedure, object_id, name=name, on=start, actor=actor)
    return _start(procedure=procedure, object_id=object_id, rule=rule, started_on=start, name=name,
                  division_code=division_code, entity_id=entity_id, actor=actor, at=at, amount=amount)


@transaction.atomic
def start_many(items: list[dict], *, actor=None) -> list[Clock]:
    """Bulk form of :func:`start` for new objects (no clock yet under their keys): one INSERT, one
    trace entry for the batch, one ``clock.started`` event per clock. ``items`` are dicts with the
    keyword arguments of ``start``."""
    if not items:
        return []
    today = timezone.localdate()
    cache: dict = {}
    replays: dict = {}
    rows = []
    for it in items:
        at = it.get("at") or it["start"]
        rule = it["rule"]
        key = (rule, at) if not isinstance(rule, DeadlineRule) else (rule.code, rule.version)
        r = cache.get(key) or cache.setdefault(key, _rule(rule, at))
        check_amount(r, it.get("amount"))
        c = Clock(procedure=it["procedure"], object_id=it["object_id"], name=it.get("name", "main"),
                  division_code=it.get("division_code", "") or "", entity_id=it.get("entity_id"), rule_code=r.code,
                  rule_version=r.version, amount=it.get("amount"), unit=r.unit, obligor=r.obligor, started_on=it["start"],
                  state=ClockState.RUNNING)
        # A fresh clock's dates depend on (rule version, start, amount) only: a batch (a push of
        # thousands of items on one day) computes them once per distinct triple.
        ckey = (r.code, r.version, it["start"], c.amount)
        computed = replays.get(ckey) or replays.setdefault(ckey, _replay(r, it["start"], [], amount=c.amount))
        _apply_computed(c, computed, today)
        c.history = list(computed.history)
        rows.append(c)
    rows = events.bulk_insert(Clock, rows)
    trace.record(actor=actor, action="clock.started", object_type=OBJECT_TYPE,
                 object_id=f"{rows[0].pk}..{rows[-1].pk}", division_code=common_division(c.division_code for c in rows),
                 after={"count": len(rows), "clocks": [[c.pk, c.procedure, c.object_id, c.name, c.rule_code, str(c.due_on)] for c in rows]})
    events.emit_rows([("clock.started", payload(c), c.division_code, OBJECT_TYPE, str(c.pk)) for c in rows])
    return rows


@transaction.atomic
def extend(clock: Clock, *, rule, actor=None, reason: str = "", at: dt.date | None = None) -> Clock:
    """Extend by ``rule`` (e.g. ``penalty.clue_verify_extension``), counted from the due date being
    extended — the original due date on a first extension — not from the start."""
    clock = _locked(clock)
    if clock.state == ClockState.STOPPED:
        raise ClockStateError(clock, _("延长"))
    r = _rule(rule, at or clock.started_on)
    before = snapshot(clock)
    history = [*clock.history, {"op": "extend", "rule": r.code, "version": r.version, "reason": reason[:200],
                                "on": timezone.localdate().isoformat()}]
    _apply_computed(clock, _replay(_version(clock.rule_code, clock.rule_version), clock.started_on, history, amount=clock.amount), timezone.localdate())
    clock.save()
    _log(clock, "extended", actor=actor, before=before, rule=r.code, version=r.version, reason=reason, from_due=before["due_on"])
    return clock


@transaction.atomic
def suspend(clock: Clock, *, on: dt.date, reason: str, actor=None) -> Clock:
    """Stop counting from ``on`` (a hearing, an expert test …): the days until :func:`resume` are
    not counted. A suspended clock is never reminded or marked overdue."""
    clock = _locked(clock)
    if clock.state != ClockState.RUNNING:
        raise ClockStateError(clock, _("中止"))
    before = snapshot(clock)
    clock.state, clock.suspended_since = ClockState.SUSPENDED, on
    clock.history = [*clock.history, {"op": "suspend", "from": on.isoformat(), "to": None, "reason": reason[:200]}]
    clock.save()
    _log(clock, "suspended", actor=actor, before=before, reason=reason)
    return clock


@transaction.atomic
def resume(clock: Clock, *, on: dt.date, actor=None) -> Clock:
    """Count again from the day after ``on``; the due date moves later by the days suspended."""
    clock = _locked(clock)
    if clock.state != ClockState.SUSPENDED:
        raise ClockStateError(clock, _("恢复计时"))
    before = snapshot(clock)
    history = [dict(h) for h in clock.history]
    history[-1]["to"] = max(on, clock.suspended_since).isoformat()
    clock.state, clock.suspended_since = ClockState.RUNNING, None
    _apply_computed(clock, _replay(_version(clock.rule_code, clock.rule_version), clock.started_on, history, amount=clock.amount), timezone.localdate())
    clock.save()
    _log(clock, "resumed", actor=actor, before=before, days=clock.history[-1].get("days", 0))
    return clock


@transaction.atomic
def stop(clock: Clock | None, *, on: dt.date | None = None, actor=None) -> Clock | None:
    """Stop the clock (the step was done or the matter closed); ``None`` and a stopped clock pass."""
    if clock is None:
        return None
    clock = _locked(clock)
    if clock.state == ClockState.STOPPED:
        return clock
    before = snapshot(clock)
    on = on or timezone.localdate()
    if clock.state == ClockState.SUSPENDED:
        clock.history = [*clock.history[:-1], {**clock.history[-1], "to": max(on, clock.suspended_since).isoformat()}]
    clock.state, clock.stopped_on, clock.suspended_since = ClockState.STOPPED, on, None
    clock.save()
    _log(clock, "stopped", actor=actor, before=before, late=on > clock.due_on)
    return clock


def stop_for(procedure: str, object_id, *, name: str = "main", on: dt.date | None = None, actor=None) -> Clock | None:
    return stop(get(procedure, object_id, name), on=on, actor=actor)


# --- recomputation when a holiday schedule is entered ---------------------------------------------


def recompute_provisional(*, actor=None, today: dt.date | None = None, chunk: int = 500) -> int:
    """Recompute every open provisional clock on the calendar as it now stands.

    A period owed to a party never moves earlier: if the new date is earlier, the later one is
    kept (and no longer provisional). Each change is traced and emits ``clock.recomputed``
    (payload: old and new due date, ``kept_later``) — the people concerned are told by that
    event's handlers. Returns the number of clocks whose due date or mark changed."""
    today = today or timezone.localdate()
    changed = 0
    last = 0
    cache: dict = {}
    while True:
        with transaction.atomic():
            batch = list(Clock.objects.select_for_update().filter(provisional=True, pk__gt=last)
                         .exclude(state=ClockState.STOPPED).order_by("pk")[:chunk])
            if not batch:
                break
            last = batch[-1].pk
            for clock in batch:
                key = (clock.rule_code, clock.rule_version)
                rule = cache.get(key) or cache.setdefault(key, _version(*key))
                c = _replay(rule, clock.started_on, clock.history, amount=clock.amount, rules_cache=cache)
                old_due, before = clock.due_on, snapshot(clock)
                kept_later = clock.obligor == Obligor.PARTY and c.due_on < old_due
                new_due = old_due if kept_later else c.due_on
                if new_due == old_due and c.provisional == clock.provisional:
                    continue
                clock.due_on, clock.provisional, clock.history, clock.suspended_days = new_due, c.provisional, c.history, c.suspended_days
                clock.original_due_on = max(clock.original_due_on, c.original_due_on) if kept_later else c.original_due_on
                clock.remind_on = c.remind_on if not kept_later else workdays.add_workdays(new_due, -remind_workdays(rule))
                _reset_marks(clock, today)
                clock.save()
                _log(clock, "recomputed", actor=actor, before=before, old_due_on=old_due, new_due_on=new_due,
                     computed_due_on=c.due_on, kept_later=kept_later)
                changed += 1
    return changed


# --- the sweep ------------------------------------------------------------------------------------


def levels(today: dt.date) -> list[tuple[str, str, list, dict]]:
    """What each level selects on ``today``: (name, condition on the clock row, its parameters,
    extra payload). The sweep marks these rows; ``bench/sweep.py`` selects them as its baseline."""
    out = [
        ("reminder", "state = 'running' AND warned_at IS NULL AND remind_on <= %s AND due_on >= %s", [today, today], {"level": 0}),
        ("overdue", "state = 'running' AND overdue = %s AND due_on < %s", [False, today], {"level": 1}),
    ]
    for k, limit in enumerate(_escalation_limits(today), start=1):
        out.append((f"escalated_{k}", "state = 'running' AND escalation < %s AND due_on < %s", [k, limit],
                    {"level": 1 + k, "escalation": k}))
    return out


def _escalation_limits(today: dt.date) -> list[dt.date]:
    """Escalation k is due for a clock whose due date is before the k-th limit (overdue by more
    than ``DEADLINE_ESCALATE_AFTER_WORKDAYS[k-1]`` working days)."""
    return [workdays.add_workdays(today, -after) for after in escalate_after()]


# What the sweep's UPDATEs hand back per clock: the first nine are a sweep event's row
# (``EVENT_COLUMNS``), ``escalation`` (the new level) comes last.
REPORTED_COLUMNS = ("id", "procedure", "object_id", "name", "division_code", "entity_id", "rule_code", "due_on", "provisional",
                    "rule_version", "obligor", "escalation")


def _id_bounds() -> tuple[int, int] | None:
    table = connection.ops.quote_name(Clock._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT MIN(id), MAX(id) FROM {table} WHERE state = 'running'")
        lo, hi = cur.fetchone()
    return None if lo is None else (lo, hi)


def _statements(today: dt.date) -> tuple[tuple[str, list], list[tuple[bool, int, str, list]]]:
    """The conditional UPDATEs of a chunk (``"lo"``/``"hi"`` stand for the id range): the reminder
    statement, and the overdue/escalation statements as (was_overdue, was_escalation, sql, params).

    Each row is written once: the rows not yet overdue are marked overdue and escalated to the
    level their due date calls for in one statement (a clock that is not overdue has escalation 0:
    ``_reset_marks`` clears both together); the rows already overdue are split by the level they
    have, one statement each, so every statement knows the marks its rows had and the caller
    reports exactly the levels it raised. Each condition is re-checked on the locked row
    (PostgreSQL re-evaluates an UPDATE's WHERE after waiting for a concurrent sweep; SQLite has one
    writer at a time): two sweeps never report a clock twice."""
    table = connection.ops.quote_name(Clock._meta.db_table)
    adapt = connection.ops.adapt_datefield_value
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    pg = connection.vendor == "postgresql"
    # due_on as text on PostgreSQL: it goes into the events' JSON as it is.
    cols = ", ".join("due_on::text" if pg and c == "due_on" else c for c in REPORTED_COLUMNS)
    limits = _escalation_limits(today)
    order = range(len(limits), 0, -1)
    level_params = [adapt(limits[k - 1]) for k in order]
    # The escalation a clock's due date calls for: CASE WHEN due < limit_n THEN n … ELSE 0 END.
    level = "(CASE " + " ".join(f"WHEN due_on < %s THEN {k}" for k in order) + " ELSE 0 END)"
    chunk = "id >= %s AND id < %s AND state = 'running'"
    reminder = (f"UPDATE {table} SET warned_at = %s WHERE {chunk} AND warned_at IS NULL AND remind_on <= %s AND due_on >= %s "
                f"RETURNING {cols}", [now, "lo", "hi", adapt(today), adapt(today)])
    marks = [(False, 0,
              f"UPDATE {table} SET overdue = %s, overdue_marked_at = %s, escalation = {level}, "
              f"escalated_at = CASE WHEN {level} > 0 THEN %s ELSE escalated_at END "
              f"WHERE {chunk} AND overdue = %s AND due_on < %s RETURNING {cols}",
              [True, now, *level_params, *level_params, now, "lo", "hi", False, adapt(today)])]
    for k in range(len(limits)):
        marks.append((True, k,
                      f"UPDATE {table} SET escalation = {level}, escalated_at = %s "
                      f"WHERE {chunk} AND overdue = %s AND escalation = %s AND due_on < %s RETURNING {cols}",
                      [*level_params, now, "lo", "hi", True, k, adapt(limits[k])]))
    return reminder, marks


def _run(statement: tuple[str, list], lo: int, hi: int) -> list[tuple]:
    sql, params = statement
    params = [lo if p == "lo" else hi if p == "hi" else p for p in params]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


# The rows of a sweep event's payload: ``{"columns": EVENT_COLUMNS, "rows": [[…], …]}``.
EVENT_COLUMNS = ("clock_id", "procedure", "object_id", "name", "division_code", "entity_id", "rule", "due_on", "provisional")
_EVENT_WIDTH = len(EVENT_COLUMNS)


def _report(name: str, rows: list[tuple], extra: dict, today: dt.date) -> None:
    """One trace entry for the chunk; one ``clock.<level>`` event per county (first six digits of
    the division code) listing its clocks; the procedures' own ``<event_prefix>.overdue`` events
    (overdue and escalations), one per object."""
    rows.sort()
    kind = "reminder" if name == "reminder" else ("overdue" if name == "overdue" else "escalated")
    ids = [r[0] for r in rows]
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault((r[4] or "")[:6], []).append(r[:_EVENT_WIDTH])
    divisions = {county: common_division({x[4] or "" for x in g}) for county, g in groups.items()}
    trace.record(actor=None, action=f"clock.{kind}", object_type=OBJECT_TYPE, object_id=f"{ids[0]}..{ids[-1]}",
                 division_code=common_division(set(divisions.values())),
                 after={"today": today.isoformat(), "level": name, "count": len(rows), "ids": ids})
    evs = [(f"clock.{kind}", {"today": today, **extra, "count": len(g), "columns": EVENT_COLUMNS, "rows": g},
            divisions[county], OBJECT_TYPE, f"{g[0][0]}..{g[-1][0]}") for county, g in groups.items()]
    if kind != "reminder":
        by_proc: dict[str, list] = {}
        for r in rows:
            if r[1] in workflow.PROCEDURES:
                by_proc.setdefault(r[1], []).append(r)
        for proc_name, group in by_proc.items():
            proc = workflow.PROCEDURES[proc_name]
            objs = proc.model._default_manager.select_related(*proc.select_related).in_bulk([r[2] for r in group])
            for r in group:
                obj = objs.get(r[2])
                if obj is None:
                    continue
                more = {"clock": r[3], "clock_id": r[0], "due_on": str(r[7]), "rule": r[6], "provisional": bool(r[8]), "today": today, **extra}
                body = proc.payload(obj, **more) if proc.payload else {"id": obj.pk, **more}
                evs.append((f"{proc.event_prefix}.overdue", body, proc.division_of(obj), proc.name, str(obj.pk)))
    events.emit_rows(evs)


def reported_clocks(event) -> list[dict]:
    """The clocks a sweep event reports, as dicts (``clock_id``, ``procedure``, ``object_id`` …)."""
    payload = event.payload if hasattr(event, "payload") else event
    return [{**dict(zip(payload["columns"], row)), "provisional": bool(row[-1])} for row in payload["rows"]]


def sweep(today: dt.date | None = None, *, chunk: int = 20_000) -> dict[str, int]:
    """Raise every due reminder, overdue mark and escalation over the running clocks, in chunks.

    Levels on ``today`` (T): reminder when ``remind_on ≤ T ≤ due_on``; overdue when
    ``due_on < T``; escalation k when overdue by more than ``DEADLINE_ESCALATE_AFTER_WORKDAYS[k-1]``
    working days. Each chunk (``chunk`` consecutive ids) is a few conditional ``UPDATE …
    RETURNING`` (reminders; overdue marks with their escalation; escalations of clocks already
    overdue, by the level they have), each row written once, plus the trace entries and events of
    what they raised, in one transaction: a clock is reported once per level however often or
    concurrently the sweep runs. Events: ``clock.reminder`` / ``clock.overdue`` /
    ``clock.escalated``, one per chunk and county, listing its clocks (:func:`reported_clocks`);
    for procedures registered with the workflow kernel also ``<event_prefix>.overdue`` per object.
    Returns counts per level."""
    today = today or timezone.localdate()
    described = levels(today)
    counts = {name: 0 for name, _c, _p, _e in described}
    extras = {name: extra for name, _c, _p, extra in described}
    bounds = _id_bounds()
    if bounds is None:
        return counts
    reminder, marks = _statements(today)
    n = len(REPORTED_COLUMNS)
    for lo in range(bounds[0], bounds[1] + 1, chunk):
        with transaction.atomic():
            raised: dict[str, list] = {name: [] for name in counts}
            raised["reminder"] = _run(reminder, lo, lo + chunk)
            for was_overdue, was_escalation, sql, params in marks:
                for row in _run((sql, params), lo, lo + chunk):
                    if not was_overdue:
                        raised["overdue"].append(row)
                    for k in range(was_escalation + 1, row[n - 1] + 1):
                        raised[f"escalated_{k}"].append(row)
            for name, rows in raised.items():
                if rows:
                    _report(name, rows, extras[name], today)
                    counts[name] += len(rows)
    return counts
