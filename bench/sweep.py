"""Benchmark: the C3 warning sweep over N open time-limited items.

    python bench/sweep.py [--size 1000000] [--database postgres://postgres@127.0.0.1:5432/zj_bench]

Sets up its own database (a fresh SQLite file under var/bench, or migrates the given URL and
empties the grid tables), bulk-creates N open grid cases in one INSERT … SELECT (due dates spread
over 20 days either side of the sweep day, so every level has work), then measures in the same run:
- baseline: the plain SQL that selects the due items of every level (the same four date ranges,
  rows fetched to the client), no writes;
- ours: ``zhijian.grid.alerts.sweep`` — refreshes the escalation chain and raises every warning
  with one INSERT … SELECT … ON CONFLICT DO NOTHING per level and item type;
- rerun: the same sweep again (nothing new may be raised: checked).
Last line: RESULT name=sweep size=N ours=<s> baseline=<s> ratio=ours/baseline unit=s …
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_for  # noqa: E402

TODAY = dt.date(2026, 10, 20)


def _populate(n: int) -> None:
    from django.db import connection

    from tests.factories import make_bureau, make_user
    from zhijian.grid.choices import CaseState
    from zhijian.grid.models import GridCase
    from zhijian.org.choices import BureauLevel

    county = make_bureau("441900", level=BureauLevel.COUNTY, division_code="441900")
    station = make_bureau("441900003", level=BureauLevel.STATION, division_code="441900003")
    station.parent = county
    station.save()
    run = uuid.uuid4().hex[:8]
    make_user("leader", bureau=county, username=f"bench-{run}-c")
    make_user("leader", bureau=station, username=f"bench-{run}-s")
    officers = [make_user("grid_officer", bureau=station, username=f"bench-{run}-{i}").pk for i in range(50)]
    table = connection.ops.quote_name(GridCase._meta.db_table)
    cols = ("created_at, updated_at, number, title, trigger, trigger_ref, place_name, address, industry_code, division_code, received_on, "
            "state, step_rule, step_started_on, step_due_on, notice_number, route_target, resolution, version, bureau_id, assignee_id")
    states = [CaseState.PENDING_ASSIGN, CaseState.FIRST_VISIT, CaseState.RECTIFYING, CaseState.JOINT]
    lo, span = min(officers), len(officers)
    if connection.vendor == "postgresql":
        sql = f"""INSERT INTO {table} ({cols})
        SELECT now(), now(), 'B' || g, 'bench', 'registration', 'b' || g, '', '', '', '441900003001', %s::date,
               (ARRAY['{states[0]}','{states[1]}','{states[2]}','{states[3]}'])[1 + g %% 4], 'grid.first_visit', %s::date,
               %s::date + ((g %% 41) - 20), '', '', '', 1, {station.pk}, CASE WHEN g %% 10 = 0 THEN NULL ELSE {lo} + g %% {span} END
        FROM generate_series(1, %s) g"""
        params = [TODAY, TODAY, TODAY, n]
    else:
        sql = f"""WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %s)
        INSERT INTO {table} ({cols})
        SELECT datetime('now'), datetime('now'), 'B' || g, 'bench', 'registration', 'b' || g, '', '', '', '441900003001', %s,
               CASE g %% 4 WHEN 0 THEN '{states[1]}' WHEN 1 THEN '{states[1]}' WHEN 2 THEN '{states[2]}' ELSE '{states[3]}' END,
               'grid.first_visit', %s, date(%s, ((g %% 41) - 20) || ' days'), '', '', '', 1, {station.pk},
               CASE WHEN g %% 10 = 0 THEN NULL ELSE {lo} + g %% {span} END
        FROM s"""
        params = [n, TODAY.isoformat(), TODAY.isoformat(), TODAY.isoformat()]
    with connection.cursor() as c:
        c.execute(sql, params)
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute(f"ANALYZE {table}")


def _baseline() -> int:
    from django.db import connection

    from zhijian.grid import alerts
    from zhijian.grid.choices import OPEN_STATES
    from zhijian.grid.models import GridCase

    table = connection.ops.quote_name(GridCase._meta.db_table)
    rows = 0
    states = [str(s) for s in OPEN_STATES]
    with connection.cursor() as c:
        for low, high in alerts.thresholds(TODAY).values():
            where, params = [f"state IN ({', '.join(['%s'] * len(states))})"], list(states)
            if low is not None:
                where.append("step_due_on >= %s")
                params.append(connection.ops.adapt_datefield_value(low))
            where.append("step_due_on <= %s")
            params.append(connection.ops.adapt_datefield_value(high))
            c.execute(f"SELECT id, assignee_id, bureau_id, step_due_on, division_code FROM {table} WHERE {' AND '.join(where)}", params)
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

    from zhijian.grid import alerts
    from zhijian.grid.models import EscalationChain, GridCase, Warning, WarningRun

    with connection.cursor() as c:
        for model in (Warning, WarningRun, EscalationChain, GridCase):
            c.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
    t = time.perf_counter()
    _populate(args.size)
    setup_s = time.perf_counter() - t
    print(f"created {args.size} open items in {setup_s:.1f}s", file=sys.stderr)

    t = time.perf_counter()
    due_rows = _baseline()
    base_s = time.perf_counter() - t

    t = time.perf_counter()
    counts = alerts.sweep(today=TODAY)
    ours_s = time.perf_counter() - t
    raised = sum(counts.values())
    assert raised == due_rows, (raised, due_rows)  # every due (item, level) raised exactly once
    assert Warning.objects.count() == raised

    t = time.perf_counter()
    again = sum(alerts.sweep(today=TODAY).values())
    rerun_s = time.perf_counter() - t
    assert again == 0, again
    by_level = {lvl: n for (_k, lvl), n in counts.items() if _k == "grid.case"}
    print(f"sweep {ours_s:.1f}s  baseline select {base_s:.1f}s  rerun {rerun_s:.1f}s  by level {by_level}", file=sys.stderr)
    print(f"RESULT name=sweep size={args.size} ours={ours_s:.2f} baseline={base_s:.2f} ratio={ours_s / base_s:.3f} unit=s "
          f"db={connection.vendor} warnings={raised} rerun_s={rerun_s:.2f} target_s=30")


if __name__ == "__main__":
    main()
