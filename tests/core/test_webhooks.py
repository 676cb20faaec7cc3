"""Webhooks against a real receiver on 127.0.0.1: HMAC, 500s, timeouts, back-off, dead letters, replay."""
import hashlib
import hmac

import pytest

from tests.core.receiver import Receiver
from tests.factories import make_user
from zhijian.core import events, webhooks
from zhijian.core.dispatch import Dispatcher
from zhijian.core.models import Delivery, DeliveryState, Event, EventState, WebhookSubscription
from zhijian.org.models import Department

SECRET = "dept-secret-卫健"


def _policy(env, n):
    """Behaviour per event, by the event's payload: n is the receiver's count for this key."""
    plan = env["payload"].get("plan", "ok")
    if plan == "fail_twice":
        return "500" if n <= 2 else "ok"
    if plan == "slow_once":
        return "timeout" if n == 1 else "ok"
    if plan == "always_500":
        return "500"
    return "ok"


def _drain_until_settled(worker, max_rounds=400):
    import time

    for _ in range(max_rounds):
        worker.drain()
        if not Delivery.objects.filter(state=DeliveryState.PENDING).exists():
            return
        time.sleep(0.02)
    raise AssertionError("deliveries did not settle")


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_BASE = 0.02
    settings.WEBHOOK_MAX_ATTEMPTS = 4


def test_signature_and_key_are_as_documented():
    """The scheme in docs/events.md: hex HMAC-SHA256 of "<timestamp>.<body>"; key stable per pair."""
    body = b'{"id":1}'
    assert webhooks.signature("k", "1700000000", body) == "sha256=" + hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhooks.idempotency_key(3, 9) == webhooks.idempotency_key(3, 9) != webhooks.idempotency_key(9, 3)


def test_backoff_doubles_with_jitter_and_is_capped():
    for attempt in range(1, 8):
        for _ in range(50):
            d = webhooks.backoff_seconds(attempt, base=30)
            assert 0.5 * 30 * 2 ** (attempt - 1) <= d <= 1.5 * 30 * 2 ** (attempt - 1)
    assert webhooks.backoff_seconds(40, base=30) <= 1.5 * webhooks.MAX_BACKOFF_SECONDS


@pytest.mark.django_db
def test_retries_timeouts_dead_letter_and_replay(fast_retries, client_for):
    with Receiver(SECRET, policy=_policy, slow_seconds=1.5) as receiver:
        good = WebhookSubscription.objects.create(name="卫健委", url=receiver.url, secret=SECRET, event_types="entity.*")
        # Same receiver, wrong secret: the receiver refuses it (401), so it must end dead too.
        forged = WebhookSubscription.objects.create(name="错配", url=receiver.url, secret="wrong", event_types="entity.created")
        WebhookSubscription.objects.create(name="停用", url=receiver.url, secret=SECRET, event_types="*", active=False)
        plans = ["ok", "fail_twice", "slow_once", "always_500"]
        evs = {p: events.emit("entity.changed", payload={"plan": p}, division_code="441900003001") for p in plans}
        created = events.emit("entity.created", payload={"plan": "ok"}, division_code="441900003001")
        events.emit("case.closed", payload={}, division_code="441900003001")  # no subscriber wants it

        worker = Dispatcher(batch=50, concurrency=4, timeout=0.5)
        _drain_until_settled(worker)
        worker.close()

        d = {p: Delivery.objects.get(subscription=good, event=evs[p]) for p in plans}
        assert d["ok"].state == DeliveryState.DELIVERED and d["ok"].attempts == 1 and d["ok"].last_status == 204
        assert d["fail_twice"].state == DeliveryState.DELIVERED and d["fail_twice"].attempts == 3
        assert [a.status_code for a in d["fail_twice"].log.all()] == [500, 500, 204]
        slow_log = list(d["slow_once"].log.all())
        assert d["slow_once"].state == DeliveryState.DELIVERED and [a.status_code for a in slow_log] == [None, 204]
        assert "timeout" in slow_log[0].error
        assert d["always_500"].state == DeliveryState.DEAD and d["always_500"].attempts == 4
        assert [a.number for a in d["always_500"].log.all()] == [1, 2, 3, 4]
        bad = Delivery.objects.get(subscription=forged, event=created)
        assert bad.state == DeliveryState.DEAD and bad.last_status == 401 and receiver.bad_signatures == 4
        # Every attempt of one delivery carried the same idempotency key and a rising attempt number.
        attempts = [(n, a) for k, n, a in receiver.log if k == d["fail_twice"].idempotency_key]
        assert attempts == [(1, "500"), (2, "500"), (3, "ok")]
        assert Delivery.objects.count() == 6  # 5 to the good subscriber's pattern… plus the forged one
        assert not Delivery.objects.filter(subscription__active=False).exists()
        # The in-process side was not held up by any of this.
        assert not Event.objects.exclude(state=EventState.DONE).exists()

        # Replay of the dead delivery through the API, once the receiver is mended.
        receiver.policy = lambda env, n: "ok"
        officer = make_user("enforcement_officer", jurisdiction="4419")
        url = f"/api/v1/deliveries/{d['always_500'].pk}/replay/"
        assert client_for(officer).post(url).status_code == 403
        admin = make_user("system_admin", jurisdiction="4419")
        resp = client_for(admin).post(url)
        assert resp.status_code == 200 and resp.json()["state"] == "pending" and resp.json()["attempts"] == 0
        worker = Dispatcher(batch=50, concurrency=4, timeout=0.5)
        _drain_until_settled(worker)
        worker.close()
        d["always_500"].refresh_from_db()
        assert d["always_500"].state == DeliveryState.DELIVERED
        assert d["always_500"].idempotency_key in receiver.accepted
        assert d["always_500"].log.count() == 5


@pytest.mark.django_db
def test_delivery_api_scope_replay_rights_and_no_payload():
    """Business users see deliveries in their jurisdiction; only system administrators (who see
    every delivery but no business data) replay; the payload is never shown."""
    from rest_framework.test import APIClient

    sub = WebhookSubscription.objects.create(name="x", url="http://127.0.0.1:9/", secret="s", event_types="*")
    event = events.emit("entity.created", payload={"legal_rep": "张三"}, division_code="441900003001")
    delivery = Delivery.objects.create(subscription=sub, event=event, idempotency_key="k1", state=DeliveryState.DEAD, next_attempt_at=event.created_at)
    url = f"/api/v1/deliveries/{delivery.pk}/replay/"
    client = APIClient()
    client.force_authenticate(make_user("leader", jurisdiction="3701"))
    assert client.get("/api/v1/deliveries/").json()["results"] == []
    assert client.post(url).status_code == 404
    client.force_authenticate(make_user("leader", jurisdiction="4419"))
    rows = client.get("/api/v1/deliveries/").json()["results"]
    assert [r["idempotency_key"] for r in rows] == ["k1"] and "张三" not in str(rows)
    assert client.post(url).status_code == 403
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DEAD
    client.force_authenticate(make_user("system_admin", jurisdiction="3701"))
    assert [r["idempotency_key"] for r in client.get("/api/v1/deliveries/").json()["results"]] == ["k1"]
    assert client.post(url).status_code == 200
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING


@pytest.mark.django_db
def test_admin_action_replays_dead_delivery(admin_client):
    sub = WebhookSubscription.objects.create(name="x", url="http://127.0.0.1:9/", secret="s", event_types="*")
    event = events.emit("entity.created", payload={}, division_code="441900003001")
    delivery = Delivery.objects.create(
        subscription=sub, event=event, idempotency_key="k2", state=DeliveryState.DEAD, attempts=8, next_attempt_at=event.created_at
    )
    resp = admin_client.post(
        "/admin/core/delivery/", {"action": "replay", "_selected_action": [delivery.pk]}, follow=True
    )
    assert resp.status_code == 200
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 0)
    from zhijian.core.models import TraceEntry

    assert TraceEntry.objects.filter(action="delivery.replayed", object_id=str(delivery.pk)).exists()


@pytest.mark.django_db
def test_department_subscription_gets_only_its_jurisdiction():
    dept = Department.objects.create(name="东莞市卫健局", code="dg-wj", division_code="441900", jurisdiction="4419")
    sub = WebhookSubscription.objects.create(name="卫健", department=dept, url="http://127.0.0.1:9/", secret="s", event_types="entity.*")
    inside = events.emit("entity.created", payload={}, division_code="441900003001")
    outside = events.emit("entity.created", payload={}, division_code="370102001001")
    from zhijian.core.dispatch import fan_out

    fan_out()
    assert list(Delivery.objects.filter(subscription=sub).values_list("event_id", flat=True)) == [inside.id]
    assert outside.id not in Delivery.objects.values_list("event_id", flat=True)


@pytest.mark.django_db
def test_event_addressed_to_a_department_reaches_only_its_subscription():
    from zhijian.core.models import Event, WebhookSubscription
    from zhijian.core.webhooks import matches
    from zhijian.org.models import Department

    health = Department.objects.create(name="卫健委", code="health", division_code="4419", jurisdiction="4419")
    fire = Department.objects.create(name="消防", code="fire", division_code="4419", jurisdiction="4419")
    event = Event(type="push.created", payload={"department_code": "health"}, division_code="441900003001")
    to_health = WebhookSubscription(name="h", department=health, url="http://127.0.0.1:9/", secret="s", event_types="push.*")
    to_fire = WebhookSubscription(name="f", department=fire, url="http://127.0.0.1:9/", secret="s", event_types="push.*")
    assert matches(to_health, to_health.prefixes(), event)
    assert not matches(to_fire, to_fire.prefixes(), event)


@pytest.mark.django_db
def test_subscription_narrower_than_a_batch_event_hears_it_only_for_its_items():
    """A push.created of a batch carries the items' common division prefix; a village-level
    subscription hears it when one of its items lies in that village, and not otherwise."""
    from zhijian.core.models import Event, WebhookSubscription
    from zhijian.core.webhooks import matches

    event = Event(type="push.created", division_code="441900", payload={
        "department_code": "health", "items": [{"division_code": "441900003001"}, {"division_code": "441900004002"}]})
    sub = WebhookSubscription(name="v", url="http://127.0.0.1:9/", secret="s", event_types="push.*")
    assert matches(sub, ["441900003001"], event)
    assert matches(sub, ["4419"], event)
    assert not matches(sub, ["441900005"], event)
    assert not matches(sub, ["3701"], event)
