"""Webhooks: matching subscriptions, signing and sending one attempt, back-off, replay.

The contract for receivers is docs/events.md. In short: POST of the event envelope as JSON,
``X-Zhijian-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``, the same
``X-Zhijian-Delivery`` key on every attempt of one event to one subscriber, 2xx means done.
"""
from __future__ import annotations

import fnmatch
import hashlib
import hmac
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import events, trace
from .errors import ApplicationError
from .signing import canonical_json
from .models import Delivery, DeliveryAttempt, DeliveryState, Event, EventState

# uuid5 namespace for idempotency keys: the key is a pure function of (subscription, event).
_KEY_NAMESPACE = uuid.UUID("6f1c9a4e-2b1d-5c3e-9a7f-7a686a69616e")
USER_AGENT = "Zhijian-Webhook/1"
MAX_BACKOFF_SECONDS = 6 * 3600


def idempotency_key(subscription_id: int, event_id: int) -> str:
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{subscription_id}:{event_id}"))


def matches(subscription, prefixes: list[str], event) -> bool:
    if not any(fnmatch.fnmatchcase(event.type, p) for p in subscription.type_patterns()):
        return False
    # An event addressed to one department (a push to its inbox) goes to that department only.
    addressee = (event.payload or {}).get("department_code") if isinstance(event.payload, dict) else None
    if addressee and subscription.department_id and subscription.department.code != addressee:
        return False
    if not prefixes or any(event.division_code.startswith(p) for p in prefixes):
        return True
    # An event listing items (push.created of a batch) carries their common division prefix; a
    # subscription narrower than it hears the event when one of the items lies inside it.
    items = (event.payload or {}).get("items") if isinstance(event.payload, dict) else None
    return bool(items) and any(str(it.get("division_code", "")).startswith(p) for it in items if isinstance(it, dict)
                               for p in prefixes if p.startswith(event.division_code))


def envelope(event) -> dict:
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "division_code": event.division_code,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "payload": event.payload,
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff_seconds(attempt: int, *, base: float | None = None) -> float:
    """Delay before attempt ``attempt + 1``: base · 2^(attempt-1), capped, times a 0.5–1.5 jitter."""
    base = float(getattr(settings, "WEBHOOK_RETRY_BASE", 30)) if base is None else base
    delay = min(base * (2 ** max(0, attempt - 1)), MAX_BACKOFF_SECONDS)
    return delay * random.uniform(0.5, 1.5)


@dataclass
class Outcome:
    delivery_id: int
    attempt: int
    started_at: object
    duration_ms: int
    status_code: int | None
    error: str
    excerpt: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False  # no proxies from the environment: subscribers are explicit URLs
    return session


def send(delivery, *, timeout: float | None = None) -> Outcome:
    """One HTTP attempt. Never raises: every failure becomes an Outcome."""
    timeout = float(getattr(settings, "WEBHOOK_TIMEOUT", 5)) if timeout is None else timeout
    sub, event = delivery.subscription, delivery.event
    body = canonical_json(envelope(event))
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Zhijian-Event": event.type,
        "X-Zhijian-Delivery": delivery.idempotency_key,
        "X-Zhijian-Timestamp": stamp,
        "X-Zhijian-Attempt": str(delivery.attempts),
        "X-Zhijian-Signature": signature(sub.secret, stamp, body),
    }
    started = timezone.now()
    t0 = time.monotonic()
    status, error, excerpt = None, "", ""
    try:
        resp = _session().post(sub.url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        status = resp.status_code
        excerpt = resp.text[:200]
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except requests.Timeout:
        error = f"timeout after {timeout:g}s"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(delivery.id, delivery.attempts, started, int((time.monotonic() - t0) * 1000), status, error, excerpt)


@transaction.atomic
def record_outcomes(outcomes: list[Outcome]) -> None:
    """Write the attempt log and move each delivery to delivered, pending (later) or dead."""

    now = timezone.now()
    max_attempts = int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8))
    DeliveryAttempt.objects.bulk_create(
        [
            DeliveryAttempt(
                delivery_id=o.delivery_id, number=o.attempt, started_at=o.started_at, duration_ms=o.duration_ms,
                status_code=o.status_code, error=o.error[:500], response_excerpt=o.excerpt[:500],
            )
            for o in outcomes
        ]
    )
    by_status: dict[int, list[int]] = {}
    for o in outcomes:
        if o.ok:
            by_status.setdefault(o.status_code, []).append(o.delivery_id)
    for status, ids in by_status.items():
        # Delivered wins over anything a later (duplicate) attempt might have set.
        Delivery.objects.filter(id__in=ids).exclude(state=DeliveryState.DELIVERED).update(
            state=DeliveryState.DELIVERED, delivered_at=now, last_status=status, last_error=""
        )
    for o in outcomes:
        if o.ok:
            continue
        # Only the attempt that holds the claim decides what happens next.
        rows = Delivery.objects.filter(id=o.delivery_id, state=DeliveryState.PENDING, attempts=o.attempt)
        if o.attempt >= max_attempts:
            rows.update(state=DeliveryState.DEAD, last_status=o.status_code, last_error=o.error[:500])
        else:
            rows.update(
                next_attempt_at=now + timedelta(seconds=backoff_seconds(o.attempt)), last_status=o.status_code, last_error=o.error[:500]
            )


def _may_replay(actor) -> bool:
    return actor is not None and (getattr(actor, "is_superuser", False) or actor.has_role("system_admin"))


@transaction.atomic
def delivery_replay(*, delivery, actor):
    """Send a delivery again from a clean slate (any state), with the same idempotency key."""

    if not _may_replay(actor):
        raise ApplicationError("只有系统管理员可以重新投递", code="permission_denied")
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    before = {"state": delivery.state, "attempts": delivery.attempts}
    delivery.state = DeliveryState.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.delivered_at = None
    delivery.save(update_fields=["state", "attempts", "next_attempt_at", "delivered_at"])
    events.notify()  # wake an idle dispatcher (PostgreSQL)
    trace.record(
        actor=actor, action="delivery.replayed", obj=delivery, before=before, after={"state": delivery.state, "attempts": 0},
        division_code=delivery.event.division_code,
    )
    return delivery


@transaction.atomic
def event_replay(*, event, actor):
    """Run a failed event's handlers again (those that already succeeded stay skipped)."""

    if not _may_replay(actor):
        raise ApplicationError("只有系统管理员可以重新分发", code="permission_denied")
    event = Event.objects.select_for_update().get(pk=event.pk)
    before = {"state": event.state, "attempts": event.attempts}
    Event.objects.filter(pk=event.pk).update(state=EventState.PENDING, attempts=0, next_attempt_at=timezone.now())
    events.notify()  # wake an idle dispatcher (PostgreSQL)
    trace.record(actor=actor, action="event.replayed", obj=event, before=before, after={"state": EventState.PENDING, "attempts": 0})
    event.refresh_from_db()
    return event
