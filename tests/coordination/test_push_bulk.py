"""C1 set-based: import chunks are pushed in bulk with the same result as one by one, exactly
once; two dispatcher processes on PostgreSQL push a burst without deadlocks."""
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.coordination.conftest import drain
from tests.core.test_trace import ROOT, subprocess_env
from zhijian.coordination import engine
from zhijian.coordination.handlers import push_on_entity_events
from zhijian.coordination.models import PushItem
from zhijian.core import trace
from zhijian.core.models import Event, EventState
from zhijian.entities import creditcode
from zhijian.entities.importer import Importer
from zhijian.entities.text import name_grams

SCOPES = [
    ("6210", "餐饮服务；热食类食品制售"),
    ("5225", "预包装食品、酒类、卷烟零售"),
    ("7210", "住宿服务；餐饮服务"),
    ("5211", "日用百货零售"),
    ("8040", "理发及美容服务"),
]
VILLAGES = ["441900003001", "441900003002", "441900004001"]


def import_chunk(n: int, rng: random.Random, *, tag: str, updated: list[dict] | None = None, stock: bool = False) -> list[str]:
    """One import chunk through the real importer: rows, trace entry and one entity.imported event, one transaction."""
    now = timezone.now()
    rows = []
    for i in range(n):
        code, scope = SCOPES[rng.randrange(len(SCOPES))]
        credit = creditcode.generate(rng, "441900", "1")
        name = f"东莞市测试{tag}商户{i}"
        rows.append({
            "credit_code": credit, "name": name, "name_grams": name_grams(name), "entity_type": creditcode.entity_type_of(credit),
            "legal_type": "", "legal_rep": "张三", "capital": None, "capital_currency": "", "established_on": None, "approved_on": None,
            "status": "active", "address": f"测试路{i}号", "division_code": VILLAGES[i % len(VILLAGES)], "grid_id": None, "lng": None,
            "lat": None, "industry_code": code, "business_scope": scope, "warning": "", "version": 1, "created_at": now, "updated_at": now,
        })
    Importer(actor=None, stock=stock)._write(rows + list(updated or []))
    return [r["credit_code"] for r in rows]


def expected_targets() -> dict[tuple[str, str], set]:
    """(credit code, trigger key) → {(matter, department)}: the rules evaluated entity by entity."""
    from zhijian.coordination.engine import targets as _targets
    from zhijian.entities.models import MarketEntity

    index = engine.compile_rules(engine.active_rules())
    want = {}
    for ev in Event.objects.filter(type__startswith="entity.").order_by("id"):
        p = ev.payload
        codes = (p.get("created") or []) + (p.get("updated") or []) if ev.type == "entity.imported" else [p.get("credit_code")]
        if ev.type not in ("entity.imported", "entity.created"):
            continue
        snapshot = p.get("entity") or {}  # a registration is pushed as it was registered (inline)
        for e in MarketEntity.objects.filter(credit_code__in=codes):
            matches = index.match(industry_code=snapshot.get("industry_code", e.industry_code),
                                  business_scope=snapshot.get("business_scope", e.business_scope))
            want[(e.credit_code, f"event:{ev.id}")] = {(m.rule.matter_id, d) for m, d in _targets(matches, e.division_code)}
    return want


def pushed() -> dict[tuple[str, str], list]:
    got: dict = {}
    for code, key, matter, dept in PushItem.objects.values_list("entity__credit_code", "trigger_key", "matter_id", "department_id"):
        got.setdefault((code, key), []).append((matter, dept))
    return got


def check_push_result(new_codes: set[str]):
    from zhijian.grid.models import GridCase
    from zhijian.supervision.models import Task

    want, got = expected_targets(), pushed()
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in want.items() if v}, "items differ from rule-by-rule"
    tasks = list(Task.objects.filter(business_line="grid_first_visit").values_list("entity__credit_code", "source_ref", "number"))
    assert len(tasks) == len({(c, r) for c, r, _n in tasks}), "a village task twice"
    assert len({n for *_x, n in tasks}) == len(tasks), "a task number twice"
    assert new_codes <= {c for c, _r, _n in tasks}, "a new registration without its village task"
    assert GridCase.objects.count() == len(tasks) and GridCase.objects.filter(task__isnull=True).count() == 0
    assert GridCase.objects.values("number").distinct().count() == len(tasks)
    report = trace.verify()
    assert report.ok, report.breaks[:3]


@pytest.mark.django_db
def test_import_chunks_are_pushed_in_bulk_like_one_by_one_and_once(rules):
    from zhijian.entities import services as entities
    from zhijian.entities.models import MarketEntity

    rng = random.Random(7)
    single = entities.entity_create(actor=None, credit_code=creditcode.generate(rng, "441900", "1"), name="东莞市单个餐饮店",
                                    division_code=VILLAGES[0], industry_code="6210", business_scope="餐饮服务")
    new = set(import_chunk(30, rng, tag="a")) | set(import_chunk(90, rng, tag="b")) | {single.credit_code}
    # A later chunk also updates one known entity (changed scope): departments again, no village task for it.
    row = dict(MarketEntity.objects.filter(credit_code=single.credit_code).values(
        "credit_code", "name", "name_grams", "entity_type", "legal_type", "legal_rep", "capital", "capital_currency", "established_on",
        "approved_on", "status", "address", "division_code", "grid_id", "lng", "lat", "industry_code", "business_scope", "warning",
        "version", "created_at", "updated_at").get())
    row["business_scope"] = "餐饮服务；住宿服务"
    new |= set(import_chunk(10, rng, tag="c", updated=[row]))

    drain()
    check_push_result(new)
    assert PushItem.objects.filter(trigger="imported").exists() and PushItem.objects.filter(trigger="created").exists()
    # One trace entry per pushed batch, not per entity.
    assert trace.verify().ok
    from zhijian.core.models import TraceEntry

    assert TraceEntry.objects.filter(action="push.created").count() <= 4

    # Redelivered without markers (as if run twice some other way): nothing new.
    before = (PushItem.objects.count(), Event.objects.count())
    push_on_entity_events(list(Event.objects.filter(type__startswith="entity.")))
    assert (PushItem.objects.count(), Event.objects.count()) == before


@pytest.mark.django_db
def test_push_cost_in_queries_does_not_grow_with_the_chunk(rules, settings):
    """Set-based: the number of queries for a chunk is the same for 20 and for 200 registrations."""
    from zhijian.coordination import push

    # Trace entries go one per chain shard touched, and the shard comes from object ids, which depend
    # on what ran before in this database; one shard makes the count independent of them.
    settings.TRACE_SHARDS = 1

    rng = random.Random(11)
    counts = []
    for n in (20, 200):
        import_chunk(n, rng, tag=f"q{n}")
        event = Event.objects.filter(type="entity.imported").order_by("-id").first()
        push.push_events([event])  # warm: the compiled index, the deadline rules
        Event.objects.filter(pk=event.pk).delete()
        import_chunk(n, rng, tag=f"r{n}")
        event = Event.objects.filter(type="entity.imported").order_by("-id").first()
        with CaptureQueriesContext(connection) as q:
            push.push_events([event])
        counts.append(len(q))
    assert counts[0] == counts[1], counts
    assert counts[1] < 60, counts


def _worker(env, log):
    cmd = [sys.executable, str(ROOT / "manage.py"), "dispatch_events", "--batch", "15", "--poll", "0.02", "--timeout", "2", "--lease", "120"]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_push_a_burst_without_deadlock(rules, tmp_path):
    """Two dispatcher processes on PostgreSQL, a burst of import chunks and single registrations
    arriving while they run: no deadlock, no retry, every item, village task and grid case once."""
    from zhijian.entities import services as entities

    rng = random.Random(2026)
    env = subprocess_env()
    logs = [open(tmp_path / f"w{i}.log", "w+") for i in range(2)]
    workers = [_worker(env, log) for log in logs]
    new: set[str] = set()
    try:
        time.sleep(1.5)
        for k in range(16):
            new |= set(import_chunk(60, rng, tag=f"burst{k}"))
            for j in range(4):
                e = entities.entity_create(actor=None, credit_code=creditcode.generate(rng, "441900", "1"), name=f"东莞市单店{k}-{j}",
                                           division_code=VILLAGES[j % 3], industry_code=SCOPES[j][0], business_scope=SCOPES[j][1])
                new.add(e.credit_code)
        deadline = time.monotonic() + 300
        while Event.objects.exclude(state=EventState.DONE).exists():
            assert time.monotonic() < deadline, "dispatchers did not finish"
            assert all(w.poll() is None for w in workers), "a dispatcher died"
            time.sleep(0.2)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(60)
    text = ""
    for log in logs:
        log.seek(0)
        text += log.read()
        log.close()
    assert "deadlock" not in text.lower(), text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert not Event.objects.filter(attempts__gt=1).exists(), list(Event.objects.filter(attempts__gt=1).values_list("type", "last_error")[:3])
    assert not Event.objects.exclude(last_error="").exists()
    from zhijian.core.models import HandlerRun

    # Every registry event was pushed (the marker is unique per handler and event).
    assert HandlerRun.objects.filter(handler="coordination.push").count() == Event.objects.filter(type__startswith="entity.").count()
    check_push_result(new)


@pytest.mark.django_db
def test_push_created_lists_each_item_once_per_department_and_county(rules, monkeypatch):
    """The webhook events of a pushed chunk: one department and one county each, at most
    EVENT_ITEMS items, every new item listed exactly once, with its rule and deadline."""
    from zhijian.coordination import push

    monkeypatch.setattr(push, "EVENT_ITEMS", 7)
    rng = random.Random(3)
    import_chunk(60, rng, tag="w")
    drain()
    listed = []
    for ev in Event.objects.filter(type="push.created"):
        items = ev.payload["items"]
        assert 1 <= len(items) <= 7 and ev.payload["count"] == len(items)
        assert len({it["division_code"][:6] for it in items}) == 1
        assert all(it["division_code"].startswith(ev.division_code) for it in items)
        assert ev.object_type == "org.department" and ev.payload["department"]["id"] == int(ev.object_id)
        assert all(it["rule"]["id"] and "due_on" in it["deadline"] for it in items)
        listed += [(it["item_id"], ev.payload["department_code"]) for it in items]
    want = sorted(PushItem.objects.values_list("id", "department__code"))
    assert sorted(listed) == want and len(want) > 7


def test_the_register_loaded_at_switch_on_is_not_new_to_anyone(rules):
    """A stock import (the existing register) pushes nothing and opens no first visit; the same
    rows imported as new registrations do both."""
    from zhijian.supervision.models import Task

    rng = random.Random(11)
    rows_before = (PushItem.objects.count(), Task.objects.count())
    import_chunk(12, rng, tag="存量", stock=True)
    drain()
    event = Event.objects.filter(type="entity.imported").order_by("-id").first()
    assert event.payload["stock"] is True and len(event.payload["created"]) == 12
    assert (PushItem.objects.count(), Task.objects.count()) == rows_before
    import_chunk(12, rng, tag="新")
    drain()
    assert PushItem.objects.count() > rows_before[0]
    assert Task.objects.count() > rows_before[1]
