"""The dispatcher: committed events → in-process handlers and webhook deliveries.

Two stages, each safe with several workers at once:

1. **Fan-out.** A worker claims a batch of due events with ``SELECT … FOR UPDATE SKIP LOCKED``
   (PostgreSQL; on SQLite the database write lock serialises workers) and a lease on their
   ``next_attempt_at``, committed at once. Then each matching handler runs in a transaction of
   its own together with its ``HandlerRun`` markers (``batch=True`` handlers once for all their
   events of the batch), and a last short transaction creates one ``Delivery`` per matching
   subscription and marks the events done. No transaction holds the locks of two handlers, so
   hot rows (task counters, trace chain heads) are held briefly and never in a cross-handler
   order. A crash leaves the claimed events to the next worker once the lease ends; markers
   already committed make handlers skip. A failing handler is retried with back-off and never
   stops the other handlers or the webhook deliveries.
2. **Delivery.** A worker claims due deliveries (same locking) and pushes their
   ``next_attempt_at`` forward by a lease before committing the claim; the HTTP calls then run
   outside any transaction, in a small thread pool. If the worker dies, the lease runs out and
   another worker sends again (with the same idempotency key). Each subscriber's deliveries
   are independent rows, so a slow or failing subscriber never holds back another.

**Idle.** An idle worker sleeps instead of polling. On PostgreSQL it waits on its own connection
for ``NOTIFY zhijian_events`` (``events.emit`` sends it in the writer's transaction, delivered at
commit) with a timeout until the next retry or delivery falls due (at most ``IDLE_MAX_PG``). On
SQLite, which has no notifications, the pause doubles from ``poll`` up to ``IDLE_MAX_SQLITE``
seconds and drops back to ``poll`` as soon as there is work; a pause never outlasts the next due
time. Nothing due is looked up with plain reads: no write lock is taken while idle.
"""
from __future__ import annotations

import logging
import math
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from . import events, webhooks
from .models import Event, EventState, HandlerRun, Delivery, WebhookSubscription, DeliveryState

log = logging.getLogger(__name__)


def _locked(qs):
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs


def _marker_conflict(exc: Exception) -> bool:
    return isinstance(exc, IntegrityError) and "handlerrun" in str(exc).lower()


def _run_one(h, event, HandlerRun) -> str | None:
    """Run one handler on one event with its marker in one transaction. Returns an error or None.

    A marker that already exists (another worker ran it after this worker's lease ran out) means
    the effect is committed: skipped, not an error.
    """
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    HandlerRun.objects.create(handler=h.name, event=event)
            except IntegrityError:
                return None
            h.func([event] if h.batch else event)
    except Exception as exc:  # one handler's failure must not stop the others
        log.exception("event handler %s failed on event %s", h.name, event.id)
        return f"{h.name}: {exc!r}"[:300]
    return None


def _groups(h, evs: list) -> list[list]:
    """A batch handler's events in calls of at most ``h.batch`` units (``batch=True``: one call)."""
    if not h.batch or h.batch is True:
        return [evs]
    groups, current, load = [], [], 0
    for e in evs:
        w = max(1, int(h.weigh(e))) if h.weigh else 1
        if current and load + w > h.batch:
            groups.append(current)
            current, load = [], 0
        current.append(e)
        load += w
    if current:
        groups.append(current)
    return groups


def _run_handler(h, evs: list, HandlerRun, errors: dict[int, list[str]]) -> None:
    """One handler over its events of the batch, in a transaction of its own (never together with
    another handler: hot rows one handler locks are released before the next handler starts)."""
    if h.batch:
        try:
            with transaction.atomic():
                HandlerRun.objects.bulk_create([HandlerRun(handler=h.name, event=e) for e in evs])
                h.func(evs)
            return
        except Exception as exc:
            if not _marker_conflict(exc):
                log.warning("batch handler %s failed on %d events (%r); retrying them one by one", h.name, len(evs), exc)
        for e in evs:
            err = _run_one(h, e, HandlerRun)
            if err:
                errors.setdefault(e.id, []).append(err)
        return
    with transaction.atomic():
        for e in evs:
            err = _run_one(h, e, HandlerRun)
            if err:
                errors.setdefault(e.id, []).append(err)


def _one_call(evs: list) -> list:
    """The claim cut where a weighed batch handler's first call would end (its ``batch`` units):
    the events after it stay free for another worker. Without the cut one worker claims a whole
    backlog of import chunks and pushes them one after another while the other workers idle."""
    load: dict[str, int] = {}
    weighed: dict[str, list] = {}  # per event type: its weighed batch handlers
    for n, e in enumerate(evs):
        if e.type not in weighed:
            weighed[e.type] = [h for h in events.handlers_for(e.type) if h.weigh and h.batch and h.batch is not True]
        for h in weighed[e.type]:
            load[h.name] = load.get(h.name, 0) + max(1, int(h.weigh(e)))
            if load[h.name] > h.batch and n > 0:
                return evs[:n]
    return evs


def fan_out(*, batch: int = 200, lease_seconds: float = 300) -> int:
    """Process one batch of due events. Returns how many were claimed.

    1. Claim: lock due events (SKIP LOCKED) and push their ``next_attempt_at`` forward by a lease,
       in a short transaction; another worker skips them until the lease ends.
    2. Handlers: each handler runs in a transaction of its own together with its ``HandlerRun``
       markers (a ``batch=True`` handler once for all its events of the batch, a plain handler
       per event in a savepoint). Locks a handler takes are held only for its own transaction.
    3. Finish: deliveries and the events' new state in one short transaction.

    A batch without in-process handlers (webhook-only events such as ``push.created``) is claimed,
    fanned out and marked done in the one claim transaction.

    A worker dying between the steps leaves the claimed events to the next worker once the lease
    ends; handlers that committed are skipped by their markers (exactly-once effects, at-least-once
    delivery).
    """

    now = timezone.now()
    max_attempts = int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8))
    due = Event.objects.filter(state=EventState.PENDING, next_attempt_at__lte=now)
    # Candidates first, ids only: a bounded in-memory top-N sort. Locking rows while sorting them
    # (LIMIT over FOR UPDATE SKIP LOCKED) sorts the whole backlog with its payloads, which spills
    # to disk once hundreds of thousands of events are due.
    # (priority, id) order walks the partial index of pending events: registry facts first.
    candidates = list(due.order_by("priority", "id").values_list("id", flat=True)[:batch * 3])
    if not candidates:
        return 0
    with transaction.atomic():
        batch_events = _one_call(list(_locked(due.filter(id__in=candidates).order_by("priority", "id"))[:batch]))
        if not batch_events:
            return 0
        types = {e.type for e in batch_events}
        if not any(events.handlers_for(t) for t in types):
            # Nothing to run in process (e.g. push.created for webhooks only): claim, deliveries and
            # done in this one short transaction, as no handler lock can be involved.
            _finish(batch_events, {}, now, max_attempts)
            return len(batch_events)
        Event.objects.filter(id__in=[e.id for e in batch_events]).update(next_attempt_at=now + timedelta(seconds=lease_seconds))
    done = set(HandlerRun.objects.filter(event__in=batch_events).values_list("handler", "event_id"))
    errors: dict[int, list[str]] = {}
    per_handler: dict[str, tuple[events.Handler, list]] = {}
    for event in batch_events:
        for h in events.handlers_for(event.type):
            if (h.name, event.id) not in done:
                per_handler.setdefault(h.name, (h, []))[1].append(event)
    for h, evs in per_handler.values():
        for group in _groups(h, evs):
            _run_handler(h, group, HandlerRun, errors)
    with transaction.atomic():
        _finish(batch_events, errors, now, max_attempts)
    return len(batch_events)


def _finish(batch_events: list, errors: dict[int, list[str]], now, max_attempts: int) -> None:
    """Deliveries for the subscribers and the events' new state (in the caller's transaction)."""

    subs = [(s, s.prefixes()) for s in WebhookSubscription.objects.filter(active=True).select_related("department")]
    deliveries = []
    for event in batch_events:
        for sub, prefixes in subs:
            if webhooks.matches(sub, prefixes, event):
                deliveries.append(
                    Delivery(subscription=sub, event=event, idempotency_key=webhooks.idempotency_key(sub.id, event.id), next_attempt_at=now)
                )
    finished = timezone.now()
    # A retried event finds its deliveries already there.
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    # One UPDATE for the usual case; bulk_update's CASE per row costs more than the handlers.
    Event.objects.filter(id__in=[e.id for e in batch_events if e.id not in errors]).update(
        state=EventState.DONE, dispatched_at=finished, attempts=F("attempts") + 1, last_error=""
    )
    for event in batch_events:
        if event.id not in errors:
            continue
        attempts, error = event.attempts + 1, "\n".join(errors[event.id])
        rows = Event.objects.filter(id=event.id)
        if attempts >= max_attempts:
            rows.update(state=EventState.FAILED, attempts=attempts, last_error=error)
        else:
            retry_at = finished + timedelta(seconds=webhooks.backoff_seconds(attempts))
            rows.update(attempts=attempts, last_error=error, next_attempt_at=retry_at)


def claim_deliveries(*, batch: int, lease_seconds: float) -> list:

    now = timezone.now()
    qs = Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now, subscription__active=True)
    if not qs.exists():  # a plain read: an idle worker takes no write lock (SQLite's is database-wide)
        return []
    with transaction.atomic():
        rows = list(_locked(qs.order_by("next_attempt_at", "id")).select_related("subscription", "event")[:batch])
        if rows:
            Delivery.objects.filter(id__in=[r.id for r in rows]).update(
                next_attempt_at=now + timedelta(seconds=lease_seconds), attempts=F("attempts") + 1
            )
    for r in rows:
        r.attempts += 1
    return rows


IDLE_MAX_PG = 30.0  # a safety net only: NOTIFY wakes the worker at once
IDLE_MAX_SQLITE = 4.0


def next_due_in(now=None) -> float | None:
    """Seconds until the next pending event or delivery falls due (0 if one is due), or None."""
    now = now or timezone.now()
    times = [
        Event.objects.filter(state=EventState.PENDING).order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first(),
        Delivery.objects.filter(state=DeliveryState.PENDING, subscription__active=True)
        .order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first(),
    ]
    times = [t for t in times if t is not None]
    if not times:
        return None
    return max(0.0, (min(times) - now).total_seconds())


class Listener:
    """PostgreSQL: a connection of its own that LISTENs on ``events.NOTIFY_CHANNEL``."""

    def __init__(self):
        import psycopg  # noqa: PLC0415  (PostgreSQL only; SQLite installs need not have it)

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        self.conn = psycopg.connect(**params, autocommit=True)
        self.conn.execute(f"LISTEN {events.NOTIFY_CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a notification; True if one came."""
        got = False
        for _n in self.conn.notifies(timeout=timeout, stop_after=1):
            got = True
        if got:  # collapse a burst: take whatever else is already there
            for _n in self.conn.notifies(timeout=0):
                pass
        return got

    def close(self) -> None:
        self.conn.close()


@dataclass
class Dispatcher:
    """One worker. ``run()`` loops; ``drain()`` works until nothing is due, then returns."""

    batch: int = 200
    concurrency: int = 8
    poll: float = 1.0
    timeout: float | None = None
    lease: float | None = None

    def __post_init__(self):
        self.timeout = float(getattr(settings, "WEBHOOK_TIMEOUT", 5)) if self.timeout is None else self.timeout
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="webhook")
        self._stop = False

    @property
    def lease_seconds(self) -> float:
        # Longer than the worst case for one batch, so a live worker never loses its claim;
        # it is also how long a crashed worker's claimed deliveries wait before a retry.
        if self.lease is not None:
            return self.lease
        return self.timeout * math.ceil(self.batch / self.concurrency) + 10

    def deliver(self) -> int:
        rows = claim_deliveries(batch=self.batch, lease_seconds=self.lease_seconds)
        if rows:
            outcomes = list(self._pool.map(lambda d: webhooks.send(d, timeout=self.timeout), rows))
            webhooks.record_outcomes(outcomes)
        return len(rows)

    def step(self) -> int:
        return fan_out(batch=self.batch, lease_seconds=self.lease_seconds) + self.deliver()

    def drain(self) -> int:
        total = 0
        while not self._stop:
            n = self.step()
            total += n
            if n == 0:
                break
        return total

    def stop(self, *_):
        self._stop = True

    def _listener(self):
        if connection.vendor != "postgresql":
            return None
        if getattr(self, "_listen", None) is None:
            self._listen = Listener()
        return self._listen

    def idle(self, pause: float) -> float:
        """Sleep while nothing is due; returns the next SQLite pause (doubled)."""
        due = next_due_in()
        listener = self._listener()
        if listener is not None:
            limit = IDLE_MAX_PG if due is None else min(IDLE_MAX_PG, due)
            if limit > 0:
                listener.wait(limit)
            return self.poll
        limit = pause if due is None else min(pause, due)
        self._sleep(limit)
        return min(pause * 2, max(IDLE_MAX_SQLITE, self.poll))

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop and time.monotonic() < deadline:
            time.sleep(min(0.5, deadline - time.monotonic()))

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        pause = self.poll
        while not self._stop:
            try:
                if self.drain() == 0:
                    pause = self.idle(pause)
                else:
                    pause = self.poll
            except Exception:  # a database hiccup must not end the worker
                log.exception("dispatcher pass failed")
                connection.close()
                if getattr(self, "_listen", None) is not None:
                    try:
                        self._listen.close()
                    except Exception:  # noqa: BLE001  (already broken)
                        pass
                    self._listen = None
                self._sleep(self.poll)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if getattr(self, "_listen", None) is not None:
            self._listen.close()
            self._listen = None
