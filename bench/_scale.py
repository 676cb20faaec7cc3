"""A persistent province-scale PostgreSQL database for the page and lookup benchmarks.

    python bench/_scale.py [--database URL] [--entities 7300000] [--tasks 1000000] [--rebuild]

Built once (about half an hour on two shared cores) and reused: ``ensure()`` returns at once when
the marker row says the database holds the requested sizes. Contents:
- the demo city (济南市) through the demo builder: divisions of Shandong, grids, bureaus, people
  (``leader`` of the city, ``officer1`` of 解放路 station …), laws and checklists, a draw;
- a market station for every town of 济南 and a bureau for every other city and county of Shandong;
- ``entities`` market entities (zhijian.entities.synth): 1,000,000 in 济南 over its grids (with
  coordinates), the rest over every other town of Shandong; written by COPY with the table's
  indexes and constraints dropped and rebuilt afterwards;
- ``tasks`` supervision tasks over those entities (60 % of them in 济南, one per station/county
  bureau of the entity's place), created over the last year with due dates, about a third open
  and some overdue, each open one with its running clock;
- grid cases, push items and inspections in 济南 so the leader's overview has data;
- ANALYZE of every table written.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/zhijian_bench7m"
JINAN = "3701"
JINAN_SHARE = 1_000_000 / 7_300_000


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _create_database(url: str, drop: bool) -> None:
    import psycopg
    from urllib.parse import urlparse

    u = urlparse(url)
    name = u.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            c.execute(f'CREATE DATABASE "{name}"')


def _meta_get(cur) -> dict:
    cur.execute("CREATE TABLE IF NOT EXISTS bench_scale_meta (k text PRIMARY KEY, v text NOT NULL)")
    cur.execute("SELECT k, v FROM bench_scale_meta")
    return dict(cur.fetchall())


def _meta_set(cur, **kv) -> None:
    for k, v in kv.items():
        cur.execute("INSERT INTO bench_scale_meta (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", [k, str(v)])


def ensure(database: str | None = None, *, entities: int = 7_300_000, tasks: int = 1_000_000, rebuild: bool = False) -> str:
    """Django set up on the scale database, built if it is missing or smaller than asked."""
    url = database or os.environ.get("ZHIJIAN_BENCH_SCALE_DB") or DEFAULT_DB
    _create_database(url, drop=rebuild)
    from _setup import django_for

    django_for("scale", url)
    from django.db import connection

    with connection.cursor() as cur:
        meta = _meta_get(cur)
    if meta.get("state") == "done":
        # Sampling makes the counts approximate (999,997 tasks for 1,000,000): within 1 % is the same size.
        if int(meta.get("entities", 0)) < entities * 0.99 or int(meta.get("tasks", 0)) < tasks * 0.99:
            raise SystemExit(f"{url} holds {meta.get('entities')} entities and {meta.get('tasks')} tasks; "
                             f"pass --rebuild to build {entities} and {tasks} (about half an hour)")
        log(f"reusing {url}: {meta.get('entities')} entities, {meta.get('tasks')} tasks (built {meta.get('built_at')})")
        return url
    if meta:  # a half-built database (an interrupted build): start again from an empty one
        log(f"{url} was left half-built: building again")
        connection.close()
        _create_database(url, drop=True)
        django_for("scale", url)
    build(entities=entities, tasks=tasks)
    return url


def build(*, entities: int, tasks: int) -> None:
    from django.db import connection
    from django.utils import timezone

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        _meta_get(cur)
        _meta_set(cur, state="building")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET synchronous_commit = off")
    _demo_city()
    log(f"demo city in {time.perf_counter() - t0:.0f}s")
    _bureaus()
    t = time.perf_counter()
    n = _entities(entities)
    log(f"{n} entities in {time.perf_counter() - t:.0f}s")
    t = time.perf_counter()
    _tasks(tasks)
    log(f"tasks and clocks in {time.perf_counter() - t:.0f}s")
    t = time.perf_counter()
    _grid_cases(50_000)
    _push_items(100_000)
    _inspections(50_000)
    log(f"grid cases, push items, inspections in {time.perf_counter() - t:.0f}s")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM entities_marketentity")
        ne = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM supervision_task")
        nt = cur.fetchone()[0]
        _meta_set(cur, state="done", entities=ne, tasks=nt, built_at=timezone.now().isoformat(timespec="seconds"))
    _recount()
    log(f"built in {time.perf_counter() - t0:.0f}s: {ne} entities, {nt} tasks")


def _recount() -> None:
    """The registry tally, if this checkout has one, rebuilt from the rows just written."""
    try:
        from zhijian.entities import tally
    except ImportError:  # an older checkout: no tally to rebuild
        return
    t = time.perf_counter()
    tally.recount()
    log(f"registry tally recounted in {time.perf_counter() - t:.0f}s")


def _demo_city() -> None:
    from zhijian.demo import builder

    builder.build(entities=2000, seed=2026, log=log)


def _bureaus() -> None:
    """A station for every town of 济南; a city and county bureau for the rest of Shandong."""
    from zhijian.geo.models import Division
    from zhijian.org.choices import BureauLevel
    from zhijian.org.models import Bureau

    have = set(Bureau.objects.values_list("division_code", flat=True))
    by_code = {b.division_code: b for b in Bureau.objects.all()}
    divisions = list(Division.objects.filter(code__startswith="37", level__in=[2, 3, 4]).values_list("code", "name", "level"))
    names = {c: n for c, n, _l in divisions}
    new = []
    for code, name, level in sorted(divisions, key=lambda d: d[2]):
        if code in have:
            continue
        c = code[:4] if level == 2 else code
        if level == 2 and not code.startswith(JINAN):
            b = Bureau.objects.create(name=f"{name}市场监督管理局", short_name=f"{name[:2]}市监", level=BureauLevel.CITY,
                                      division_code=c, jurisdiction=c)
            by_code[c] = b
            have.add(c)
        elif level == 3 and not code.startswith(JINAN):
            parent = by_code.get(code[:4])
            b = Bureau.objects.create(name=f"{names.get(code[:4], '')}{name}市场监督管理局", short_name=f"{name[:2]}市监",
                                      level=BureauLevel.COUNTY, parent=parent, division_code=code, jurisdiction=code)
            by_code[code] = b
        elif level == 4 and code.startswith(JINAN) and code not in have:
            parent = by_code.get(code[:6])
            new.append(Bureau(name=f"{name}市场监督管理所", short_name=f"{name[:2]}市监所", level=BureauLevel.STATION,
                              parent=parent, division_code=code, jurisdiction=code))
    Bureau.objects.bulk_create(new)
    log(f"bureaus: {Bureau.objects.count()}")


# --- bulk writing -----------------------------------------------------------------------------

def _drop_indexes(cur, table: str) -> list[str]:
    """Drop every index and unique/foreign-key constraint of ``table`` but its primary key; return
    the statements that put them back."""
    cur.execute("SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
                [table])
    cons = cur.fetchall()
    cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE '%%_pkey'", [table])
    idx = [(n, d) for n, d in cur.fetchall() if n not in {c[0] for c in cons}]
    restore = [d for _n, d in idx] + [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d, _t in sorted(cons, key=lambda c: c[2] != "u")]
    for n, _d, _t in cons:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{n}"')
    for n, _d in idx:
        cur.execute(f'DROP INDEX "{n}"')
    return restore


def _restore(cur, table: str, statements: list[str]) -> None:
    cur.execute("SET maintenance_work_mem = '1GB'")
    for sql in statements:
        t = time.perf_counter()
        cur.execute(sql)
        log(f"  {table}: {sql[:90]}… {time.perf_counter() - t:.0f}s")
    cur.execute(f"VACUUM ANALYZE {table}")


def _entities(n: int) -> int:
    from django.db import connection
    from django.utils import timezone

    from zhijian.entities import creditcode, importer, synth
    from zhijian.entities.text import name_grams
    from zhijian.geo.models import Division, Grid

    names = dict(Division.objects.filter(code__startswith="37").values_list("code", "name"))
    grids = list(Grid.objects.filter(level=2, division_code__startswith=JINAN).values_list("id", "division_code", "min_lng", "min_lat", "max_lng", "max_lat"))
    jinan_places, boxes = [], {}
    for gid, code, x0, y0, x1, y1 in grids:
        town, county = code[:9], code[:6]
        if town in names and county in names:
            jinan_places.append(synth.Place(code, county, "济南市", names[county], names[town], names.get(code, "") if len(code) > 9 else ""))
            boxes[code] = (gid, x0, y0, x1, y1)
    other_places = []
    for code, name in names.items():
        if len(code) == 9 and not code.startswith(JINAN) and code[:6] in names and code[:4] in names:
            other_places.append(synth.Place(code, code[:6], names[code[:4]], names[code[:6]], name))
    n_jinan = min(n, round(n * JINAN_SHARE))
    now = timezone.now()
    table = "entities_marketentity"
    cols = importer.COLUMNS
    t = time.perf_counter()
    with connection.cursor() as cur:
        restore = _drop_indexes(cur, table)
        log(f"entities: dropped {len(restore)} indexes/constraints; writing {n_jinan} in 济南 and {n - n_jinan} elsewhere")
        with cur.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            done = 0
            rng = random.Random(107)
            for e in _interleaved(synth.synth_entities(jinan_places, n_jinan, seed=7), n_jinan,
                                  synth.synth_entities(other_places, n - n_jinan, seed=8), n - n_jinan, rng):
                box = boxes.get(e["division_code"])
                if box:
                    gid, x0, y0, x1, y1 = box
                    lng, lat = round(rng.uniform(x0, x1), 6), round(rng.uniform(y0, y1), 6)
                else:
                    gid = lng = lat = None
                copy.write_row((e["credit_code"], e["name"], name_grams(e["name"]), creditcode.entity_type_of(e["credit_code"]),
                                e["legal_type"], e["legal_rep"], str(e["capital"]), "CNY", e["established_on"], None, e["status"],
                                e["address"], e["division_code"], gid, lng, lat, e["industry_code"], e["business_scope"], "", 1, now, now))
                done += 1
                if done % 500_000 == 0:
                    log(f"  {done} entities written ({done / (time.perf_counter() - t):.0f}/s)")
        log(f"entities: copied in {time.perf_counter() - t:.0f}s, rebuilding indexes")
        _restore(cur, table, restore)
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]


def _interleaved(a, na: int, b, nb: int, rng: random.Random):
    """Rows of two streams mixed at random in proportion, as a province registry's ids are (济南's
    entities spread over the whole id range, not its oldest seventh)."""
    a, b = iter(a), iter(b)
    while na or nb:
        if nb == 0 or (na and rng.random() < na / (na + nb)):
            na -= 1
            yield next(a)
        else:
            nb -= 1
            yield next(b)


def _tasks(n: int) -> None:
    """Tasks over a deterministic sample of entities, as SQL: 60 % in 济南 (one per station), the
    rest over the county bureaus; created over the last year, a third open, some overdue."""
    from django.db import connection
    from django.utils import timezone

    from zhijian.deadlines.models import DeadlineRule
    from zhijian.inspections.models import BusinessLine
    from zhijian.org.models import Bureau, User
    from zhijian.supervision.choices import PROCEDURE

    today = timezone.localdate()
    lines = list(BusinessLine.objects.values_list("code", flat=True)) or ["food_sales"]
    rule = DeadlineRule.objects.filter(code__startswith="supervision").order_by("code").first() or DeadlineRule.objects.order_by("code").first()
    officers = list(User.objects.filter(username__in=["officer1", "officer2"]).values_list("id", flat=True))
    dispatcher = User.objects.filter(username="dispatcher").values_list("id", flat=True).first()
    station = Bureau.objects.filter(division_code="370102001").values_list("id", flat=True).first()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM entities_marketentity WHERE division_code LIKE '3701%%'")
        n_jinan = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM entities_marketentity")
        n_all = cur.fetchone()[0]
        want_j = round(n * 0.6)
        p_j = min(1.0, want_j / max(1, n_jinan))
        p_o = min(1.0, (n - want_j) / max(1, n_all - n_jinan))
        cur.execute("DROP TABLE IF EXISTS bench_bmap")
        cur.execute("CREATE TEMP TABLE bench_bmap (prefix text PRIMARY KEY, bureau_id bigint)")
        cur.executemany("INSERT INTO bench_bmap VALUES (%s, %s)",
                        [(c, i) for i, c in Bureau.objects.filter(division_code__startswith="37").values_list("id", "division_code")])
        cur.execute("ANALYZE bench_bmap")
        restore = _drop_indexes(cur, "supervision_task")
        lines_sql = "ARRAY[" + ",".join("'" + x.replace("'", "") + "'" for x in lines) + "]"
        # h: a per-entity hash in [0, 1) that decides sampling, state, dates and line deterministically.
        cur.execute(f"""
            INSERT INTO supervision_task (created_at, updated_at, number, title, source, source_ref, business_line, entity_id,
                division_code, state, bureau_id, assignee_id, created_by_id, deadline_rule, due_on, description, version,
                overdue, overdue_marked_at, review_comment, cancel_reason, template_id, run_key, closed_at)
            SELECT c.at, c.at, 'BENCH-' || e.id, '日常监督检查', (ARRAY['plan','random_draw','campaign','patrol','complaint'])[1 + (e.id %% 5)],
                   'bench', ({lines_sql})[1 + (e.id %% {len(lines)})], e.id, e.division_code, s.state,
                   COALESCE(b9.bureau_id, b6.bureau_id), CASE WHEN s.state IN ('accepted','executing') AND b9.bureau_id = %s
                        THEN (ARRAY[{','.join(map(str, officers)) or 'NULL'}]::bigint[])[1 + (e.id %% {max(1, len(officers))})] END,
                   %s, %s, c.at::date + 20, '', 1,
                   s.state NOT IN ('archived','cancelled') AND c.at::date + 20 < %s, NULL, '', '', NULL, '',
                   CASE WHEN s.state IN ('archived','cancelled') THEN c.at + interval '12 days' END
            FROM entities_marketentity e
            CROSS JOIN LATERAL (SELECT ((e.id * 2654435761::bigint) %% 1000003)::float8 / 1000003 AS h) hh
            CROSS JOIN LATERAL (SELECT now() - (((e.id * 40503) %% 36500)::float8 / 100) * interval '1 day' AS at) c
            CROSS JOIN LATERAL (SELECT CASE
                 WHEN c.at > now() - interval '40 days' THEN (ARRAY['registered','dispatched','accepted','executing','review','archived'])[1 + (e.id %% 6)]
                 WHEN (e.id %% 20) = 0 THEN (ARRAY['accepted','executing','dispatched'])[1 + (e.id %% 3)]
                 WHEN (e.id %% 37) = 0 THEN 'cancelled' ELSE 'archived' END AS state) s
            LEFT JOIN bench_bmap b9 ON b9.prefix = left(e.division_code, 9)
            LEFT JOIN bench_bmap b6 ON b6.prefix = left(e.division_code, 6)
            WHERE hh.h < CASE WHEN e.division_code LIKE '3701%%' THEN %s ELSE %s END
        """, [station or 0, dispatcher, rule.code if rule else "", today, p_j, p_o])
        log(f"tasks: {cur.rowcount} inserted, rebuilding indexes")
        _restore(cur, "supervision_task", restore)
        if rule is not None:
            cur.execute("""
                INSERT INTO deadlines_clock (created_at, updated_at, procedure, object_id, name, division_code, entity_id, rule_code,
                    rule_version, amount, unit, obligor, started_on, due_on, original_due_on, remind_on, provisional, state,
                    suspended_days, history, overdue, escalation)
                SELECT t.created_at, t.created_at, %s, t.id, 'main', t.division_code, t.entity_id, %s, %s, NULL, %s, 'authority',
                       t.created_at::date, t.due_on, t.due_on, t.due_on - 3, false, 'running', 0, '[]'::jsonb, t.overdue, 0
                FROM supervision_task t WHERE t.state NOT IN ('archived', 'cancelled') AND t.source_ref = 'bench'
            """, [PROCEDURE, rule.code, rule.version, rule.unit])
            log(f"clocks: {cur.rowcount}")
            cur.execute("VACUUM ANALYZE deadlines_clock")


def _grid_cases(n: int) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO grid_gridcase (created_at, updated_at, number, title, trigger, trigger_ref, entity_id, place_name, address,
                industry_code, lng, lat, division_code, grid_id, bureau_id, received_on, state, step_due_on, notice_number,
                resolution, version, route_target)
            SELECT now() - ((e.id %% 90) || ' days')::interval, now(), 'BENCH-G' || e.id, '新设立登记首次走访', 'registration', 'bench',
                   e.id, '', e.address, e.industry_code, e.lng, e.lat, e.division_code, e.grid_id,
                   (SELECT b.id FROM org_bureau b WHERE b.division_code = left(e.division_code, 9)),
                   (now() - ((e.id %% 90) || ' days')::interval)::date,
                   (ARRAY['first_visit','first_visit','rectifying','closed','closed','pending_assign'])[1 + (e.id %% 6)],
                   (now() - ((e.id %% 90) || ' days')::interval)::date + 10, '', '', 1, ''
            FROM entities_marketentity e
            WHERE e.division_code LIKE '3701%%' AND e.grid_id IS NOT NULL AND e.id %% 17 = 3
              AND NOT EXISTS (SELECT 1 FROM grid_gridcase g WHERE g.entity_id = e.id)
            LIMIT %s
        """, [n])
        log(f"grid cases: {cur.rowcount}")
        cur.execute("VACUUM ANALYZE grid_gridcase")


def _push_items(n: int) -> None:
    from django.db import connection

    from zhijian.coordination.models import SupervisionMatter
    from zhijian.org.models import Department

    depts = list(Department.objects.order_by("id"))
    if not depts:
        return
    pairs = []
    for d in depts:
        m = SupervisionMatter.objects.filter(departments=d).first()
        if m is None:
            m = SupervisionMatter.objects.create(code=f"bench-{d.code}", name=f"{d.name}行业监管", deadline_rule="", active=True)
            m.departments.add(d)
        pairs.append((d.id, m.id))
    dep_arr = "ARRAY[" + ",".join(str(d) for d, _m in pairs) + "]"
    mat_arr = "ARRAY[" + ",".join(str(m) for _d, m in pairs) + "]"
    k = len(pairs)
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO coordination_pushitem (entity_id, department_id, matter_id, rule_id, rule_version, matched_on, trigger, trigger_key,
                division_code, state, deadline_rule, due_on, claimed_at, result, return_reason, version, created_at, updated_at)
            SELECT e.id, ({dep_arr})[1 + (e.id %% {k})], ({mat_arr})[1 + (e.id %% {k})], NULL, 1, '行业代码', 'created', 'bench',
                   e.division_code, (ARRAY['pushed','claimed','accepted','finished','finished'])[1 + (e.id %% 5)], '',
                   (now() - ((e.id %% 60) || ' days')::interval)::date + 5,
                   CASE WHEN e.id %% 5 > 0 THEN now() - ((e.id %% 60) || ' days')::interval + interval '3 hours' END, '', '', 1,
                   now() - ((e.id %% 60) || ' days')::interval, now()
            FROM entities_marketentity e WHERE e.division_code LIKE '3701%%' AND e.id %% 11 = 5 LIMIT %s
            ON CONFLICT DO NOTHING
        """, [n])
        log(f"push items: {cur.rowcount}")
        cur.execute("VACUUM ANALYZE coordination_pushitem")


def _inspections(n: int) -> None:
    from django.db import connection

    from zhijian.inspections.models import ChecklistVersion
    from zhijian.org.models import User

    cv = ChecklistVersion.objects.order_by("id").first()
    officer = User.objects.filter(username="officer1").first()
    if cv is None or officer is None:
        return
    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO inspections_inspection (created_at, updated_at, client_key, entity_id, entity_name, entity_address, bureau_id,
                division_code, checklist_version_id, created_by_id, started_at, finished_at, lng, lat, conclusion, opinion, state,
                number, correction_number, public_token, seal_kid, seal_sig, seal_digest)
            SELECT st.at, st.at, 'bench-' || t.id, t.entity_id, e.name, e.address, t.bureau_id, t.division_code, %s, %s,
                   st.at, st.at + interval '40 minutes', e.lng, e.lat, (ARRAY['pass','pass','pass','correct','case'])[1 + (t.id %% 5)],
                   '', 'signed', 'BENCH-I' || t.id, '', md5('bench' || t.id), '', '', ''
            FROM supervision_task t JOIN entities_marketentity e ON e.id = t.entity_id
            CROSS JOIN LATERAL (SELECT coalesce(t.closed_at, now()) - interval '2 days' AS at) st
            WHERE t.source_ref = 'bench' AND t.division_code LIKE '3701%%' AND t.bureau_id IS NOT NULL
              AND t.state IN ('archived', 'review') AND t.id %% 7 = 1
            LIMIT %s
        """, [cv.id, officer.id, n])
        log(f"inspections: {cur.rowcount}")
        cur.execute("""
            INSERT INTO inspections_inspection_tasks (inspection_id, task_id)
            SELECT i.id, substr(i.client_key, 7)::bigint FROM inspections_inspection i WHERE i.client_key LIKE 'bench-%%'
            ON CONFLICT DO NOTHING
        """)
        cur.execute("VACUUM ANALYZE inspections_inspection")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--database", default=None)
    ap.add_argument("--entities", type=int, default=7_300_000)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    ensure(args.database, entities=args.entities, tasks=args.tasks, rebuild=args.rebuild)


if __name__ == "__main__":
    main()
