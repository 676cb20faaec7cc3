"""Sweep leases and the scheduler."""
import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.utils import timezone

from zhijian.deadlines import scheduling
from zhijian.deadlines.models import Holiday, SweepLease
from zhijian.deadlines.scheduling import periodic, run_sweep
from zhijian.deadlines.services import acquire_lease, release_lease
from zhijian.deadlines.sweeps import calendar_gaps

TTL = dt.timedelta(minutes=5)


def _race(name: str, contenders: int) -> list[bool]:
    """``contenders`` threads, each with its own database connection, try to take the lease at once."""
    barrier = threading.Barrier(contenders)
    results = [None] * contenders

    def attempt(i):
        from django.db import connections

        try:
            barrier.wait(timeout=30)
            results[i] = acquire_lease(name=name, holder=f"scheduler-{i}", ttl=TTL)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_lease_attempts_exactly_one_wins():
    for round_ in range(5):
        name = f"test.race.{round_}"
        if round_ % 2:  # with and without an existing row
            SweepLease.objects.create(name=name)
        results = _race(name, 2)
        assert sorted(results) == [False, True], results
        lease = SweepLease.objects.get(name=name)
        assert lease.holder == f"scheduler-{results.index(True)}"


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_lease_attempts_exactly_one_wins():
    assert _race("test.race.many", 8).count(True) == 1


@pytest.mark.django_db
def test_held_lease_blocks_and_expired_lease_is_taken_over():
    now = timezone.now()
    assert acquire_lease(name="test.crash", holder="a", ttl=TTL, now=now)
    assert not acquire_lease(name="test.crash", holder="b", ttl=TTL, now=now + dt.timedelta(minutes=4))
    # 'a' crashed and never released: once the lease has expired, 'b' takes over.
    assert acquire_lease(name="test.crash", holder="b", ttl=TTL, now=now + TTL + dt.timedelta(seconds=1))
    assert SweepLease.objects.get(name="test.crash").holder == "b"
    assert not release_lease(name="test.crash", holder="a")  # the old holder can no longer release it
    assert release_lease(name="test.crash", holder="b", message="done")
    lease = SweepLease.objects.get(name="test.crash")
    assert (lease.holder, lease.expires_at, lease.run_count, lease.last_message) == ("", None, 1, "done")


@pytest.fixture
def test_sweeps():
    calls = []

    @periodic("test.counting", every=dt.timedelta(hours=1))
    def counting():
        calls.append(1)
        return f"call {len(calls)}"

    @periodic("test.failing", every=dt.timedelta(hours=1))
    def failing():
        raise RuntimeError("boom")

    yield calls
    scheduling._REGISTRY.pop("test.counting")
    scheduling._REGISTRY.pop("test.failing")


@pytest.mark.django_db
def test_a_sweep_runs_once_per_period_and_failures_are_recorded(test_sweeps):
    assert run_sweep("test.counting", holder="s1") == (True, "call 1")
    assert run_sweep("test.counting", holder="s2") == (False, "")  # not due again for an hour
    lease = SweepLease.objects.get(name="test.counting")
    assert lease.next_run_at >= lease.last_started_at + dt.timedelta(hours=1)
    assert (lease.last_status, lease.run_count) == ("ok", 1)
    assert run_sweep("test.counting", holder="s2", due_only=False) == (True, "call 2")
    ran, message = run_sweep("test.failing", holder="s1")
    assert ran and "RuntimeError: boom" in message
    failed = SweepLease.objects.get(name="test.failing")
    assert (failed.last_status, failed.holder, failed.expires_at) == ("failed", "", None)


@pytest.mark.django_db
def test_scheduler_command_once(test_sweeps, capsys):
    call_command("scheduler", "--once", "--only", "test.counting", "--only", "deadlines.calendar_coverage")
    out = capsys.readouterr().out
    assert "ran test.counting: call 1" in out
    assert "ran deadlines.calendar_coverage" in out
    call_command("scheduler", "--once", "--only", "test.counting")
    assert capsys.readouterr().out == ""
    assert test_sweeps == [1]
    assert SweepLease.objects.get(name="deadlines.calendar_coverage").last_status == "ok"


@pytest.mark.django_db
def test_calendar_coverage_asks_for_next_year_from_mid_november(holidays):
    assert calendar_gaps(dt.date(2098, 11, 14)) == [2098]
    assert calendar_gaps(dt.date(2098, 11, 15)) == [2098, 2099]
    Holiday.objects.create(date=dt.date(2098, 1, 1), is_off_day=True, name="元旦")
    assert calendar_gaps(dt.date(2098, 11, 14)) == []
    assert calendar_gaps(dt.date(2098, 11, 15)) == [2099]
    assert calendar_gaps(dt.date(2026, 6, 1)) == []
