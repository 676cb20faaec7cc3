#!/usr/bin/env python3
"""A department's receiver for Zhijian push items: standard library only.

    ZHIJIAN_WEBHOOK_SECRET=… ZHIJIAN_URL=https://zhijian.example.gov.cn ZHIJIAN_TOKEN=… ZHIJIAN_DEPARTMENT=wjj \
        python examples/receiver.py --port 8080

1. Verifies the webhook signature (HMAC-SHA256 over "<timestamp>.<body>", docs/events.md) and the
   timestamp (±5 minutes); answers 401 otherwise.
2. Deduplicates on ``X-Zhijian-Delivery`` in a local SQLite file (delivery is at least once).
3. Answers 204 at once, then feeds back through the REST API in a background thread: it claims
   every item of a ``push.created`` event (签收), with an ``Idempotency-Key`` derived from the delivery key so a
   retry of the call never claims twice. Replace ``handle_push`` with your own system's work.

The token comes from ``zhijian token <username>`` (run by Zhijian's system administrator for a
department account with the role 部门人员). See docs/interfaces.md.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import queue
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("ZHIJIAN_WEBHOOK_SECRET", "").encode()
BASE = os.environ.get("ZHIJIAN_URL", "http://127.0.0.1:8000").rstrip("/")
TOKEN = os.environ.get("ZHIJIAN_TOKEN", "")
MY_DEPARTMENT = os.environ.get("ZHIJIAN_DEPARTMENT", "")  # your department code, e.g. wjj
MAX_SKEW = 300

work: queue.Queue = queue.Queue()
db_lock = threading.Lock()
db = sqlite3.connect(os.environ.get("RECEIVER_DB", "received.sqlite3"), check_same_thread=False)
db.execute("CREATE TABLE IF NOT EXISTS seen (delivery TEXT PRIMARY KEY, event_id INTEGER, type TEXT, at REAL)")


def verify(headers, body: bytes) -> bool:
    stamp = headers.get("X-Zhijian-Timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW:
        return False
    expected = "sha256=" + hmac.new(SECRET, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Zhijian-Signature", ""))


def feedback(item_id: int, action: str, data: dict, key: str) -> tuple[int, dict]:
    """POST /api/v1/push-items/{id}/{action}/ with the token and an Idempotency-Key."""
    req = urllib.request.Request(
        f"{BASE}/api/v1/push-items/{item_id}/{action}/", data=json.dumps(data).encode(), method="POST",
        headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json", "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:  # 4xx: a refusal with {"error": {"code", "message"}}
        return exc.code, json.loads(exc.read() or b"{}")


def handle_push(event: dict, delivery: str) -> None:
    p = event["payload"]
    if MY_DEPARTMENT and p.get("department_code") != MY_DEPARTMENT:
        return  # another department's items (see docs/interfaces.md §1)
    for item in p["items"]:  # one event lists the items of one push batch in one county
        claim(item, delivery)


def claim(item: dict, delivery: str) -> None:
    print(f"推送 #{item['item_id']} {item['entity_name']}（{item['credit_code']}）事项={item['matter']['name']} "
          f"规则={item['rule']['name']} v{item['rule']['version']} 期限={item['deadline']}")
    for attempt in range(5):
        try:
            status, body = feedback(item["item_id"], "claim", {}, key=f"claim-{delivery}-{item['item_id']}")
        except OSError as exc:  # network: retry with the same key, it is safe
            print("retry:", exc)
            time.sleep(2 ** attempt)
            continue
        print("签收:", status, body.get("state") or body.get("error", {}).get("message"))
        return


def worker() -> None:
    while True:
        event, delivery = work.get()
        if event["type"] == "push.created":
            handle_push(event, delivery)


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not verify(self.headers, body):
            return self.reply(401)
        delivery = self.headers.get("X-Zhijian-Delivery", "")
        event = json.loads(body)
        with db_lock, db:
            if db.execute("SELECT 1 FROM seen WHERE delivery = ?", (delivery,)).fetchone():
                return self.reply(200)  # a retry or replay of what we already have
            db.execute("INSERT INTO seen VALUES (?, ?, ?, ?)", (delivery, event["id"], event["type"], time.time()))
        work.put((event, delivery))  # slow work after answering
        self.reply(204)

    def reply(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()
    if not SECRET:
        raise SystemExit("set ZHIJIAN_WEBHOOK_SECRET")
    threading.Thread(target=worker, daemon=True).start()
    print(f"listening on http://{args.host}:{args.port}/")
    ThreadingHTTPServer((args.host, args.port), Hook).serve_forever()


if __name__ == "__main__":
    main()
