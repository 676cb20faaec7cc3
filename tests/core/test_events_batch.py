"""Batch handlers (``@events.handler(..., batch=True)``): one call per claimed batch, exactly-once
markers, and a failing batch retried event by event so one bad event holds back nothing."""
import pytest

from tests.core import event_handlers
from zhijian.core import events
from zhijian.core.dispatch import fan_out
from zhijian.core.models import Event, EventState, HandlerRun

calls: list[list[int]] = []


@events.handler("batchy.*", name="tests.batchy", batch=True)
def batchy(evs):
    from django.db import connection

    calls.append([e.id for e in evs])
    with connection.cursor() as c:
        for e in evs:
            c.execute(f"INSERT INTO {event_handlers.EFFECT_TABLE} (event_id, handler) VALUES (%s, %s)", [e.id, "batchy"])
    if any(e.payload.get("poison") for e in evs):
        raise RuntimeError("poisoned")


weighed_calls: list[list[int]] = []


@events.handler("weighed.*", name="tests.weighed", batch=5000, weigh=lambda e: e.payload["rows"])
def weighed(evs):
    weighed_calls.append([e.payload["rows"] for e in evs])


@pytest.fixture
def effects(db):
    calls.clear()
    event_handlers.create_effect_table()
    yield
    event_handlers.drop_effect_table()


def _effects() -> dict[int, int]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(f"SELECT event_id, COUNT(*) FROM {event_handlers.EFFECT_TABLE} GROUP BY event_id")
        return dict(c.fetchall())


@pytest.mark.django_db
def test_batch_handler_gets_the_whole_batch_once(effects):
    evs = events.emit_many([("batchy.tick", {"i": i}, "441900", "", "") for i in range(7)])
    events.emit("other.tick", payload={})
    assert fan_out(batch=50) == 8
    assert calls == [[e.id for e in evs]]
    assert _effects() == {e.id: 1 for e in evs}
    assert HandlerRun.objects.filter(handler="tests.batchy").count() == 7
    assert not Event.objects.exclude(state=EventState.DONE).exists()
    from django.utils import timezone

    # Redelivered (as after a worker died past its lease): the markers skip the handler.
    Event.objects.filter(pk__in=[e.id for e in evs]).update(state=EventState.PENDING, next_attempt_at=timezone.now())
    assert fan_out(batch=50) == 7
    assert len(calls) == 1 and _effects() == {e.id: 1 for e in evs}


@pytest.mark.django_db
def test_failing_batch_is_retried_one_by_one(effects, settings):
    settings.WEBHOOK_RETRY_BASE = 0
    evs = events.emit_many([("batchy.tick", {"i": i, "poison": i == 2}, "441900", "", "") for i in range(5)])
    assert fan_out(batch=50) == 5
    ids = [e.id for e in evs]
    # The batch call's effects were rolled back; then each event alone: four commit, the poisoned one fails.
    assert calls == [ids] + [[i] for i in ids]
    assert _effects() == {i: 1 for i in ids if i != ids[2]}
    states = dict(Event.objects.filter(pk__in=ids).values_list("id", "state"))
    assert states == {i: (EventState.PENDING if i == ids[2] else EventState.DONE) for i in ids}
    bad = Event.objects.get(pk=ids[2])
    assert bad.attempts == 1 and "poisoned" in bad.last_error
    Event.objects.filter(pk=ids[2]).update(payload={"i": 2})
    assert fan_out(batch=50) == 1
    assert _effects() == {i: 1 for i in ids}
    assert Event.objects.get(pk=ids[2]).state == EventState.DONE


@pytest.mark.django_db
def test_bulk_insert_and_emit_rows_match_the_orm(db):
    """The set-based writers store what save()/bulk_create would: defaults, timestamps, JSON."""
    import datetime as dt

    ids = events.emit_rows([("bulk.tick", {"on": dt.date(2026, 1, 2), "n": 1, "名": "值"}, "4419", "tests.thing", 5)])
    e = Event.objects.get(pk=ids[0])
    assert e.payload == {"on": "2026-01-02", "n": 1, "名": "值"} and e.object_id == "5" and e.state == EventState.PENDING
    assert e.created_at is not None and e.next_attempt_at is not None and e.attempts == 0
    more = events.emit_many([("bulk.tick", {"i": i}, "", "", "") for i in range(3)])
    assert [m.pk for m in more] == sorted(m.pk for m in more) and min(m.pk for m in more) > ids[0]
    assert list(Event.objects.filter(pk__in=[m.pk for m in more]).values_list("payload", flat=True)) == [{"i": 0}, {"i": 1}, {"i": 2}]


@pytest.mark.django_db
def test_a_claim_ends_where_a_weighed_handlers_first_call_ends(effects):
    """Import chunks weigh their rows: a worker claims only what its first call handles, so the
    next chunks stay free for another worker instead of queueing behind this one."""
    weighed_calls.clear()
    events.emit_many([("weighed.chunk", {"rows": n}, "441900", "", "") for n in (3000, 3000, 1000, 1000, 6000)])
    assert fan_out(batch=50) == 1
    assert fan_out(batch=50) == 3  # 3000 + 1000 + 1000 fit in 5,000; the 6,000 would not
    assert fan_out(batch=50) == 1  # heavier than a call alone: claimed alone
    assert weighed_calls == [[3000], [3000, 1000, 1000], [6000]]
    assert not Event.objects.exclude(state=EventState.DONE).exists()
