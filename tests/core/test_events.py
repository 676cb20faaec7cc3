"""Outbox and in-process handlers; the dispatcher survives SIGKILL with exactly-once effects."""
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import transaction
from django.db.models import Count

from tests.core import event_handlers
from tests.core.receiver import Receiver
from tests.core.test_trace import ROOT, subprocess_env
from tests.factories import make_user
from zhijian.core import events, webhooks
from zhijian.core.dispatch import Dispatcher, fan_out
from zhijian.core.models import Delivery, DeliveryState, Event, EventState, HandlerRun, WebhookSubscription

calls: list[tuple[str, int]] = []


@events.handler("flaky.*", name="tests.flaky_fails")
def flaky_fails(event):
    calls.append(("fails", event.id))
    if not event.payload.get("healed"):
        raise RuntimeError("downstream unavailable")


@events.handler("flaky.*", name="tests.flaky_works")
def flaky_works(event):
    calls.append(("works", event.id))


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


@pytest.mark.django_db
def test_emit_is_part_of_the_callers_transaction():
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            events.emit("entity.created", payload={"id": 1}, division_code="441900")
            raise RuntimeError("rolled back")
    assert not Event.objects.exists()
    import datetime as dt

    event = events.emit("entity.created", payload={"on": dt.date(2026, 1, 2)}, division_code="441900", object_type="entities.marketentity", object_id=5)
    assert event.payload == {"on": "2026-01-02"} and event.object_id == "5"
    rows = events.emit_many([("entity.imported", {"n": i}, "4419", "entities.importjob", "9") for i in range(3)])
    assert len(rows) == 3 and Event.objects.filter(type="entity.imported").count() == 3


@pytest.mark.django_db
def test_failing_handler_is_retried_without_repeating_the_others(settings):
    """One handler failing does not stop the other; a retry skips what already succeeded."""
    settings.WEBHOOK_RETRY_BASE = 0
    event = events.emit("flaky.thing", payload={})
    assert fan_out() == 1
    event.refresh_from_db()
    assert event.state == EventState.PENDING and event.attempts == 1 and "downstream unavailable" in event.last_error
    assert list(HandlerRun.objects.values_list("handler", flat=True)) == ["tests.flaky_works"]
    Event.objects.filter(pk=event.pk).update(payload={"healed": True})
    assert fan_out() == 1
    event.refresh_from_db()
    assert event.state == EventState.DONE and event.dispatched_at is not None
    assert calls == [("fails", event.id), ("works", event.id), ("fails", event.id)]
    assert fan_out() == 0


@pytest.mark.django_db
def test_handler_gives_up_after_max_attempts_and_replay_resumes(settings):
    settings.WEBHOOK_RETRY_BASE = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    event = events.emit("flaky.thing", payload={})
    fan_out()
    fan_out()
    event.refresh_from_db()
    assert event.state == EventState.FAILED and event.attempts == 2
    assert fan_out() == 0
    admin = make_user("system_admin")
    Event.objects.filter(pk=event.pk).update(payload={"healed": True})
    webhooks.event_replay(event=event, actor=admin)
    assert fan_out() == 1
    event.refresh_from_db()
    assert event.state == EventState.DONE
    assert calls.count(("works", event.id)) == 1


@pytest.mark.django_db
def test_replay_needs_system_admin():
    from zhijian.core.errors import ApplicationError

    event = events.emit("flaky.thing", payload={})
    with pytest.raises(ApplicationError, match="系统管理员"):
        webhooks.event_replay(event=event, actor=make_user("enforcement_officer"))


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _dispatcher(env):
    cmd = [
        sys.executable, str(ROOT / "manage.py"), "dispatch_events", "--handlers", "tests.core.event_handlers",
        "--batch", "100", "--poll", "0.1", "--timeout", "2", "--lease", "3",
    ]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


N = 10_000


@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_dispatch_then_restart_delivers_everything_once():
    """10,000 events; the dispatcher is SIGKILLed half-way; after a restart (two workers on
    PostgreSQL) every event reached the handler exactly once and every webhook delivery key
    reached the receiver (at least once, as documented)."""
    from django.db import connection

    is_pg = connection.vendor == "postgresql"
    event_handlers.create_effect_table()
    try:
        with Receiver("s3cret-topic") as receiver:
            sub = WebhookSubscription.objects.create(name="卫健委", url=receiver.url, secret="s3cret-topic", event_types="bulk.*")
            events.emit_many([("bulk.tick", {"i": i}, "441900003001", "tests.thing", str(i)) for i in range(N)])
            env = subprocess_env()
            first = _dispatcher(env)
            try:
                _wait(lambda: Delivery.objects.filter(state=DeliveryState.DELIVERED).count() >= 2000, 300, "2000 deliveries")
            finally:
                os.kill(first.pid, signal.SIGKILL)
                first.wait(30)
            assert first.returncode == -signal.SIGKILL
            effects_at_kill = event_handlers.effect_counts()[0]
            delivered_at_kill = Delivery.objects.filter(state=DeliveryState.DELIVERED).count()
            assert effects_at_kill < N and delivered_at_kill < N, "the kill must land in the middle"

            workers = [_dispatcher(env) for _ in range(2 if is_pg else 1)]
            try:
                _wait(
                    lambda: not Event.objects.exclude(state=EventState.DONE).exists()
                    and Delivery.objects.filter(state=DeliveryState.DELIVERED).count() == N,
                    600,
                    "all events and deliveries",
                )
            finally:
                for w in workers:
                    w.send_signal(signal.SIGTERM)
                for w in workers:
                    _, err = w.communicate(timeout=60)
                    assert w.returncode == 0, err.decode()[-2000:]

            total, repeated = event_handlers.effect_counts()
            assert (total, repeated) == (N, 0)
            assert HandlerRun.objects.filter(handler="tests.bulk_effect").count() == N
            keys = set(Delivery.objects.filter(subscription=sub).values_list("idempotency_key", flat=True))
            assert len(keys) == N
            assert set(receiver.accepted) == keys
            # Requests cut off by the SIGKILL arrive with truncated bodies, fail the signature check
            # and are retried after the restart: at most one per parallel sender of the killed worker.
            assert receiver.bad_signatures <= 8
            assert {e["payload"]["i"] for e in receiver.accepted.values()} == set(range(N))
            assert not Delivery.objects.values("event").annotate(n=Count("id")).filter(n__gt=1).exists()
    finally:
        event_handlers.drop_effect_table()


@events.handler("prio.*", name="tests.prio")
def prio_seen(event):
    calls.append(("prio", event.id))


@pytest.mark.django_db
def test_events_of_a_higher_priority_are_dispatched_first(settings):
    """Registry facts (priority 0 by EVENT_PRIORITIES) overtake a backlog of follow-ups, whatever
    the write path (emit, emit_many, emit_rows); within a priority, ids keep their order."""
    settings.EVENT_PRIORITIES = {"prio.urgent": 0}
    assert events.priority_of("prio.urgent") == 0 and events.priority_of("prio.later") == 1
    later = [events.emit("prio.later", payload={"i": i}) for i in range(3)]
    urgent = [events.emit("prio.urgent", payload={})]
    urgent += events.emit_many([("prio.urgent", {}, "", "", "")])
    urgent_ids = [e.id for e in urgent] + events.emit_rows([("prio.urgent", {}, "", "", "")])
    assert set(Event.objects.filter(id__in=urgent_ids).values_list("priority", flat=True)) == {0}
    while fan_out(batch=1):
        pass
    assert [i for _n, i in calls] == [*urgent_ids, *(e.id for e in later)]
