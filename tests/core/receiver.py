"""A real webhook receiver on 127.0.0.1 for tests: checks the HMAC like docs/events.md says."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Accepts signed POSTs. ``policy(envelope, attempt_no_seen_here) -> "ok" | "500" | "timeout"``."""

    def __init__(self, secret: str, policy=None, slow_seconds: float = 1.5):
        self.secret = secret.encode()
        self.policy = policy or (lambda env, n: "ok")
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.seen = Counter()  # idempotency key → requests seen
        self.accepted: dict[str, dict] = {}  # idempotency key → envelope, first 2xx only
        self.bad_signatures = 0
        self.log: list[tuple[str, int, str]] = []  # (key, X-Zhijian-Attempt, answer)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers.get("X-Zhijian-Timestamp", "")
                expected = "sha256=" + hmac.new(receiver.secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
                if not (fresh and hmac.compare_digest(expected, self.headers.get("X-Zhijian-Signature", ""))):
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    return self._answer(401)
                key = self.headers["X-Zhijian-Delivery"]
                envelope = json.loads(body)
                assert self.headers["X-Zhijian-Event"] == envelope["type"]
                with receiver.lock:
                    receiver.seen[key] += 1
                    n = receiver.seen[key]
                answer = receiver.policy(envelope, n)
                with receiver.lock:
                    receiver.log.append((key, int(self.headers.get("X-Zhijian-Attempt", "0")), answer))
                if answer == "timeout":
                    time.sleep(receiver.slow_seconds)
                    return self._answer(200)
                if answer == "500":
                    return self._answer(500)
                with receiver.lock:
                    receiver.accepted.setdefault(key, envelope)
                self._answer(204)

            def _answer(self, code):
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (timeout)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
