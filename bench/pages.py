"""Server time of the busiest pages at province scale, against a bare page of the same size.

    python bench/pages.py [--database postgres://…/zhijian_bench7m] [--runs 30] [--rebuild] [--explain]

Uses the persistent scale database (bench/_scale.py: 7,300,000 entities, 1,000,000 tasks; built on
first use, about half an hour, then reused). In-process (Django test Client, the whole middleware
stack, session and TOTP step as a real sign-in), logged in as the city's leader (``leader`` of
济南市局); the entity page as the leader too, on entities that have tasks and inspections.

Baseline, measured in the same run and interleaved with each page: a bare view behind the same
middleware and login that returns a constant HTML body of exactly that page's size.
Prints a table (p50/p95 of each page and of its bare twin) and a RESULT line; target p95 ≤ 300 ms.
``--explain`` prints the three slowest SQL statements of each page over target (one extra run).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scale import ensure, log  # noqa: E402
from _setup import percentile  # noqa: E402

TARGET_MS = 300.0


def _bare_urlconf():
    """The project's URLs plus ``/__bare__/<n>/``: n bytes of constant HTML, login required."""
    from django.contrib.auth.decorators import login_required
    from django.http import HttpResponse
    from django.urls import include, path

    filler = ("<p>" + "市场监管" * 64 + "</p>\n").encode("utf-8")
    body = (b"<!doctype html><html><body>" + filler * (4_000_000 // len(filler)))

    @login_required
    def bare(request, n: int):
        return HttpResponse(body[:n], content_type="text/html; charset=utf-8")

    mod = types.ModuleType("bench_pages_urls")
    mod.urlpatterns = [path("__bare__/<int:n>/", bare), path("", include("zhijian.urls"))]
    sys.modules[mod.__name__] = mod
    return mod.__name__


def _pages(rng: random.Random, runs: int):
    """(label, list of URLs to cycle through) for each page measured."""
    from django.db import connection

    from zhijian.entities.models import MarketEntity

    with connection.cursor() as cur:
        # Names of entities in 济南 to search for (a random 2–4 character piece of each), and entities
        # with tasks and inspections for the entity page.
        cur.execute("SELECT name FROM entities_marketentity TABLESAMPLE SYSTEM (0.2) WHERE division_code LIKE '3701%%' LIMIT %s", [runs * 3])
        names = [r[0] for r in cur.fetchall()]
        if len(names) < runs:  # a small database: the sample is too thin
            cur.execute("SELECT name FROM entities_marketentity WHERE division_code LIKE '3701%%' ORDER BY id DESC LIMIT %s", [runs * 3])
            names = [r[0] for r in cur.fetchall()]
        cur.execute("""SELECT e.credit_code FROM inspections_inspection i JOIN entities_marketentity e ON e.id = i.entity_id
                       WHERE i.client_key LIKE 'bench-%%' ORDER BY i.id LIMIT %s""", [runs * 3])
        codes = [r[0] for r in cur.fetchall()] or list(MarketEntity.objects.filter(division_code__startswith="3701").values_list("credit_code", flat=True)[:runs])
    searches = []
    for name in names:
        k = rng.choice([2, 3, 4])
        start = rng.randrange(0, max(1, len(name) - k))
        searches.append(f"/entities/?q={name[start:start + k]}")
    return [
        ("leader overview /", ["/"]),
        ("unit board", ["/tasks/unit/"]),
        ("entity list", ["/entities/"]),
        ("entity list, county+status", ["/entities/?division=370102&status=active"]),
        ("entity list, industry", ["/entities/?industry=52"]),
        ("entity search", searches),
        ("entity page", [f"/entities/{c}/" for c in codes]),
        ("statistics", ["/stats/"]),
    ]


def _get(client, url):
    t = time.perf_counter()
    r = client.get(url)
    ms = (time.perf_counter() - t) * 1000
    if r.status_code != 200:
        raise SystemExit(f"{url}: HTTP {r.status_code}")
    body = r.content if not r.streaming else b"".join(r.streaming_content)
    return ms, len(body)


def _explain(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    top = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:3]
    return len(ctx.captured_queries), [(float(q["time"]) * 1000, q["sql"]) for q in top]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--database", default=None)
    ap.add_argument("--entities", type=int, default=7_300_000)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--explain", action="store_true", help="print the slowest SQL of each page over target")
    ap.add_argument("--only", default="", help="measure only pages whose label contains this")
    args = ap.parse_args()
    url = ensure(args.database, entities=args.entities, tasks=args.tasks, rebuild=args.rebuild)

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import clear_url_caches

    from zhijian.org.models import User
    from zhijian.security.testing import force_login_verified

    try:
        from zhijian.entities import tally
    except ImportError:  # an older checkout measured for the "before" column: no tally
        tally = None
    if tally is not None and not tally.EntityTally.objects.exists():
        log("registry tally empty: recounting")
        tally.recount()
    try:
        from zhijian.analytics import rollups
    except ImportError:  # an older checkout: no rollups, the pages count live
        rollups = None
    if rollups is not None:
        # What the scheduler does every minute on a server: the pages read these tables.
        t0 = time.perf_counter()
        log(f"rollups refreshed: {rollups.refresh()} ({time.perf_counter() - t0:.1f} s)")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM supervision_task")
        n_tasks = cur.fetchone()[0]
    with connection.cursor() as cur:
        cur.execute("SELECT v FROM bench_scale_meta WHERE k = 'entities'")
        n_entities = int(cur.fetchone()[0])
    rng = random.Random(13)
    pages = _pages(rng, args.runs)
    if args.only:
        pages = [p for p in pages if args.only in p[0]]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    leader = User.objects.get(username="leader")
    client = Client()
    force_login_verified(client, leader)
    results = {}
    with override_settings(ROOT_URLCONF=_bare_urlconf()):
        clear_url_caches()
        for label, urls in pages:  # warm up each page (caches, plans) and learn its size
            for i in range(args.warmup):
                _get(client, urls[i % len(urls)])
        for label, urls in pages:
            ours, bare, sizes = [], [], []
            for i in range(args.runs):
                ms, size = _get(client, urls[i % len(urls)])
                ours.append(ms)
                sizes.append(size)
                bare.append(_get(client, f"/__bare__/{size}/")[0])
            results[label] = (ours, bare, sizes)
            log(f"{label}: p95 {percentile(ours, 95):.0f} ms (bare {percentile(bare, 95):.1f} ms), {statistics.mean(sizes) / 1024:.0f} KB")
        explained = {}
        if args.explain:
            for label, urls in pages:
                if percentile(results[label][0], 95) > TARGET_MS or args.only:
                    explained[label] = _explain(client, urls[0])
        clear_url_caches()

    print(f"\nPages at {n_entities:,} entities and {n_tasks:,} tasks ({connection.vendor}, {url.rsplit('/', 1)[-1]}), "
          f"{args.runs} runs each, as 济南市 leader; ms")
    print(f"{'page':30} {'p50':>7} {'p95':>7} {'bare p50':>9} {'bare p95':>9} {'p95/bare':>9} {'KB':>6}  ≤{TARGET_MS:.0f}")
    worst, ratios, over = 0.0, [], []
    for label, (ours, bare, sizes) in results.items():
        p95, b95 = percentile(ours, 95), percentile(bare, 95)
        ratio = p95 / b95 if b95 else float("nan")
        ratios.append(ratio)
        worst = max(worst, p95)
        ok = p95 <= TARGET_MS
        if not ok:
            over.append(label)
        print(f"{label:30} {percentile(ours, 50):7.1f} {p95:7.1f} {percentile(bare, 50):9.1f} {b95:9.1f} {ratio:9.1f} "
              f"{statistics.mean(sizes) / 1024:6.0f}  {'ok' if ok else 'OVER'}")
    for label, (n, top) in explained.items():
        print(f"\n{label}: {n} queries; slowest:")
        for ms, sql in top:
            print(f"  {ms:8.1f} ms  {sql[:400]}")
    print(f"RESULT name=pages entities={n_entities} tasks={n_tasks} worst_p95_ms={worst:.1f} target_ms={TARGET_MS:.0f} "
          f"ratio_max={max(ratios):.1f} ratio_median={statistics.median(ratios):.1f} over={','.join(over) or 'none'} db={connection.vendor}")


if __name__ == "__main__":
    main()
