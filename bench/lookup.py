"""Registry lookups at province scale: credit-code lookup and name search, against a primary-key fetch.

    python bench/lookup.py [--database postgres://…/zhijian_bench7m] [--lookups 2000] [--searches 500]

Uses the persistent scale database (bench/_scale.py; 7,300,000 entities, built on first use and
reused). Measured through ``zhijian.entities.queries.search`` as the city leader of 济南 (scope
3701, about 1,000,000 entities) and as a province-wide user (37, all of them):
- code: an 18-character credit code typed in the search box (target p99 ≤ 5 ms);
- name: a random 2–4 character piece of a real name, first 30 results newest first;
- fuzzy: a real name with one character replaced, so nothing contains it and the fuzzy path
  (bigram overlap, ranked by similarity) answers (target p99 ≤ 50 ms for name and fuzzy);
- baseline in the same run, interleaved: ``MarketEntity.objects.get(pk=…)`` of a random row.
Last line: RESULT name=lookup … with the ratios against the baseline.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scale import ensure  # noqa: E402
from _setup import percentile  # noqa: E402

CODE_P99_MS = 5.0
NAME_P99_MS = 50.0


def _sample(cur, prefix: str, n: int) -> list[tuple[int, str, str]]:
    cur.execute("SELECT id, credit_code, name FROM entities_marketentity TABLESAMPLE SYSTEM (0.5) WHERE division_code LIKE %s LIMIT %s",
                [prefix + "%", n])
    rows = cur.fetchall()
    if len(rows) < n // 2:  # a small database
        cur.execute("SELECT id, credit_code, name FROM entities_marketentity WHERE division_code LIKE %s ORDER BY random() LIMIT %s",
                    [prefix + "%", n])
        rows = cur.fetchall()
    return rows


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t) * 1000, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--database", default=None)
    ap.add_argument("--entities", type=int, default=7_300_000)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--searches", type=int, default=500)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    ensure(args.database, entities=args.entities, tasks=args.tasks, rebuild=args.rebuild)

    from django.db import connection

    from zhijian.entities import queries
    from zhijian.entities.models import MarketEntity
    from zhijian.entities.synth import TRADE_CHARS
    from zhijian.org.models import Bureau, User

    city = User.objects.get(username="leader")
    province_bureau, _ = Bureau.objects.get_or_create(name="山东省市场监督管理局", defaults=dict(
        short_name="鲁市监", level="province", division_code="37", jurisdiction="37"))
    province, _ = User.objects.get_or_create(username="bench-province", defaults={"bureau": province_bureau, "full_name": "省局基准"})
    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM entities_marketentity")
        max_id = cur.fetchone()[0]
        samples = {"3701": _sample(cur, "3701", args.lookups), "37": _sample(cur, "37", args.lookups)}
    rng = random.Random(17)
    out, lines = {}, []
    for scope, user in (("3701", city), ("37", province)):
        rows = samples[scope]
        base, code_ms, name_ms, fuzzy_ms, hits, fuzzy_hits = [], [], [], [], 0, 0
        for i in range(args.lookups):
            _id, code, _name = rows[i % len(rows)]
            ms, _ = _timed(lambda: MarketEntity.objects.filter(pk=rng.randrange(1, max_id + 1)).first())
            base.append(ms)
            ms, r = _timed(lambda: queries.search(user, code))
            code_ms.append(ms)
            assert r.entities and r.entities[0].credit_code == code, code
        for i in range(args.searches):
            _id, _code, name = rows[rng.randrange(len(rows))]
            k = rng.choice([2, 3, 4])
            start = rng.randrange(0, max(1, len(name) - k))
            q = name[start: start + k]
            ms, r = _timed(lambda: queries.search(user, q, limit=30))
            name_ms.append(ms)
            hits += bool(r.entities)
            # One character of a real name replaced: nothing contains it, the fuzzy path answers.
            pos = rng.randrange(2, max(3, len(name) - 2))
            typo = name[:pos] + rng.choice(TRADE_CHARS.replace(name[pos], "")) + name[pos + 1:]
            ms, r = _timed(lambda: queries.search(user, typo, limit=30))
            fuzzy_ms.append(ms)
            fuzzy_hits += any(e.name == name for e in r.entities)
            ms, _ = _timed(lambda: MarketEntity.objects.filter(pk=rng.randrange(1, max_id + 1)).first())
            base.append(ms)
        assert hits == args.searches, "every name query is a real piece of a name and must find something"
        b99 = percentile(base, 99)
        out[scope] = dict(base_p50=percentile(base, 50), base_p99=b99, code_p50=percentile(code_ms, 50), code_p99=percentile(code_ms, 99),
                          name_p50=percentile(name_ms, 50), name_p99=percentile(name_ms, 99),
                          fuzzy_p50=percentile(fuzzy_ms, 50), fuzzy_p99=percentile(fuzzy_ms, 99), fuzzy_found=fuzzy_hits / args.searches)
        lines.append((scope, out[scope]))
    n = MarketEntity.objects.order_by().count() if args.entities < 1_000_000 else max_id
    print(f"\nLookups at {n:,} entities ({connection.vendor}); ms")
    print(f"{'scope':8} {'pk p50':>7} {'pk p99':>7} {'code p50':>9} {'code p99':>9} {'name p50':>9} {'name p99':>9} {'fuzzy p50':>10} {'fuzzy p99':>10} {'fuzzy found':>12}")
    for scope, o in lines:
        print(f"{scope:8} {o['base_p50']:7.2f} {o['base_p99']:7.2f} {o['code_p50']:9.2f} {o['code_p99']:9.2f} {o['name_p50']:9.2f} "
              f"{o['name_p99']:9.2f} {o['fuzzy_p50']:10.2f} {o['fuzzy_p99']:10.2f} {o['fuzzy_found']:12.0%}")
    worst = {k: max(o[k] for o in out.values()) for k in ("code_p99", "name_p99", "fuzzy_p99", "base_p99")}
    ok = worst["code_p99"] <= CODE_P99_MS and max(worst["name_p99"], worst["fuzzy_p99"]) <= NAME_P99_MS
    print(f"RESULT name=lookup size={n} code_p99_ms={worst['code_p99']:.2f} name_p99_ms={worst['name_p99']:.2f} "
          f"fuzzy_p99_ms={worst['fuzzy_p99']:.2f} baseline_pk_p99_ms={worst['base_p99']:.2f} "
          f"code_ratio={worst['code_p99'] / worst['base_p99']:.1f} name_ratio={worst['name_p99'] / worst['base_p99']:.1f} "
          f"fuzzy_ratio={worst['fuzzy_p99'] / worst['base_p99']:.1f} targets={'met' if ok else 'MISSED'} db={connection.vendor}")


if __name__ == "__main__":
    main()
