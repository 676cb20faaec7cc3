"""The idle dispatcher sleeps: NOTIFY wakes it on PostgreSQL, a doubling pause on SQLite, never
past the next due time; an idle pass takes no write lock."""
import datetime as dt

import pytest
from django.db import connection, transaction
from django.utils import timezone

from zhijian.core import dispatch, events
from zhijian.core.models import Event


@pytest.mark.django_db
def test_next_due_in_is_the_nearest_pending_time():
    assert dispatch.next_due_in() is None
    event = events.emit("tests.idle", payload={})
    assert dispatch.next_due_in() == 0
    Event.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() + dt.timedelta(seconds=90))
    assert 80 < dispatch.next_due_in() <= 90


@pytest.mark.django_db
def test_sqlite_pause_doubles_up_to_the_cap_and_resets_with_work(monkeypatch):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL waits for NOTIFY instead")
    slept = []
    worker = dispatch.Dispatcher(poll=0.25)
    monkeypatch.setattr(worker, "_sleep", slept.append)
    pause = worker.poll
    for _ in range(6):
        pause = worker.idle(pause)
    assert slept == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    # something due in 1.5 s: the pause does not outlast it
    event = events.emit("tests.idle", payload={})
    Event.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() + dt.timedelta(seconds=1.5))
    worker.idle(4.0)
    assert 1.0 < slept[-1] <= 1.5
    worker.close()


@pytest.mark.django_db(transaction=True)
def test_postgresql_commit_notifies_the_listener_and_rollback_does_not():
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    listener = dispatch.Listener()
    try:
        assert not listener.wait(0.2)
        with transaction.atomic():
            events.emit("tests.idle", payload={})
            events.emit("tests.idle", payload={})
        assert listener.wait(5)
        assert not listener.wait(0.2)  # two emits in one transaction wake it once
        with pytest.raises(RuntimeError), transaction.atomic():
            events.emit("tests.idle", payload={})
            raise RuntimeError
        assert not listener.wait(0.3)
    finally:
        listener.close()
