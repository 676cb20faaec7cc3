"""Benchmark: the clock registry's one sweep (``zhijian.deadlines.clocks.sweep``) over N open clocks.

    python bench/sweep.py [--size 1000000] [--database postgres://postgres@127.0.0.1:5432/zj_bench]

Sets up its own database (a fresh SQLite file under var/bench, or migrates the given URL and
empties the clock table), creates N running clocks in one INSERT … SELECT (due dates spread over
20 days either side of the sweep day, so every level has work: reminders, overdue marks and both
escalation levels), then measures in the same run:
- baseline: the plain SQL that selects the due rows of every level (the same four conditions,
  rows fetched to the client in chunks), no writes;
- ours: ``clocks.sweep(today)`` — per chunk of 20,000 ids, two conditional ``UPDATE … RETURNING``
  (reminders; overdue and escalations together, the row locked and its condition re-checked),
  one trace entry per level and the chunk's ``clock.*`` events (one per county, listing its
  clocks), in one transaction;
- rerun: the same sweep again (nothing may be reported twice: checked).
Last line: RESULT name=sweep size=N ours=<s> baseline=<s> ratio=ours/baseline unit=s …
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_for  # noqa: E402

TODAY = dt.date(2026, 10, 20)
SPREAD = 20  # due dates from TODAY - SPREAD to TODAY + SPREAD
RULE = "grid.first_visit"


def _populate(n: int) -> None:
    """N running clocks of one rule, due dates spread evenly, remind dates as ``clocks`` computes them."""
    from django.db import connection

    from zhijian.deadlines import clocks, workdays
    from zhijian.deadlines.models import Clock
    from zhijian.deadlines.rules import rule_in_force

    rule = rule_in_force(RULE, TODAY)
    before = clocks.remind_workdays(rule)
    offsets = [(k, TODAY + dt.timedelta(days=k - SPREAD)) for k in range(2 * SPREAD + 1)]
    days = [(k, due, workdays.add_workdays(due, -before)) for k, due in offsets]
    table = connection.ops.quote_name(Clock._meta.db_table)
    cols = ("created_at, updated_at, procedure, object_id, name, division_code, rule_code, rule_version, unit, obligor, started_on, "
            "due_on, original_due_on, remind_on, provisional, state, suspended_days, history, overdue, escalation")
    if connection.vendor == "postgresql":
        values = ", ".join(f"({k}, DATE '{d}', DATE '{r}')" for k, d, r in days)
        sql = f"""INSERT INTO {table} ({cols})
        SELECT now(), now(), 'bench.item', g, 'main', '4419000030' || lpad((g %% 100)::text, 2, '0'), %s, %s, 'workdays',
               'authority', v.due - 14, v.due, v.due, v.remind, false, 'running', 0, '[]'::jsonb, false, 0
        FROM generate_series(1, %s) g JOIN (VALUES {values}) AS v(k, due, remind) ON v.k = g %% {len(days)}"""
        params = [rule.code, rule.version, n]
    else:
        values = " UNION ALL ".join(f"SELECT {k} AS k, '{d}' AS due, '{r}' AS remind" for k, d, r in days)
        sql = f"""WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %s), v AS ({values})
        INSERT INTO {table} ({cols})
        SELECT datetime('now'), datetime('now'), 'bench.item', g, 'main', '4419000030' || substr('0' || (g %% 100), -2), %s, %s,
               'workdays', 'authority', date(v.due, '-14 days'), v.due, v.due, v.remind, 0, 'running', 0, '[]', 0, 0
        FROM s JOIN v ON v.k = g %% {len(days)}"""
        params = [n, rule.code, rule.version]
    with connection.cursor() as c:
        c.execute(sql, params)
        if connection.vendor == "postgresql":
            c.execute(f"ANALYZE {table}")


def _baseline() -> int:
    """The same due rows as the sweep's four levels, selected and fetched, nothing written."""
    from django.db import connection

    from zhijian.deadlines import clocks
    from zhijian.deadlines.models import Clock

    table = connection.ops.quote_name(Clock._meta.db_table)
    adapt = connection.ops.adapt_datefield_value
    rows = 0
    with connection.cursor() as c:
        for _name, cond, cond_params, _extra in clocks.levels(TODAY):
            params = [adapt(p) if isinstance(p, dt.date) else p for p in cond_params]
            c.execute(f"SELECT {', '.join(clocks.REPORTED_COLUMNS)} FROM {table} WHERE {cond}", params)
            while True:
                chunk = c.fetchmany(50_000)
                if not chunk:
                    break
                rows += len(chunk)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--database", default=None)
    args = ap.parse_args()
    django_for("sweep", args.database)
    from django.db import connection

    from zhijian.core.models import Event
    from zhijian.deadlines import clocks
    from zhijian.deadlines.models import Clock

    with connection.cursor() as c:
        c.execute(f"DELETE FROM {connection.ops.quote_name(Clock._meta.db_table)}")
        c.execute(f"DELETE FROM {connection.ops.quote_name(Event._meta.db_table)} WHERE type LIKE 'clock.%%'")
    t = time.perf_counter()
    _populate(args.size)
    print(f"created {args.size} running clocks in {time.perf_counter() - t:.1f}s", file=sys.stderr)

    t = time.perf_counter()
    due_rows = _baseline()
    base_s = time.perf_counter() - t

    t = time.perf_counter()
    counts = clocks.sweep(TODAY)
    ours_s = time.perf_counter() - t
    reported = sum(counts.values())
    assert reported == due_rows, (reported, due_rows)  # every due (clock, level) reported exactly once
    listed = sum(e.payload["count"] for e in Event.objects.filter(type__startswith="clock.").only("payload").iterator())
    assert listed == reported, (listed, reported)  # every reported clock listed in exactly one event

    t = time.perf_counter()
    again = sum(clocks.sweep(TODAY).values())
    rerun_s = time.perf_counter() - t
    assert again == 0, again
    print(f"sweep {ours_s:.1f}s  baseline select {base_s:.1f}s  rerun {rerun_s:.1f}s  by level {counts}", file=sys.stderr)
    print(f"RESULT name=sweep size={args.size} ours={ours_s:.2f} baseline={base_s:.2f} ratio={ours_s / base_s:.3f} unit=s "
          f"db={connection.vendor} reported={reported} rerun_s={rerun_s:.2f} target_s=30")


if __name__ == "__main__":
    main()
