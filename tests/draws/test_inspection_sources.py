"""The draw reads the sealed on-site inspection records (S3): who inspected an entity last (the
last-inspector recusal) and on which day a drawn item was inspected (the publicity clock)."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from tests.factories import make_bureau, make_entity, make_user
from zhijian.core.errors import ApplicationError
from zhijian.deadlines.rules import due  # the rule the publicity clock runs on
from zhijian.draws import services, sources
from zhijian.draws.models import DrawItem, PastInspection
from zhijian.inspections.choices import Conclusion, InspectionState
from zhijian.inspections.models import ChecklistVersion, Inspection, InspectionOfficer

pytestmark = pytest.mark.django_db
_n = itertools.count(1)


@pytest.fixture
def org(db):
    bureau = make_bureau("4419")
    return bureau, make_user("leader", bureau=bureau)


def inspector(bureau):
    return make_user("enforcement_officer", bureau=bureau, enforcement_cert_no=f"4419{next(_n):07d}")


def inspection(entity, bureau, officers, *, on: dt.date, state=InspectionState.SEALED, task=None) -> Inspection:
    """An on-site inspection record as the phone's sync leaves it (only what the draw reads)."""
    version, _ = ChecklistVersion.objects.get_or_create(number=1, defaults={"effective_on": dt.date(2026, 1, 1), "published": True})
    at = timezone.make_aware(dt.datetime.combine(on, dt.time(10, 0)))
    record = Inspection.objects.create(
        client_key=f"k{next(_n)}", entity=entity, entity_name=entity.name, bureau=bureau, division_code=entity.division_code,
        checklist_version=version, created_by=officers[0], started_at=at, finished_at=at + dt.timedelta(hours=1),
        conclusion=Conclusion.PASS, state=state, sealed_at=at if state == InspectionState.SEALED else None,
    )
    for i, o in enumerate(officers):
        InspectionOfficer.objects.create(inspection=record, user=o, name=o.full_name or o.username, cert_no=o.enforcement_cert_no, order=i)
    if task is not None:
        record.tasks.add(task)
    return record


def test_last_inspectors_read_sealed_inspection_records(org):
    """Before the fix only draw results and PastInspection rows were read: an entity inspected on
    the phone (a sealed record) did not recuse its inspectors from the next draw."""
    bureau, _leader = org
    shop = make_entity("441900003001")
    a, b, c, d = (inspector(bureau) for _ in range(4))
    inspection(shop, bureau, [a, b], on=dt.date(2026, 3, 2))
    inspection(shop, bureau, [c, d], on=dt.date(2026, 4, 1), state=InspectionState.SIGNED)  # not sealed: no record yet
    assert sources.last_inspectors([shop.credit_code]) == {shop.credit_code: {a.pk, b.pk}}
    # An older hand-entered inspection loses to the sealed record; a newer one wins.
    PastInspection.objects.create(credit_code=shop.credit_code, inspector=c, inspected_on=dt.date(2025, 6, 1))
    assert sources.last_inspectors([shop.credit_code])[shop.credit_code] == {a.pk, b.pk}
    PastInspection.objects.create(credit_code=shop.credit_code, inspector=d, inspected_on=dt.date(2026, 5, 1))
    assert sources.last_inspectors()[shop.credit_code] == {d.pk}


def test_a_draw_recuses_the_officers_of_the_last_sealed_inspection(org):
    bureau, leader = org
    shop = make_entity("441900003001")
    people = [inspector(bureau) for _ in range(4)]
    inspection(shop, bureau, people[:2], on=dt.date(2026, 3, 2))
    plan = services.plan_create(actor=leader, bureau=bureau, name="抽查", period="2026", division_code="4419", ratios={"B": "100"},
                                recusal={"last_inspector": None})
    draw = services.draw_execute(actor=leader, draw=services.draw_commit(actor=leader, plan=plan))
    [item] = draw.items.all()
    assert not set(item.inspector_ids) & {people[0].pk, people[1].pk}
    assert sorted(item.excluded) == sorted(p.enforcement_cert_no for p in people[:2])


@pytest.fixture
def drawn(org):
    bureau, leader = org
    shop = make_entity("441900003001")
    for _ in range(2):
        inspector(bureau)
    plan = services.plan_create(actor=leader, bureau=bureau, name="抽查", period="2026Q1", division_code="4419", ratios={"B": "100"})
    draw = services.draw_execute(actor=leader, draw=services.draw_commit(actor=leader, plan=plan))
    [joint] = services.joint_merge(actor=leader, period="2026Q1")
    return bureau, leader, shop, DrawItem.objects.select_related("draw__plan", "joint").get(draw=draw), joint


def test_publicity_clock_starts_on_the_sealed_inspections_day(drawn):
    """Typed in later without a date, the result's publicity is still due 20 working days after
    the inspection (the sealed record's day), not after the day it was typed in."""
    bureau, leader, shop, item, joint = drawn
    visit = timezone.localdate() - dt.timedelta(days=40)
    officers = list(type(leader).objects.filter(pk__in=item.inspector_ids))
    inspection(shop, bureau, officers, on=visit, task=joint.task)
    recorded = services.draw_record_result(actor=leader, item=item, result="no_problem")
    assert recorded.inspected_on == visit
    assert recorded.publicity_due == due(item.draw.plan.publicity_rule, visit).due_date
    assert recorded.is_overdue()


def test_a_result_without_an_inspection_date_or_record_is_refused(drawn):
    _bureau, leader, _shop, item, _joint = drawn
    with pytest.raises(ApplicationError, match="检查日期"):
        services.draw_record_result(actor=leader, item=item, result="no_problem")
    with pytest.raises(ApplicationError, match="检查日期不能晚于今天"):
        services.draw_record_result(actor=leader, item=item, result="no_problem", inspected_on=timezone.localdate() + dt.timedelta(days=1))
    day = timezone.localdate() - dt.timedelta(days=3)
    assert services.draw_record_result(actor=leader, item=item, result="no_problem", inspected_on=day).inspected_on == day


def test_the_publicity_period_runs_on_the_clock_registry(drawn):
    """Recording starts the item's publicity clock on the inspection's day; publishing stops it;
    a recomputed provisional due date is copied onto the item."""
    from zhijian.core.models import Event
    from zhijian.deadlines import clocks
    from zhijian.deadlines.choices import ClockState
    from zhijian.draws import handlers

    _bureau, leader, _shop, item, _joint = drawn
    day = timezone.localdate() - dt.timedelta(days=2)
    item = services.draw_record_result(actor=leader, item=item, result="no_problem", inspected_on=day)
    clock = clocks.get(services.PUBLICITY_CLOCK, item.pk)
    assert clock.started_on == day and clock.due_on == item.publicity_due and clock.rule_code == item.draw.plan.publicity_rule
    later = item.publicity_due + dt.timedelta(days=3)
    handlers.copy_recomputed_due([Event(type="clock.recomputed", payload={
        "procedure": services.PUBLICITY_CLOCK, "object_id": item.pk, "new_due_on": later.isoformat(), "provisional": False})])
    item.refresh_from_db()
    assert item.publicity_due == later
    services.draw_publish_result(actor=leader, item=item)
    assert clocks.get(services.PUBLICITY_CLOCK, item.pk).state == ClockState.STOPPED
