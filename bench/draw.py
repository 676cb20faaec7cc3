"""Double-random draw at size: a stratified 4 % draw with inspector pairs against ORDER BY random().

    python bench/draw.py [--size 1000000] [--database postgres://…] [--keep] [--classes]

Table: ``--size`` synthetic entities of 济南 (3701), about 90 % 存续, valid credit codes in random
order, generated cheaply (only the columns a draw reads vary) and written by one COPY stream on
PostgreSQL (executemany without the name-index triggers on SQLite). With ``--keep`` and
``--database`` an existing table of exactly that size is reused. Every entity is class B unless
``--classes`` gives about 16 % of them an ``EntityRiskClass`` row (A, C or D).
Ours: ``draw_commit`` (the pool read on page ranges, one connection per core on PostgreSQL, as
lines, ids and classes; files written and hashed; inspector pool and recusal inputs; then the seed)
+ ``draw_execute`` (reveal; a partial Fisher–Yates shuffle of each pool file's line numbers, k
hashes; recusal through a prefix index; inspector pairs with load balancing streamed into the
items' COPY; result.csv) for one unit of 8 officers per county, recusal on.
Baseline: ``SELECT id FROM entities_marketentity WHERE division_code LIKE '3701%' AND status =
'active' ORDER BY random() LIMIT k`` for the same k, same table, same run (no strata, no inspectors,
not reproducible).
"""
from __future__ import annotations

import argparse
import sys
import time

from _setup import django_for


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--database", default=None)
    ap.add_argument("--keep", action="store_true", help="reuse an existing table of exactly --size rows")
    ap.add_argument("--classes", action="store_true", help="give about 16 %% of the entities a class A, C or D row")
    args = ap.parse_args()
    django_for("draw", args.database)

    from django.db import connection

    from zhijian.draws import services
    from zhijian.entities.models import MarketEntity
    from zhijian.geo import reference
    from zhijian.org.models import Bureau, Role, User

    n = args.size
    table = MarketEntity._meta.db_table
    if not (args.keep and MarketEntity.objects.count() == n):
        t0 = time.perf_counter()
        reference.load_divisions(provinces=["37"])
        _build(n, _places())
        print(f"built {n} entities in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM draws_entityriskclass")
        if args.classes:  # about 10 % A, 4 % C, 2 % D, the rest B (no row)
            cur.execute("INSERT INTO draws_entityriskclass (entity_id, risk_class, assessed_on, source) "
                        f"SELECT id, CASE WHEN id % 10 = 0 THEN 'A' WHEN id % 25 = 1 THEN 'C' WHEN id % 50 = 2 THEN 'D' END, "
                        f"'2026-01-01', 'bench' FROM {table} WHERE id % 10 = 0 OR id % 25 = 1 OR id % 50 = 2")
        # Statistics as autovacuum keeps them in production (earlier runs' items included).
        cur.execute(f"ANALYZE {table}; ANALYZE draws_drawitem" if connection.vendor == "postgresql" else "ANALYZE")

    # The organising city bureau and one unit of 8 officers per county (homes spread over towns).
    run = int(time.time())
    city = Bureau.objects.create(name="济南市市场监督管理局", short_name="济市监", level="city", division_code="3701", jurisdiction="3701")
    role, _ = Role.objects.get_or_create(code="enforcement_officer")
    leader_role, _ = Role.objects.get_or_create(code="leader")
    leader = User.objects.create_user(f"bench-leader-{run}", bureau=city)
    leader.roles.add(leader_role)
    from zhijian.geo.models import Division

    counties = sorted(c for c in Division.objects.filter(code__startswith="3701").values_list("code", flat=True) if len(c) == 6)
    towns = sorted(c for c in Division.objects.filter(code__startswith="3701").values_list("code", flat=True) if len(c) == 9)
    units, k = [], 0
    for c in counties:
        unit = Bureau.objects.create(name=f"县局{c}", short_name="县", level="county", division_code=c, jurisdiction=c)
        units.append(unit)
        for _i in range(8):
            k += 1
            u = User.objects.create_user(f"bench-officer-{run}-{k}", bureau=unit, enforcement_cert_no=f"37{run % 100000:05d}{k:05d}",
                                         full_name=f"检查员{k}", home_division=towns[k % len(towns)])
            u.roles.add(role)
    plan = services.plan_create(actor=leader, bureau=city, name="2026年度双随机抽查", period="2026", division_code="3701",
                                ratios={"A": "2", "B": "4", "C": "20", "D": "60"}, inspector_units=units,
                                business_lines=["food_sales"], recusal={"home_division": 9, "declared_relation": None, "last_inspector": None})
    pool = services.pool_queryset(plan)
    pool_n = pool.count()

    t = time.perf_counter()
    draw = services.draw_commit(actor=leader, plan=plan)
    commit_s = time.perf_counter() - t
    t = time.perf_counter()
    draw = services.draw_execute(actor=leader, draw=draw)
    execute_s = time.perf_counter() - t
    ours_s = commit_s + execute_s
    quota = sum(draw.params["quota"].values())
    assert draw.selected_count == quota and draw.pool_size == pool_n, (draw.selected_count, quota, draw.pool_size, pool_n)

    sql = (f"SELECT id FROM {table} WHERE division_code LIKE %s AND status = %s ORDER BY random() LIMIT %s")
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(sql, ["3701%", "active", quota])
        got = cur.fetchall()
    base_s = time.perf_counter() - t
    assert len(got) == quota

    print(f"pool {pool_n}  drawn {quota}  commit {commit_s:.2f}s  execute {execute_s:.2f}s  ORDER BY random() {base_s:.2f}s", file=sys.stderr)
    print(f"RESULT name=draw size={n} ours={ours_s:.2f} baseline={base_s:.2f} ratio={ours_s / base_s:.3f} unit=s "
          f"db={connection.vendor} pool={pool_n} drawn={quota} commit_s={commit_s:.2f} execute_s={execute_s:.2f}")


def _build(n: int, places) -> None:
    """``n`` synthetic entities on the towns of ``places``, about 90 % 存续, in random credit-code order.

    Only what a draw reads is varied (valid credit codes, town, status, industry); one COPY stream of
    preformatted text on PostgreSQL, executemany without the name-index triggers on SQLite.
    """
    import random

    from django.db import connection, transaction
    from django.utils import timezone

    from zhijian.entities import creditcode

    table = "entities_marketentity"
    cols = ("credit_code", "name", "name_grams", "entity_type", "legal_type", "legal_rep", "capital", "capital_currency",
            "established_on", "status", "address", "division_code", "industry_code", "business_scope", "warning", "version",
            "created_at", "updated_at")
    value = {c: i for i, c in enumerate(creditcode.ALPHABET)}
    w = creditcode._WEIGHTS
    # Check character = f(weighted sum): the 8-character head per (type, county), the 9 digits in 3 groups.
    groups = [[sum(int(d) * w[8 + 3 * g + j] for j, d in enumerate(f"{x:03d}")) for x in range(1000)] for g in range(3)]
    heads = {}
    rng = random.Random(7)
    now = timezone.now().isoformat()
    statuses = ["cancelled", "revoked", "suspended"]
    industries = ["5211", "5221", "6210", "5261", "7221", "8010"]
    pg = connection.vendor == "postgresql"
    mig = None
    rebuild = []
    with connection.cursor() as cur:
        if pg:
            cur.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
            # Indexes and unique constraints (not the primary key) are dropped for the load and built
            # again afterwards, identically: one sorted build instead of millions of random inserts.
            cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'",
                        [table])
            for name, definition in cur.fetchall():
                cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cur.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
                        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", [table])
            for name, definition in cur.fetchall():
                cur.execute(f'DROP INDEX "{name}"')
                rebuild.append(definition)
        else:
            from importlib import import_module

            mig = import_module("zhijian.entities.migrations.0003_name_index")
            for sql in mig.SQLITE_DOWN:
                cur.execute(sql)
            cur.execute("DELETE FROM draws_entityriskclass")
            cur.execute(f"DELETE FROM {table}")
    step = 200_000
    for start in range(0, n, step):
        rows = []
        for i in range(start, min(n, start + step)):
            place = places[rng.randrange(len(places))]
            r = rng.random()
            kind = "1" if r < 0.62 else ("2" if r < 0.97 else "3")
            head = "9" + kind + place.county_code
            hs = heads.get(head)
            if hs is None:
                hs = heads[head] = sum(value[c] * wt for c, wt in zip(head, w))
            org = (i * 387_420_489 + 12_345) % 1_000_000_000  # a permutation: unique, scattered codes
            total = hs + groups[0][org // 1_000_000] + groups[1][org // 1000 % 1000] + groups[2][org % 1000]
            code = f"{head}{org:09d}{creditcode.ALPHABET[-total % 31]}"
            r = rng.random()
            status = "active" if r < 0.9 else statuses[int(r * 1000) % 3]
            rows.append((code, f"济南测试商户{i}", "", "enterprise", "有限责任公司", "张三", "10", "CNY", "2015-06-01", status, "",
                         place.division_code, industries[i % 6], "", "", 1, now, now))
        with transaction.atomic(), connection.cursor() as cur:
            if pg:
                with cur.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    copy.write("".join("\t".join(map(str, row)) + "\n" for row in rows))
            else:
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})", rows)
    with connection.cursor() as cur:
        if rebuild:
            cur.execute("SET maintenance_work_mem = '512MB'")
        for sql in rebuild:
            cur.execute(sql)
        for sql in (mig.SQLITE if mig is not None else []):
            cur.execute(sql)


def _places():
    from zhijian.entities.synth import Place
    from zhijian.geo.models import Division

    names = dict(Division.objects.filter(code__startswith="3701", level__lte=4).values_list("code", "name"))
    return [Place(code, code[:6], "济南市", names[code[:6]], name) for code, name in names.items() if len(code) == 9 and code[:6] in names]


if __name__ == "__main__":
    main()
