"""Benchmark: events through the outbox to an in-process handler and to a webhook receiver.

    python bench/events.py [--size 10000] [--database postgres://postgres@127.0.0.1:5432/zj_bench]

Sets up its own database (a fresh SQLite file under var/bench, or migrates the given URL and
empties the outbox tables). Measures in the same run:
- baseline: the raw operation an outbox is built on: rows inserted 100 per transaction, then
  read back in batches with one effect row written per row, no framework;
- ours: the same N events through ``events.emit`` (100 per transaction) and the dispatcher to
  an in-process handler that writes one effect row (with its exactly-once marker);
- webhook: N events through the dispatcher to a receiver on 127.0.0.1 (HMAC checked);
- latency: events committed one per transaction at a steady pace while a dispatcher runs;
  from commit to receipt by the webhook receiver, p50 and p99.
Last line: RESULT name=events size=N ours=<events/s> baseline=<events/s> ratio=… unit=events/s …
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup(database: str | None) -> None:
    if database:
        os.environ["ZHIJIAN_DATABASE_URL"] = database
    else:
        path = ROOT / "var" / "bench" / "events.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["ZHIJIAN_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhijian.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as c:
        for table in ("core_deliveryattempt", "core_delivery", "core_handlerrun", "core_webhooksubscription", "core_event"):
            c.execute(f"DELETE FROM {table}")
        for table in ("bench_plain", "bench_effect"):
            c.execute(f"DROP TABLE IF EXISTS {table}")
        pk = "bigserial PRIMARY KEY" if connection.vendor == "postgresql" else "integer PRIMARY KEY AUTOINCREMENT"
        c.execute(f"CREATE TABLE bench_plain (id {pk}, type varchar(80), payload text, done boolean NOT NULL DEFAULT false)")
        c.execute("CREATE TABLE bench_effect (event_id bigint NOT NULL)")


def baseline(n: int) -> float:
    import json

    from django.db import connection, transaction

    t0 = time.perf_counter()
    for start in range(0, n, 100):
        with transaction.atomic(), connection.cursor() as c:
            for i in range(start, min(n, start + 100)):
                c.execute("INSERT INTO bench_plain (type, payload) VALUES (%s, %s)", ["plain.tick", json.dumps({"i": i})])
    while True:
        with transaction.atomic(), connection.cursor() as c:
            c.execute("SELECT id, payload FROM bench_plain WHERE done = %s ORDER BY id LIMIT 200", [False])
            rows = c.fetchall()
            if not rows:
                break
            for row_id, payload in rows:
                json.loads(payload)
                c.execute("INSERT INTO bench_effect (event_id) VALUES (%s)", [row_id])
            c.execute(f"UPDATE bench_plain SET done = %s WHERE id IN ({','.join(str(r[0]) for r in rows)})", [True])
    return n / (time.perf_counter() - t0)


def emit_batched(n: int, event_type: str) -> None:
    from django.db import transaction

    from zhijian.core import events

    for start in range(0, n, 100):
        with transaction.atomic():
            for i in range(start, min(n, start + 100)):
                events.emit(event_type, payload={"i": i}, division_code="441900003001", object_type="bench.thing", object_id=i)


def ours_inprocess(n: int) -> float:
    from django.db import connection

    from zhijian.core import events
    from zhijian.core.dispatch import Dispatcher

    @events.handler("bench.*", name="bench.effect")
    def effect(event):
        with connection.cursor() as c:
            c.execute("INSERT INTO bench_effect (event_id) VALUES (%s)", [event.id])

    t0 = time.perf_counter()
    emit_batched(n, "bench.tick")
    worker = Dispatcher(batch=200)
    worker.drain()
    worker.close()
    elapsed = time.perf_counter() - t0
    events.unregister("bench.effect")
    return n / elapsed


def ours_webhook(n: int, receiver) -> float:
    from zhijian.core.dispatch import Dispatcher
    from zhijian.core.models import Delivery, DeliveryState, WebhookSubscription

    sub = WebhookSubscription.objects.create(name="bench", url=receiver.url, secret="bench-secret", event_types="hook.*")
    t0 = time.perf_counter()
    emit_batched(n, "hook.tick")
    worker = Dispatcher(batch=200, concurrency=8, timeout=5)
    worker.drain()
    worker.close()
    elapsed = time.perf_counter() - t0
    assert Delivery.objects.filter(subscription=sub, state=DeliveryState.DELIVERED).count() == n, "not all delivered"
    sub.active = False
    sub.save()
    return n / elapsed


def latency(m: int, receiver, rate: float = 200.0) -> list[float]:
    from django.db import connection, transaction

    from zhijian.core import events
    from zhijian.core.dispatch import Dispatcher
    from zhijian.core.models import WebhookSubscription

    WebhookSubscription.objects.create(name="bench-latency", url=receiver.url, secret="bench-secret", event_types="lat.*")
    committed: dict[int, float] = {}
    stop = threading.Event()

    def run_worker():
        worker = Dispatcher(batch=200, concurrency=8, timeout=5, poll=0.005)
        try:
            while not stop.is_set():
                if worker.drain() == 0:
                    time.sleep(worker.poll)
        finally:
            worker.close()
            connection.close()

    thread = threading.Thread(target=run_worker)
    thread.start()
    try:
        for i in range(m):
            with transaction.atomic():
                event = events.emit("lat.tick", payload={"i": i}, division_code="441900003001")
            committed[event.id] = time.time()
            time.sleep(1.0 / rate)
        deadline = time.time() + 120
        while time.time() < deadline and not all(eid in receiver.received for eid in committed):
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    return sorted((receiver.received[eid] - t) * 1000 for eid, t in committed.items() if eid in receiver.received)


class Receiver:
    """A plain webhook receiver on 127.0.0.1 that checks the HMAC and notes when each event came."""

    def __init__(self, secret: str):
        import hashlib
        import hmac
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: dict[int, float] = {}
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                mac = hmac.new(secret.encode(), self.headers["X-Zhijian-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest("sha256=" + mac, self.headers["X-Zhijian-Signature"])
                if ok:
                    me.received.setdefault(json.loads(body)["id"], time.time())
                self.send_response(204 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--database", default=None, help="database URL (default: fresh SQLite under var/bench)")
    parser.add_argument("--latency-size", type=int, default=None, help="events for the latency run (default min(size, 2000))")
    args = parser.parse_args()
    setup(args.database)
    from django.db import connection

    n = args.size
    base = baseline(n)
    print(f"baseline insert+select loop: {base:.0f} events/s", flush=True)
    ours = ours_inprocess(n)
    print(f"outbox → in-process handler: {ours:.0f} events/s", flush=True)
    receiver = Receiver("bench-secret")
    hook = ours_webhook(n, receiver)
    print(f"outbox → webhook receiver: {hook:.0f} events/s", flush=True)
    lat = latency(args.latency_size or min(n, 2000), receiver)
    p50, p99 = pct(lat, 50), pct(lat, 99)
    print(f"commit → webhook receipt: p50 {p50:.1f} ms, p99 {p99:.1f} ms over {len(lat)} events", flush=True)
    print(
        f"RESULT name=events size={n} ours={ours:.1f} baseline={base:.1f} ratio={ours / base:.3f} unit=events/s "
        f"webhook={hook:.1f} webhook_ratio={hook / base:.3f} p50_ms={p50:.1f} p99_ms={p99:.1f} db={connection.vendor}"
    )


if __name__ == "__main__":
    main()
