"""Registry at size: bulk import rate against a raw bulk insert of the same rows, then exact-code
lookup and name search latency at that size.

    python bench/registry.py [--size 1000000] [--database postgres://…]

Baseline: the same final rows inserted by the database's fastest plain path (executemany on
SQLite, COPY on PostgreSQL) into the same table with the same indexes, timed in the same run.
Ours: ``zhijian import-entities`` on a registration-style CSV (real headers) of those rows —
reading, validation (check digits, dates, capital), division resolution, grid placement, name
index, chunked writes, trace and events.
"""
from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time

from _setup import django_for, percentile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--database", default=None)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--searches", type=int, default=500)
    args = ap.parse_args()
    bench_dir = django_for("registry", args.database)

    from django.db import connection, transaction
    from django.utils import timezone

    from zhijian.entities import importer, queries, synth
    from zhijian.entities.models import MarketEntity
    from zhijian.entities.text import name_grams
    from zhijian.geo import reference
    from zhijian.org.models import Bureau, Role, User

    n = args.size
    t0 = time.perf_counter()
    reference.load_divisions(provinces=["37"])
    places = _places()
    rows = list(synth.synth_entities(places, n, seed=7))
    path = bench_dir / f"registry_{n}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(synth.CSV_HEADER)
        for e in rows:
            w.writerow(synth.as_csv_row(e))
    print(f"prepared {n} rows in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    table = MarketEntity._meta.db_table

    def clear():
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
            else:
                # Drop the name index, empty the table (SQLite's truncate path), rebuild the index.
                from importlib import import_module

                mig = import_module("zhijian.entities.migrations.0003_name_index")
                for sql in mig.SQLITE_DOWN:
                    cur.execute(sql)
                cur.execute(f"DELETE FROM {table}")
                for sql in mig.SQLITE:
                    cur.execute(sql)
                cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(f"VACUUM ANALYZE {table}")

    # Baseline: the final rows, inserted raw.
    now = timezone.now()
    values = [tuple(importer._db(v) for v in (
        e["credit_code"], e["name"], name_grams(e["name"]), "enterprise", e["legal_type"], e["legal_rep"], e["capital"], "CNY",
        e["established_on"], None, e["status"], e["address"], e["division_code"], None, None, None,
        e["industry_code"], e["business_scope"], "", 1, now, now)) for e in rows]
    clear()
    t = time.perf_counter()
    for i in range(0, n, importer.CHUNK):
        with transaction.atomic():
            importer.insert_rows(table, values[i : i + importer.CHUNK])
    base_s = time.perf_counter() - t
    del values
    clear()

    t = time.perf_counter()
    summary = importer.Importer().run(path)
    ours_s = time.perf_counter() - t
    assert summary.imported == n, summary.line()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {table}")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")

    # A city-level user (济南, 3701) searching.
    bureau = Bureau.objects.create(name="济南市市场监督管理局", short_name="济市监", level="city", division_code="3701", jurisdiction="3701")
    user = User.objects.create_user("bench", bureau=bureau)
    rng = random.Random(11)
    codes = [rows[rng.randrange(n)]["credit_code"] for _ in range(args.lookups)]
    code_ms = []
    for c in codes:
        t = time.perf_counter()
        r = queries.search(user, c)
        code_ms.append((time.perf_counter() - t) * 1000)
        assert r.entities and r.entities[0].credit_code == c
    name_ms, hits = [], 0
    for _ in range(args.searches):
        name = rows[rng.randrange(n)]["name"]
        k = rng.choice([2, 3, 4])
        start = rng.randrange(0, max(1, len(name) - k))
        q = name[start : start + k]
        t = time.perf_counter()
        r = queries.search(user, q, limit=30)
        name_ms.append((time.perf_counter() - t) * 1000)
        hits += bool(r.entities)
    assert hits == args.searches, "every query is a real substring and must find something"

    ours = n / ours_s
    base = n / base_s
    print(f"import {ours_s:.1f}s  raw insert {base_s:.1f}s  ({summary.line()})", file=sys.stderr)
    print(f"RESULT name=registry size={n} ours={ours:.0f} baseline={base:.0f} ratio={ours / base:.3f} unit=rows/s "
          f"db={connection.vendor} code_p50_ms={percentile(code_ms, 50):.2f} code_p99_ms={percentile(code_ms, 99):.2f} "
          f"name_p50_ms={percentile(name_ms, 50):.2f} name_p99_ms={percentile(name_ms, 99):.2f} "
          f"name_mean_ms={statistics.mean(name_ms):.2f}")


def _places():
    from zhijian.entities.synth import Place
    from zhijian.geo.models import Division

    names = dict(Division.objects.filter(code__startswith="3701", level__lte=4).values_list("code", "name"))
    places = []
    for code, name in names.items():
        if len(code) == 9 and code[:6] in names:
            places.append(Place(code, code[:6], "济南市", names[code[:6]], name))
    return places


if __name__ == "__main__":
    main()
