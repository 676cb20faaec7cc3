"""Rate limits on the pages anyone may open and on the token endpoint (finding 7: "public pages
have no rate limit (200 quick requests, no 429)"), counted in the database so that every worker
process of the server counts together."""
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.factories import make_bureau, make_user
from zhijian.security import ratelimit
from zhijian.security.models import RateCounter

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def public_draw(db):
    """A committed draw: its public page /p/draws/<id>/ needs no login."""
    from tests.draws.test_draws import bulk_entities, inspector
    from zhijian.draws import services

    bureau = make_bureau("4419")
    leader = make_user("leader", bureau=bureau)
    bulk_entities(12)
    for _ in range(3):
        inspector(bureau)
    plan = services.plan_create(actor=leader, bureau=bureau, name="食品销售双随机抽查", division_code="4419",
                                ratios={"B": "100"}, period="2026", business_lines=["food_sales"])
    return services.draw_commit(actor=leader, plan=plan)


def test_200_quick_requests_to_a_public_page_meet_429_with_retry_after(public_draw):
    url = f"/p/draws/{public_draw.public_id}/"
    client = Client(REMOTE_ADDR="203.0.113.7")
    statuses = []
    for _ in range(200):
        r = client.get(url)
        statuses.append(r.status_code)
        if r.status_code == 429:
            refused = r
    assert statuses[0] == 200 and public_draw.seed_sha256 in client.get(url, REMOTE_ADDR="203.0.113.8").content.decode()
    assert set(statuses) == {200, 429}
    assert statuses.count(200) >= 60 and statuses.count(429) >= 80  # 60 a minute (two minutes at most in between)
    assert 1 <= int(refused["Retry-After"]) <= 60
    page = refused.content.decode()
    assert "访问过于频繁" in page and "秒后再试" in page and refused["Content-Type"].startswith("text/html")
    # Another address still gets the page; the count is in the database, per address.
    assert Client(REMOTE_ADDR="203.0.113.9").get(url).status_code == 200
    assert sum(RateCounter.objects.filter(name="path:/p/:203.0.113.7").values_list("hits", flat=True)) == 200


def test_the_token_endpoint_answers_429_after_ten_calls_a_minute(db):
    client = Client(REMOTE_ADDR="203.0.113.20")
    answers = [client.post("/api/v1/auth/token/", {"username": f"nobody{i}", "password": "Guess-Passw0rd!"}) for i in range(30)]
    statuses = [r.status_code for r in answers]
    assert statuses[0] == 400 and statuses.count(400) >= 10 and statuses.count(429) >= 10, statuses
    refused = next(r for r in answers if r.status_code == 429)
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= 60
    assert refused.json()["error"] == {"code": "throttled", "message": f"访问过于频繁，请 {wait} 秒后再试。", "detail": {}}
    # Another address is not affected.
    r = Client(REMOTE_ADDR="203.0.113.21").post("/api/v1/auth/token/", {"username": "nobody", "password": "Guess-Passw0rd!"})
    assert r.status_code == 400


def test_fixed_windows_and_retry_after():
    start = 1_800_000_000.0  # a minute boundary
    verdicts = [ratelimit.hit("test:a", 3, 60, now=start + i) for i in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert verdicts[3].retry_after == 57 and verdicts[4].retry_after == 56
    assert ratelimit.hit("test:a", 3, 60, now=start + 60).allowed  # the next window
    assert ratelimit.hit("test:b", 3, 60, now=start + 4).allowed  # another client
    assert ratelimit.parse_rate("60/min") == (60, 60) and ratelimit.parse_rate("10/hour") == (10, 3600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _test_database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = (s["USER"] or "postgres") + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_the_count_is_shared_by_the_server_worker_processes():
    """gunicorn with 2 worker processes on this machine's loopback: 50 allowed in the window in
    all, not 50 per process (Django's default cache is per process)."""
    port = _free_port()
    env = {**os.environ, "ZHIJIAN_DATABASE_URL": _test_database_url(), "ZHIJIAN_VAR_DIR": str(settings.VAR_DIR),
           "ZHIJIAN_RATE_PUBLIC_PAGES": "50/day"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "zhijian.wsgi:application", "-b", f"127.0.0.1:{port}",
                               "-w", "2", "--timeout", "60"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.5)

        def status(_i):
            try:
                return urllib.request.urlopen(f"{base}/p/inspections/no-such-record/", timeout=30).status
            except urllib.error.HTTPError as exc:
                return exc.code

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:  # concurrent, so that every worker process answers some
            statuses = list(pool.map(status, range(120)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert statuses.count(404) == 50 and statuses.count(429) == 70, statuses
