"""Benchmark C1: a burst of registrations pushed to 43 departments by 200 rules.

    python bench/push.py [--size 100000] [--workers 2] [--batch 1000] [--database postgres://postgres@127.0.0.1:5432/zj_pushbench]
                         [--rate 0] [--chunk 5000] [--dispatcher]

``--rate R`` feeds R registrations per second steadily (in chunks of ``--chunk``) instead of a burst
as fast as the importer goes: latency then shows whether the push keeps up with such a feed.

Sets up its own database (a fresh SQLite file under var/bench, or the given PostgreSQL database,
dropped and created again), seeds 43 departments, 60 matters and 200 rules, and starts the
dispatcher as ``--workers`` separate processes (``zhijian dispatch-events``), which run
concurrently with the producer. In the same run:

- **ours:** N registrations arrive as the registration system's feed does: bulk imports committed
  by ``zhijian.entities.importer.Importer`` in chunks of 5,000 rows, each chunk one transaction
  with its rows, its trace entry and one ``entity.imported`` event (as fast as the importer goes:
  a burst). The set-based push (``coordination.push``) runs inline, in the chunk's transaction:
  items in the departments' inboxes with their ``push.created`` events (with ``--dispatcher`` it
  is left to the dispatcher, as before inline handlers existed). The dispatcher processes then
  make the village first-visit tasks and the grid cases opened from the tasks' ``task.created``
  events, concurrently with the next chunks.
  Latency of a registration = wall time from its chunk's commit (taken by the producer when the
  import transaction returned) until its inbox items are visible to another connection (a poller
  watches the push handler's exactly-once marker, which commits with the items), every 20 ms.
  Throughput = N / (first chunk's start → last chunk's items visible); ``drained_s`` is when every
  follow-up event (cases, webhook fan-out of push.created/task.created …) was done too.
- **baseline:** the event bus alone: N events committed in the same chunks of 5,000 (one
  transaction each) through the same outbox and worker processes to a trivial in-process handler
  that writes one row; latency of an event = its chunk's commit → its handler marker visible.

Last line: RESULT name=push size=N ours=<registrations/s> baseline=<events/s> ratio=ours/baseline unit=per_s
p50_ms=… p99_ms=… baseline_p50_ms=… baseline_p99_ms=…
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import ROOT, django_for, percentile  # noqa: E402

VILLAGES = [f"441900{t:03d}{v:03d}" for t in (3, 4, 5, 101) for v in (1, 2, 3)]
EXTRA_WORDS = ["特种设备", "危险化学品", "出版物", "网络文化", "人力资源服务", "旅馆", "游泳", "印刷", "种子", "农药", "兽药",
               "饲料", "成品油", "燃气", "道路运输", "医疗器械", "化妆品", "酒类", "电梯", "培训", "互联网信息服务", "劳务派遣"]


def fresh_postgres(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed_rules(rng: random.Random) -> None:
    """43 departments (city level), 60 matters, 200 rules mixing industry prefixes and scope words."""
    from zhijian.coordination import rules
    from zhijian.entities.synth import TRADES
    from zhijian.org.models import Department

    depts = [Department.objects.create(code=f"d{i:02d}", name=f"市直部门{i:02d}", division_code="441900000000", jurisdiction="4419")
             for i in range(43)]
    # Specific trade words (as real matters use), not generic ones like 销售 or 服务.
    words = ["预包装食品", "散装食品", "酒类", "卷烟", "餐饮服务", "热食类食品制售", "冷热饮品制售", "住宿服务", "药品零售", "药品生产",
             "第二类医疗器械", "化妆品生产", "白酒生产", "电梯安装", "机动车维修", "普通货运", "房屋建筑工程施工", "门诊服务", "广告设计",
             "理发", "美容服务", "蔬菜种植", "家用电器", "建材", *EXTRA_WORDS]
    codes = [c for c, _t, _s in TRADES]
    matters = []
    for i in range(60):
        chosen = rng.sample(depts, 1 if i % 3 else 2)
        matters.append(rules.matter_save(actor=None, code=f"m{i:02d}", name=f"监管事项{i:02d}", deadline_rule="grid.first_visit",
                                         deadline_hours=rng.choice([None, 1, 24]), departments=chosen))
    for i in range(200):
        kind = i % 3
        # Most industry criteria are whole classes (4 digits); a few are divisions (2 digits) outside retail.
        prefixes = "" if kind == 1 else ",".join({rng.choice(codes) if rng.random() < 0.15 else f"{rng.randint(100, 9699):04d}"
                                                  for _ in range(rng.randint(1, 2))})
        keywords = "" if kind == 0 else ",".join(rng.sample(words, rng.randint(1, 2)))
        rules.rule_save(actor=None, matter=matters[i % 60], name=f"规则{i:03d}", industry_prefixes=prefixes, keywords=keywords)


BASELINE_HANDLER = "bench.push_baseline"
PUSH_HANDLER = "coordination.push"
CHUNK = 5000


def _baseline_handler():
    """Registered in the worker processes (``--handlers push``): one row per event, nothing else."""
    from django.db import connection
    from django.utils import timezone

    from zhijian.core import events

    @events.handler("benchbus.*", name=BASELINE_HANDLER)
    def effect(event):
        with connection.cursor() as c:
            c.execute("INSERT INTO bench_push_effect (event_id, at) VALUES (%s, %s)", [event.id, timezone.now().isoformat()])


if os.environ.get("ZJ_BENCH_PUSH_WORKER"):
    _baseline_handler()


def start_workers(n: int, batch: int, log_dir: Path) -> list:
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{s['NAME']}"
    else:
        url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    env = {**os.environ, "ZHIJIAN_DATABASE_URL": url, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}", "ZJ_BENCH_PUSH_WORKER": "1"}
    procs = []
    for i in range(n):
        err = open(log_dir / f"push-worker-{connection.vendor}-{i}.log", "w")
        procs.append((subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "dispatch_events", "--handlers", "push", "--batch", str(batch), "--poll", "0.02",
             "--concurrency", "2", "--timeout", "5"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err), err))
    return procs


def stop_workers(procs) -> str:
    for p, _err in procs:
        p.send_signal(signal.SIGTERM)
    text = []
    for p, err in procs:
        p.wait(120)
        err.close()
        text.append(Path(err.name).read_text(errors="replace"))
    return "\n".join(text)


def pending() -> int:
    from zhijian.core.models import Event, EventState

    return Event.objects.filter(state=EventState.PENDING).count()


class Poller(threading.Thread):
    """Watches each committed chunk's handler markers from its own connection; records when each
    event's effect became visible (wall clock, 20 ms resolution)."""

    def __init__(self, handler: str):
        super().__init__(daemon=True)
        self.handler = handler
        self.chunks: list[dict] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.last_seen = 0.0

    def add(self, lo: int, hi: int, expected: int, weight: int, committed: float):
        with self.lock:
            self.chunks.append({"lo": lo, "hi": hi, "expected": expected, "weight": weight, "committed": committed, "seen": 0,
                                "lat": []})

    def done(self) -> bool:
        with self.lock:
            return all(c["seen"] >= c["expected"] for c in self.chunks)

    def run(self):
        from django.db import connection

        from zhijian.core.models import HandlerRun

        try:
            while not self.stop.is_set():
                with self.lock:
                    todo = [c for c in self.chunks if c["seen"] < c["expected"]][:3]
                for c in todo:
                    n = HandlerRun.objects.filter(handler=self.handler, event_id__gte=c["lo"], event_id__lte=c["hi"]).count()
                    if n > c["seen"]:
                        now = time.perf_counter()
                        per = c["weight"] / c["expected"]
                        c["lat"].extend([(now - c["committed"]) * 1000] * round((n - c["seen"]) * per))
                        c["seen"] = n
                        self.last_seen = now
                time.sleep(0.02)
        finally:
            connection.close()

    def latencies(self) -> list[float]:
        return [x for c in self.chunks for x in c["lat"]]


def make_rows(n: int, rng: random.Random) -> list[dict]:
    """Import rows as ``Importer._validate`` produces them (valid codes, Dongguan villages, synth trades)."""
    from django.utils import timezone

    from zhijian.entities import creditcode
    from zhijian.entities.choices import EntityStatus
    from zhijian.entities.synth import TRADES
    from zhijian.entities.text import name_grams

    now = timezone.now()
    rows, seen = [], set()
    while len(rows) < n:
        i = len(rows)
        code, trade, scope = TRADES[rng.randrange(len(TRADES))]
        village = VILLAGES[i % len(VILLAGES)]
        credit = creditcode.generate(rng, village[:6], "1")
        if credit in seen:
            continue
        seen.add(credit)
        name = f"东莞市测试{trade}有限公司{i}"
        rows.append({
            "credit_code": credit, "name": name, "name_grams": name_grams(name),
            "entity_type": creditcode.entity_type_of(credit), "legal_type": "有限责任公司",
            "legal_rep": "张三", "capital": None, "capital_currency": "", "established_on": None, "approved_on": None,
            "status": EntityStatus.ACTIVE, "address": f"东莞市测试路{i}号", "division_code": village, "grid_id": None, "lng": None,
            "lat": None, "industry_code": code, "business_scope": scope, "warning": "", "version": 1, "created_at": now, "updated_at": now,
        })
    return rows


def pace(t0: float, done: int, rate: float) -> None:
    """With a rate, wait until ``done`` registrations are due since ``t0`` (a steady feed)."""
    if rate > 0:
        delay = t0 + done / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def ours(rows: list[dict], workers: int, batch: int, log_dir: Path, rate: float = 0):
    from django.db import connection

    from zhijian.coordination.models import PushItem
    from zhijian.core.models import Event, EventState
    from zhijian.entities.importer import Importer
    from zhijian.grid.models import GridCase
    from zhijian.supervision.models import Task

    n = len(rows)
    poller = Poller(PUSH_HANDLER)
    poller.start()
    procs = start_workers(workers, batch, log_dir)
    time.sleep(2)  # workers up and idle before the burst
    importer = Importer(actor=None)
    last_id = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    t0 = time.perf_counter()

    def produce():
        nonlocal last_id
        try:
            for start in range(0, n, CHUNK):
                pace(t0, start, rate)
                chunk = [dict(r) for r in rows[start:start + CHUNK]]
                importer._write(chunk)  # one transaction: rows, trace entry, entity.imported
                committed = time.perf_counter()
                eid = Event.objects.filter(type="entity.imported", id__gt=last_id).order_by("-id").values_list("id", flat=True).first()
                last_id = eid
                poller.add(eid, eid, 1, len(chunk), committed)
        finally:
            connection.close()

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join()
    produced = time.perf_counter()
    while not poller.done():
        time.sleep(0.05)
    inboxed = poller.last_seen
    while pending():
        time.sleep(0.2)
    drained = time.perf_counter()
    poller.stop.set()
    poller.join()
    log = stop_workers(procs)
    stats = {
        "items": PushItem.objects.count(), "tasks": Task.objects.filter(business_line="grid_first_visit").count(),
        "cases": GridCase.objects.count(), "produce_s": produced - t0, "inbox_s": inboxed - t0, "drained_s": drained - t0,
        "events": Event.objects.count(), "failed_events": Event.objects.exclude(state=EventState.DONE).count(),
        "retried_events": Event.objects.filter(attempts__gt=1).count(),
        "deadlocks": log.lower().count("deadlock"), "worker_errors": log.count("Traceback"),
    }
    return n / (inboxed - t0), poller.latencies(), stats


def baseline(n: int, workers: int, batch: int, log_dir: Path, rate: float = 0):
    from django.db import connection, transaction

    from zhijian.core import events

    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_push_effect")
        c.execute("CREATE TABLE bench_push_effect (event_id bigint NOT NULL, at varchar(40) NOT NULL)")
    poller = Poller(BASELINE_HANDLER)
    poller.start()
    procs = start_workers(workers, batch, log_dir)
    time.sleep(2)
    t0 = time.perf_counter()

    def produce():
        try:
            for start in range(0, n, CHUNK):
                pace(t0, start, rate)
                with transaction.atomic():
                    rows = events.emit_many([("benchbus.tick", {"i": i}, VILLAGES[i % len(VILLAGES)], "", "")
                                             for i in range(start, min(n, start + CHUNK))])
                committed = time.perf_counter()
                ids = [e.id for e in rows]
                poller.add(min(ids), max(ids), len(ids), len(ids), committed)
        finally:
            connection.close()

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join()
    while not poller.done():
        time.sleep(0.05)
    done = poller.last_seen
    while pending():
        time.sleep(0.1)
    poller.stop.set()
    poller.join()
    log = stop_workers(procs)
    with connection.cursor() as c:
        c.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM bench_push_effect")
        total, distinct = c.fetchone()
    assert total == distinct == n, (total, distinct, n)
    return n / (done - t0), poller.latencies(), {"deadlocks": log.lower().count("deadlock")}


def main():
    global CHUNK
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100000)
    ap.add_argument("--workers", type=int, default=2, help="dispatcher processes")
    ap.add_argument("--batch", type=int, default=1000, help="events claimed per dispatcher pass")
    ap.add_argument("--database", default=None)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--rate", type=float, default=0, help="registrations per second of a steady feed (0: a burst)")
    ap.add_argument("--chunk", type=int, default=CHUNK, help="registrations per import transaction")
    ap.add_argument("--dispatcher", action="store_true", help="push from the dispatcher, not inline (ZHIJIAN_EVENT_INLINE=0)")
    args = ap.parse_args()
    CHUNK = args.chunk
    if args.dispatcher:
        os.environ["ZHIJIAN_EVENT_INLINE"] = "0"  # the producer and the worker processes alike
    if args.database:
        fresh_postgres(args.database)
    bench_dir = django_for("push", args.database)
    from django.db import connection

    from zhijian.core import events

    events.load_handlers()
    rng = random.Random(args.seed)
    seed_rules(rng)
    rows = make_rows(args.size, rng)
    connection.close()
    load0 = os.getloadavg()
    base_rate, base_lat, base_stats = baseline(args.size, args.workers, args.batch, bench_dir, args.rate)
    rate, lat, stats = ours(rows, args.workers, args.batch, bench_dir, args.rate)
    load1 = os.getloadavg()
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    b50, b99 = percentile(base_lat, 50), percentile(base_lat, 99)
    print(f"database={connection.vendor} push={'dispatcher' if args.dispatcher else 'inline'} workers={args.workers} batch={args.batch} "
          f"chunk={CHUNK} rate={args.rate or 'burst'} cpus={os.cpu_count()} "
          f"load_before={load0[0]:.2f} load_after={load1[0]:.2f}")
    print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in stats.items()) + f" baseline_deadlocks={base_stats['deadlocks']}")
    print(f"ours: {rate:.1f} registrations/s, chunk commit→inbox visible p50={p50:.0f} ms p99={p99:.0f} ms (target p99 ≤ 2000 ms)")
    print(f"baseline (event bus, trivial handler): {base_rate:.1f} events/s, p50={b50:.0f} ms p99={b99:.0f} ms")
    print(f"RESULT name=push size={args.size} push={'dispatcher' if args.dispatcher else 'inline'} feed={args.rate or 'burst'} chunk={CHUNK} ours={rate:.1f} baseline={base_rate:.1f} ratio={rate / base_rate:.3f} unit=per_s "
          f"p50_ms={p50:.0f} p99_ms={p99:.0f} baseline_p50_ms={b50:.0f} baseline_p99_ms={b99:.0f}")


if __name__ == "__main__":
    main()
