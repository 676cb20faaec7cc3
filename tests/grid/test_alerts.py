"""C3: each step of a case is a clock; the registry's one sweep raises each warning once, by level,
to the right person, across the 2026 National Day week.

Supervision tasks' and pushed items' clocks are swept by the same registry and warned the same way."""
import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time

from tests.grid.conftest import drain, sweep
from zhijian.deadlines import clocks
from zhijian.deadlines.choices import ClockState
from zhijian.grid import alerts, cases
from zhijian.grid.choices import ItemType, Trigger, WarningLevel
from zhijian.grid.models import Warning, WarningRun

D = dt.date


@pytest.fixture
def waiting(city):
    """A case assigned to the officer, first visit due Mon 12 Oct 2026 and never visited."""
    case = cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=city.entity, trigger_ref="r1", today=D(2026, 9, 21))
    case = cases.case_assign(actor=city.dispatcher, case=case, today=D(2026, 9, 22))
    assert case.step_due_on == D(2026, 10, 12)
    return case


def _levels(case):
    return sorted(Warning.objects.filter(item_type=ItemType.GRID_CASE, item_id=case.pk, step="first_visit").values_list("level", "recipient__username"))


def test_thresholds_count_working_days(city, waiting):
    """Reminder 2 wd ahead; unit head after 2 wd overdue; supervising level after 5 wd."""
    clock = cases.step_clock(waiting)
    assert (clock.rule_code, clock.started_on, clock.due_on) == ("grid.first_visit", D(2026, 9, 21), D(2026, 10, 12))
    assert clock.remind_on == D(2026, 10, 9)  # Sat 10 Oct is a working day
    assert clocks.escalate_after() == (2, 5)
    assert {int(level): who for level, who in alerts.ESCALATION.items()} == {
        WarningLevel.REMINDER: "person", WarningLevel.OVERDUE: "person", WarningLevel.UNIT_HEAD: "unit_head",
        WarningLevel.SUPERVISOR: "parent_head"}


def test_each_level_once_escalating_person_head_supervisor(city, waiting):
    # 30 Sep: twelve natural days before, but the holiday week lies between: nothing yet.
    sweep(D(2026, 9, 30))
    sweep(D(2026, 10, 8))
    assert _levels(waiting) == []
    # Fri 9 Oct: Sat 10 (make-up) and Mon 12 are the two working days left -> reminder to the officer.
    sweep(D(2026, 10, 9))
    assert _levels(waiting) == [(0, "officer")]
    sweep(D(2026, 10, 12))  # the due date itself: still in time
    assert _levels(waiting) == [(0, "officer")]
    sweep(D(2026, 10, 13))
    assert _levels(waiting) == [(0, "officer"), (1, "officer")]
    sweep(D(2026, 10, 14))  # 2 wd overdue: not yet the unit head
    assert len(_levels(waiting)) == 2
    sweep(D(2026, 10, 15))
    assert _levels(waiting) == [(0, "officer"), (1, "officer"), (2, "stationhead")]
    sweep(D(2026, 10, 19))
    assert len(_levels(waiting)) == 3
    sweep(D(2026, 10, 20))
    assert _levels(waiting) == [(0, "officer"), (1, "officer"), (2, "stationhead"), (3, "countyhead")]
    sup = Warning.objects.get(item_id=waiting.pk, level=3)
    assert sup.bureau == city.county
    # Sweeping again (and again) raises nothing new.
    before = Warning.objects.count()
    assert sum(sweep(D(2026, 10, 20)).values()) == 0
    assert sum(sweep(D(2026, 10, 30)).values()) == 0
    assert Warning.objects.count() == before


def test_a_new_step_gets_its_own_warnings(city, waiting):
    sweep(D(2026, 10, 13))
    items = {m: ("ok", "") for m in ["address", "operating", "licence", "unlicensed", "annual_report"]}
    items["display"] = ("problem", "未亮照")
    case = cases.visit_first(actor=city.officer, case=waiting, items=items, today=D(2026, 10, 13))
    sweep(D(2026, 10, 13))
    assert not Warning.objects.filter(item_id=case.pk, step="rectifying").exists()
    late = case.step_due_on + dt.timedelta(days=1)
    sweep(late)
    assert Warning.objects.filter(item_id=case.pk, step="rectifying", level=1, recipient=city.officer).exists()


def test_closed_cases_raise_nothing(city, waiting):
    cases.visit_first(actor=city.officer, case=waiting, items={m: ("ok", "") for m in
                      ["address", "operating", "licence", "unlicensed", "annual_report", "display"]}, today=D(2026, 10, 9))
    assert cases.step_clock(waiting).state == ClockState.STOPPED
    sweep(D(2026, 10, 20))
    assert _levels(waiting) == []


def test_unassigned_case_warns_the_unit_head(city):
    case = cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=city.entity, trigger_ref="r2", today=D(2026, 9, 21))
    sweep(D(2026, 9, 23))  # assignment due 22 Sep
    assert Warning.objects.get(item_id=case.pk, level=1).recipient == city.head


def test_runs_are_traced_and_acknowledgement_traced_once(city, waiting):
    from zhijian.core.models import TraceEntry

    sweep(D(2026, 10, 13))
    run = WarningRun.objects.get(item_type=ItemType.GRID_CASE, level=1)
    assert run.count == 1
    assert TraceEntry.objects.filter(action="grid.warnings.raise", object_id=str(run.pk)).count() == 1
    w = Warning.objects.get(item_id=waiting.pk, level=1)
    alerts.warning_acknowledge(actor=city.officer, warning=w)
    alerts.warning_acknowledge(actor=city.officer, warning=w)
    assert TraceEntry.objects.filter(action="grid.warning.acknowledge", object_id=str(w.pk)).count() == 1
    assert Warning.objects.get(pk=w.pk).acknowledged


def test_supervision_tasks_due_dates_are_swept(city):
    """A task's clock (procedure ``supervision.task``) warns its assignee, else the unit's head,
    escalating like a case's step; a village's grid task is followed through its grid case."""
    from zhijian.supervision import tasks as sv

    with freeze_time("2026-09-29 09:00:00+08:00"):  # grid.first_visit, 10 wd over National Day: due Mon 19 Oct
        task = sv.task_create(actor=None, entity=city.entity, title="日常检查", source="manual", deadline_rule="grid.first_visit",
                              assignee=city.officer)
        nobody = sv.task_create(actor=None, entity=city.entity, title="专项检查", source="manual", deadline_rule="grid.first_visit",
                                bureau=city.station)
        village = sv.task_create(actor=None, entity=city.entity, title="首次走访", source="clue", business_line="grid_first_visit",
                                 deadline_rule="grid.first_visit")
    assert task.due_on == D(2026, 10, 19)

    def levels(t):
        return sorted(Warning.objects.filter(item_type=ItemType.TASK, item_id=t.pk).values_list("level", "recipient__username", "step"))

    sweep(D(2026, 10, 16))
    assert levels(task) == [(0, "officer", "due")]
    sweep(D(2026, 10, 20))
    assert levels(task) == [(0, "officer", "due"), (1, "officer", "due")]
    assert levels(nobody) == [(0, "stationhead", "due"), (1, "stationhead", "due")]
    sweep(D(2026, 10, 27))
    assert levels(task) == [(0, "officer", "due"), (1, "officer", "due"), (2, "stationhead", "due"), (3, "countyhead", "due")]
    assert Warning.objects.get(item_type=ItemType.TASK, item_id=task.pk, level=3).bureau == city.county
    w = Warning.objects.get(item_type=ItemType.TASK, item_id=task.pk, level=1)
    assert w.item_url() == reverse("supervision:task_detail", args=[task.pk])
    assert WarningRun.objects.filter(item_type=ItemType.TASK, level=1).count() == 1
    # The village's grid task is followed through its grid case, not warned twice.
    assert levels(village) == []
    assert sum(sweep(D(2026, 10, 27)).values()) == 0


def test_pushed_items_escalate_from_claimer_to_department_head_to_the_areas_regulator(city):
    """A department's pushed item past its day limit (its clock, started by the push): the person
    who claimed it (else the head of the department), then the head, then the head of the market
    regulator of the department's area; a finished item's clock stops and it warns no more."""
    from tests.factories import make_user
    from zhijian.coordination import engine, feedback
    from zhijian.coordination.choices import PUSH_PROCEDURE, PushState, PushTrigger
    from zhijian.coordination.models import PushItem, SupervisionMatter
    from zhijian.coordination.push import create_items

    make_user("leader", bureau=None, jurisdiction="4419", username="healthhead", department=city.health)
    staff = make_user("department_staff", bureau=None, jurisdiction="4419", username="healthstaff", department=city.health)
    matter = SupervisionMatter.objects.create(code="clinic", name="医疗机构执业监管")
    rule = engine.CompiledRule(None, 1, "", matter.pk, matter.name, "grid.first_visit", None, ((city.health.pk, ("4419",)),))

    def item(key):
        match = engine.Match(rule, ["测试"])
        return create_items(city.entity, [(match, city.health.pk)], trigger=PushTrigger.CREATED, trigger_key=key,
                            source_event_id=None)[0]

    with freeze_time("2026-09-29 09:00:00+08:00"):  # grid.first_visit, 10 wd over National Day: due Mon 19 Oct
        unclaimed, claimed, done = item("event:1"), item("event:2"), item("event:3")
        feedback.item_claim(actor=staff, item=claimed)
        feedback.item_claim(actor=staff, item=done)
    assert clocks.get(PUSH_PROCEDURE, claimed.pk).due_on == D(2026, 10, 19) == PushItem.objects.get(pk=claimed.pk).due_on

    def levels(it):
        return sorted(Warning.objects.filter(item_type=ItemType.PUSH_ITEM, item_id=it.pk).values_list("level", "recipient__username"))

    sweep(D(2026, 10, 16))
    assert levels(unclaimed) == [(0, "healthhead")] and levels(claimed) == [(0, "healthstaff")]
    with freeze_time("2026-10-16 10:00:00+08:00"):
        feedback.item_accept(actor=staff, item=done)
        feedback.item_finish(actor=staff, item=done, result="已检查")
    assert clocks.get(PUSH_PROCEDURE, done.pk).state == ClockState.STOPPED
    sweep(D(2026, 10, 27))
    assert levels(claimed) == [(0, "healthstaff"), (1, "healthstaff"), (2, "healthhead"), (3, "countyhead")]
    assert Warning.objects.get(item_type=ItemType.PUSH_ITEM, item_id=claimed.pk, level=3).bureau == city.county
    assert levels(done) == [(0, "healthstaff")]  # finished before it ran late
    w = Warning.objects.get(item_type=ItemType.PUSH_ITEM, item_id=claimed.pk, level=1)
    assert w.item_url() == reverse("coordination:item_detail", args=[claimed.pk]) and w.step == PushState.CLAIMED
    assert sum(sweep(D(2026, 10, 27)).values()) == 0


def test_an_unclaimed_items_receipt_limit_in_hours_runs_on_the_clock(city):
    """签收时限: an item to be claimed within 1 hour warns by the clock — reminder in its last hour,
    overdue after it, the head after 2 hours, the area's regulator after 8 — and stops once claimed."""
    from django.utils import timezone

    from tests.factories import make_user
    from zhijian.coordination.choices import PushState, PushTrigger
    from zhijian.coordination.models import PushItem, SupervisionMatter

    make_user("leader", username="healthhead", department=city.health)
    matter = SupervisionMatter.objects.create(code="clinic", name="医疗机构执业监管", deadline_hours=1)
    pushed = timezone.make_aware(dt.datetime(2026, 10, 13, 23, 30))  # Beijing time: due 00:30 on the 14th
    item = PushItem.objects.create(entity=city.entity, department=city.health, matter=matter, trigger=PushTrigger.CREATED,
                                   trigger_key="event:9", division_code=city.entity.division_code, deadline_hours=1,
                                   due_at=pushed + dt.timedelta(hours=1), created_at=pushed)
    other = PushItem.objects.create(entity=city.entity, department=city.health, matter=matter, trigger=PushTrigger.CREATED,
                                    trigger_key="event:10", division_code=city.entity.division_code, deadline_hours=1,
                                    due_at=pushed + dt.timedelta(hours=1), created_at=pushed)

    def receipt(it):
        return sorted(Warning.objects.filter(item_type=ItemType.PUSH_ITEM, item_id=it.pk, step="receipt")
                      .values_list("level", "recipient__username", "due_on"))

    hour = dt.timedelta(hours=1)
    alerts.receipt_warnings(now=pushed - hour)
    assert receipt(item) == []
    alerts.receipt_warnings(now=pushed)
    assert receipt(item) == [(0, "healthhead", D(2026, 10, 14))]  # the local day of 00:30, not UTC's
    PushItem.objects.filter(pk=other.pk).update(state=PushState.CLAIMED)
    alerts.receipt_warnings(now=pushed + 2 * hour)
    assert [lv for lv, *_r in receipt(item)] == [0, 1]
    alerts.receipt_warnings(now=pushed + 4 * hour)
    assert [lv for lv, *_r in receipt(item)] == [0, 1, 2]
    alerts.receipt_warnings(now=pushed + 10 * hour)
    assert [lv for lv, *_r in receipt(item)] == [0, 1, 2, 3]
    assert receipt(other) == [(0, "healthhead", D(2026, 10, 14))]  # claimed before it ran out: no more
    assert sum(alerts.receipt_warnings(now=pushed + 10 * hour).values()) == 0


def test_receipt_warnings_run_from_the_scheduler(db):
    from zhijian.deadlines.scheduling import registry

    assert "新增 0 条" in registry()["grid.receipt_warnings"].func()


def test_a_redelivered_sweep_event_warns_once(city, waiting):
    """The handler may see a ``clock.*`` event twice (at-least-once delivery): one warning."""
    from zhijian.core.models import Event

    sweep(D(2026, 10, 13))
    overdue = [e for e in Event.objects.filter(type="clock.overdue")
               if any(c["object_id"] == waiting.pk for c in clocks.reported_clocks(e))]
    assert len(overdue) == 1
    assert sum(alerts.raise_warnings(overdue).values()) == 0
    assert _levels(waiting) == [(1, "officer")]


def test_periodic_sweep_on_a_frozen_clock(city, waiting):
    from zhijian.deadlines.scheduling import registry

    with freeze_time("2026-10-13 09:00:00+08:00"):
        message = registry()["deadlines.clocks"].func()
        drain()
    assert "逾期 1" in message  # a missed reminder is not raised once overdue: only level 1
    assert _levels(waiting) == [(1, "officer")]
