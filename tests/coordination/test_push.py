"""C1 end to end: a registration reaches the right departments' inboxes, its village's task queue
and the webhook of a subscribed department, with the rule and deadline that put it there."""
import datetime as dt

import pytest
from django.utils import timezone

from tests.core.receiver import Receiver
from tests.coordination.conftest import VILLAGE, drain
from tests.factories import credit_code
from zhijian.coordination.choices import PushState, PushTrigger
from zhijian.coordination.models import PushItem
from zhijian.core.models import Delivery, DeliveryState, Event, WebhookSubscription
from zhijian.entities import services as entities

SECRET = "卫健-secret"


def _register(**fields):
    data = {"credit_code": credit_code("441900"), "name": "东莞市莞城好味餐饮店", "division_code": VILLAGE, "industry_code": "6210",
            "business_scope": "餐饮服务；热食类食品制售；卷烟零售"}
    data.update(fields)
    return entities.entity_create(actor=None, **data)


@pytest.mark.django_db
def test_registration_reaches_inboxes_village_and_webhook(rules, depts, settings):
    settings.WEBHOOK_RETRY_BASE = 0.01
    with Receiver(SECRET) as receiver:
        WebhookSubscription.objects.create(name="卫健局系统", department=depts["health"], url=receiver.url, secret=SECRET,
                                           event_types="push.created")
        entity = _register()
        created_event = Event.objects.get(type="entity.created", object_id=entity.credit_code)
        drain()

        items = {i.department.code: i for i in PushItem.objects.filter(entity=entity).select_related("department", "rule", "matter")}
        # health by the catering rule (industry 62 and phrase 餐饮服务), tobacco by 卷烟; no hotel, nothing to 济南.
        assert set(items) == {"wjj", "ycj"}
        health = items["wjj"]
        assert health.rule == rules["catering"] and health.rule_version == 1 and health.matter.name == "餐饮服务监管"
        assert health.matched_on == "行业 62；关键词 餐饮服务"
        assert health.trigger == PushTrigger.CREATED and health.source_event_id == created_event.id
        assert health.state == PushState.PUSHED and health.division_code == VILLAGE
        # 1 h to claim (hours are data on the matter), then the 10-working-day rule.
        assert health.deadline_hours == 1 and abs((health.due_at - health.created_at) - dt.timedelta(hours=1)) < dt.timedelta(seconds=1)
        assert health.due_on is not None and health.due_on >= timezone.localdate() + dt.timedelta(days=10)
        assert items["ycj"].due_on == health.due_on and items["ycj"].deadline_hours is None
        # The system's push stores no creation step: the timeline takes it from the item, as it was.
        assert not health.steps.exists()
        first = health.timeline()[0]
        assert (first.action, first.from_state, first.to_state, first.actor, first.via, first.comment, first.at) == (
            "create", "", PushState.PUSHED, None, "system", health.matched_on, health.created_at)

        # The village's task queue: one grid first visit, due by the grid.first_visit rule.
        task = entity.tasks.get(business_line="grid_first_visit")
        assert task.division_code == VILLAGE and task.deadline_rule == "grid.first_visit" and task.due_on == health.due_on
        assert task.source_ref == f"push:event:{created_event.id}"

        # The subscribed department's system received push.created (HMAC checked by the receiver).
        assert receiver.bad_signatures == 0
        got = [env for env in receiver.accepted.values() if env["type"] == "push.created"]
        mine = [env for env in got if env["payload"]["department_code"] == "wjj"]
        assert len(mine) == 1 and mine[0]["payload"]["count"] == 1
        assert mine[0]["division_code"] == VILLAGE and mine[0]["object_type"] == "org.department"
        payload = mine[0]["payload"]["items"][0]
        assert payload["item_id"] == health.pk and payload["credit_code"] == entity.credit_code
        assert payload["rule"] == {"id": rules["catering"].pk, "name": "餐饮行业", "version": 1, "matched_on": health.matched_on}
        assert payload["deadline"]["hours"] == 1 and payload["deadline"]["due_on"] == health.due_on.isoformat()


@pytest.mark.django_db
def test_failing_webhook_never_blocks_the_inbox(rules, depts, settings):
    """The department's endpoint answers 500 every time: items are in the inbox anyway; the
    delivery is retried and ends dead, and the other department's items are untouched."""
    settings.WEBHOOK_RETRY_BASE = 0.001
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    with Receiver(SECRET, policy=lambda env, n: "500") as receiver:
        sub = WebhookSubscription.objects.create(name="卫健局系统", department=depts["health"], url=receiver.url, secret=SECRET,
                                                 event_types="push.*")
        entity = _register()
        drain()
        assert PushItem.objects.filter(entity=entity, department=depts["health"], state=PushState.PUSHED).count() == 1
        import time

        for _ in range(50):
            drain()
            if not Delivery.objects.filter(subscription=sub, state=DeliveryState.PENDING).exists():
                break
            time.sleep(0.01)
        deliveries = Delivery.objects.filter(subscription=sub)
        assert deliveries.exists() and all(d.state == DeliveryState.DEAD for d in deliveries)
        assert receiver.accepted == {}
        assert PushItem.objects.filter(entity=entity).count() == 2


@pytest.mark.django_db
def test_push_is_idempotent_per_trigger_event(rules):
    """Running the handler again for the same event adds nothing; a second relevant event pushes again."""
    from zhijian.coordination.handlers import push_on_entity_event

    entity = _register()
    drain()
    event = Event.objects.get(type="entity.created", object_id=entity.credit_code)
    push_on_entity_event(event)  # as if redelivered without its marker
    assert PushItem.objects.filter(entity=entity).count() == 2
    assert entity.tasks.filter(business_line="grid_first_visit").count() == 1

    entities.entity_update(actor=None, credit_code=entity.credit_code, name="东莞市莞城好味餐饮店（改名）")
    drain()
    assert PushItem.objects.filter(entity=entity).count() == 2, "a name change does not push"

    entities.entity_update(actor=None, credit_code=entity.credit_code, business_scope="餐饮服务；住宿服务")
    drain()
    changed = PushItem.objects.filter(entity=entity, trigger=PushTrigger.CHANGED)
    assert sorted(changed.values_list("matter__code", flat=True)) == ["catering", "hotel"]
    assert entity.tasks.filter(business_line="grid_first_visit").count() == 2

    entities.entity_change_address(actor=None, credit_code=entity.credit_code, address="东莞市莞城街道新址2号", division_code="441900003002")
    drain()
    moved = PushItem.objects.filter(entity=entity, trigger=PushTrigger.ADDRESS_CHANGED)
    assert moved.count() == 2 and set(moved.values_list("division_code", flat=True)) == {"441900003002"}


@pytest.mark.django_db
def test_rule_change_takes_effect_for_the_next_event(rules):
    """Compiled indexes are rebuilt when a rule changes; the item keeps the version that pushed it."""
    from zhijian.coordination import rules as push_rules

    push_rules.rule_save(actor=None, matter=rules["hotel"].matter, rule=rules["hotel"], name="住宿", keywords="住宿服务,理发")
    entity = _register(industry_code="8040", business_scope="理发及美容服务")
    drain()
    item = PushItem.objects.get(entity=entity)
    assert item.matter.code == "hotel" and item.rule_version == 2 and item.matched_on == "关键词 理发"


@pytest.mark.django_db
def test_import_batches_expand_to_their_codes(rules):
    """entity.imported lists credit codes: each is evaluated; new ones also go to their village."""
    from zhijian.core import events

    a = _register(industry_code="6210", business_scope="餐饮服务")
    b = _register(industry_code="5211", business_scope="日用百货零售")
    drain()
    before = PushItem.objects.count()
    events.emit("entity.imported", payload={"job": 1, "created": [b.credit_code], "updated": [a.credit_code]},
                division_code="441900003001", object_type="entities.importjob", object_id=1)
    drain()
    new = PushItem.objects.filter(trigger=PushTrigger.IMPORTED)
    assert list(new.values_list("entity__credit_code", flat=True)) == [a.credit_code]
    assert PushItem.objects.count() == before + 1
    assert b.tasks.filter(business_line="grid_first_visit").count() == 2  # created + imported as new
    assert a.tasks.filter(business_line="grid_first_visit").count() == 1
