"""C1 inline: a registration is in the departments' inboxes when its transaction commits; a push
that fails there leaves the registration standing and the event to the dispatcher."""
import random

import pytest
from django.db import transaction

from tests.coordination.conftest import VILLAGE, drain
from zhijian.coordination import push
from zhijian.coordination.models import PushItem
from zhijian.core.models import Event, EventState, HandlerRun
from zhijian.entities import creditcode


def register(rng, **fields):
    from zhijian.entities import services as entities

    values = {"name": "东莞市莞城某某餐饮店", "division_code": VILLAGE, "industry_code": "6210", "business_scope": "餐饮服务；卷烟零售"}
    values.update(fields)
    return entities.entity_create(actor=None, credit_code=creditcode.generate(rng, "441900", "1"), **values)


@pytest.mark.django_db(transaction=True)
def test_a_registration_is_in_the_inboxes_when_it_commits(rules, depts):
    rng = random.Random(1)
    with transaction.atomic():
        entity = register(rng)
        # Inside the registering transaction already, before any dispatcher ran.
        inside = set(PushItem.objects.filter(entity=entity).values_list("department__code", flat=True))
    assert inside == {"wjj", "ycj"}
    event = Event.objects.get(type="entity.created")
    assert HandlerRun.objects.filter(handler="coordination.push", event=event).exists()
    assert event.state == EventState.PENDING  # the dispatcher still fans it out (webhooks, village work)
    drain()
    assert PushItem.objects.filter(entity=entity).count() == 2  # not pushed twice
    event.refresh_from_db()
    assert event.state == EventState.DONE
    from zhijian.supervision.models import Task

    assert Task.objects.filter(entity=entity, business_line="grid_first_visit").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_inline_push_leaves_the_registration_and_the_dispatcher_pushes_it(rules, depts, monkeypatch, caplog):
    rng = random.Random(2)
    real = push.push_events
    calls = []

    def broken(evs, **kw):
        calls.append([e.id for e in evs])
        raise RuntimeError("rule index unavailable")

    monkeypatch.setattr(push, "push_events", broken)
    entity = register(rng)
    assert calls, "the push was not tried inline"
    assert entity.pk and not PushItem.objects.filter(entity=entity).exists()
    event = Event.objects.get(type="entity.created")
    assert not HandlerRun.objects.filter(handler="coordination.push", event=event).exists()
    assert "left to the dispatcher" in caplog.text
    monkeypatch.setattr(push, "push_events", real)
    drain()
    assert set(PushItem.objects.filter(entity=entity).values_list("department__code", flat=True)) == {"wjj", "ycj"}
    assert HandlerRun.objects.filter(handler="coordination.push", event=event).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_inline_push_takes_back_its_partial_writes(rules, depts, monkeypatch):
    """The savepoint: items written before the failure do not survive it."""
    rng = random.Random(3)
    real = push._create_items_bulk

    def half(batches, **kw):
        real(batches, **kw)
        raise RuntimeError("after the items")

    monkeypatch.setattr(push, "_create_items_bulk", half)
    entity = register(rng)
    assert not PushItem.objects.filter(entity=entity).exists()
    assert not Event.objects.filter(type="push.created").exists()
    monkeypatch.setattr(push, "_create_items_bulk", real)
    drain()
    assert PushItem.objects.filter(entity=entity).count() == 2
    assert Event.objects.filter(type="push.created").count() == 2


@pytest.mark.django_db(transaction=True)
def test_without_inline_handlers_the_dispatcher_pushes(rules, depts, settings):
    settings.EVENT_INLINE = False
    entity = register(random.Random(4))
    assert not PushItem.objects.filter(entity=entity).exists()
    drain()
    assert PushItem.objects.filter(entity=entity).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_registration_pushes_nothing(rules, depts):
    rng = random.Random(5)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            register(rng)
            raise RuntimeError("the registration fails after its event")
    assert not PushItem.objects.exists() and not Event.objects.filter(type__startswith="entity.").exists()
