"""C3: the warning sweep raises each warning once, by level, to the right person, across the
2026 National Day week; supervision tasks' due dates are swept too."""
import datetime as dt

import pytest
from freezegun import freeze_time

from zhijian.grid import alerts, services
from zhijian.grid.choices import ItemType, Trigger, WarningLevel
from zhijian.grid.models import Warning, WarningRun

D = dt.date


@pytest.fixture
def waiting(city):
    """A case assigned to the officer, first visit due Mon 12 Oct 2026 and never visited."""
    case = services.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=city.entity, trigger_ref="r1", today=D(2026, 9, 21))
    case = services.case_assign(actor=city.dispatcher, case=case, today=D(2026, 9, 22))
    assert case.step_due_on == D(2026, 10, 12)
    return case


def _levels(case):
    return sorted(Warning.objects.filter(item_type=ItemType.GRID_CASE, item_id=case.pk, step="first_visit").values_list("level", "recipient__username"))


@pytest.mark.django_db  # working days read the holiday table
def test_thresholds_count_working_days():
    """Reminder 2 wd ahead; unit head after 2 wd overdue; supervising level after 5 wd."""
    t = alerts.thresholds(D(2026, 10, 9))
    assert t[WarningLevel.REMINDER] == (D(2026, 10, 9), D(2026, 10, 12))  # Sat 10 Oct is a working day
    assert t[WarningLevel.OVERDUE] == (None, D(2026, 10, 8))
    assert alerts.thresholds(D(2026, 10, 15))[WarningLevel.UNIT_HEAD] == (None, D(2026, 10, 12))
    assert alerts.thresholds(D(2026, 10, 20))[WarningLevel.SUPERVISOR] == (None, D(2026, 10, 12))


def test_each_level_once_escalating_person_head_supervisor(city, waiting):
    # 30 Sep: twelve natural days before, but the holiday week lies between: nothing yet.
    alerts.sweep(today=D(2026, 9, 30))
    alerts.sweep(today=D(2026, 10, 8))
    assert _levels(waiting) == []
    # Fri 9 Oct: Sat 10 (make-up) and Mon 12 are the two working days left -> reminder to the officer.
    alerts.sweep(today=D(2026, 10, 9))
    assert _levels(waiting) == [(0, "officer")]
    alerts.sweep(today=D(2026, 10, 12))  # the due date itself: still in time
    assert _levels(waiting) == [(0, "officer")]
    alerts.sweep(today=D(2026, 10, 13))
    assert _levels(waiting) == [(0, "officer"), (1, "officer")]
    alerts.sweep(today=D(2026, 10, 14))  # 2 wd overdue: not yet the unit head
    assert len(_levels(waiting)) == 2
    alerts.sweep(today=D(2026, 10, 15))
    assert _levels(waiting) == [(0, "officer"), (1, "officer"), (2, "stationhead")]
    alerts.sweep(today=D(2026, 10, 19))
    assert len(_levels(waiting)) == 3
    alerts.sweep(today=D(2026, 10, 20))
    assert _levels(waiting) == [(0, "officer"), (1, "officer"), (2, "stationhead"), (3, "countyhead")]
    sup = Warning.objects.get(item_id=waiting.pk, level=3)
    assert sup.bureau == city.county
    # Sweeping again (and again) raises nothing new.
    before = Warning.objects.count()
    assert sum(alerts.sweep(today=D(2026, 10, 20)).values()) == 0
    assert sum(alerts.sweep(today=D(2026, 10, 30)).values()) == 0
    assert Warning.objects.count() == before


def test_a_new_step_gets_its_own_warnings(city, waiting):
    alerts.sweep(today=D(2026, 10, 13))
    items = {m: ("ok", "") for m in ["address", "operating", "licence", "unlicensed", "annual_report"]}
    items["display"] = ("problem", "未亮照")
    case = services.visit_first(actor=city.officer, case=waiting, items=items, today=D(2026, 10, 13))
    alerts.sweep(today=D(2026, 10, 13))
    assert not Warning.objects.filter(item_id=case.pk, step="rectifying").exists()
    late = case.step_due_on + dt.timedelta(days=1)
    alerts.sweep(today=late)
    assert Warning.objects.filter(item_id=case.pk, step="rectifying", level=1, recipient=city.officer).exists()


def test_closed_cases_raise_nothing(city, waiting):
    services.visit_first(actor=city.officer, case=waiting, items={m: ("ok", "") for m in
                         ["address", "operating", "licence", "unlicensed", "annual_report", "display"]}, today=D(2026, 10, 9))
    alerts.sweep(today=D(2026, 10, 20))
    assert _levels(waiting) == []


def test_unassigned_case_warns_the_unit_head(city):
    case = services.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=city.entity, trigger_ref="r2", today=D(2026, 9, 21))
    alerts.sweep(today=D(2026, 9, 23))  # assignment due 22 Sep
    assert Warning.objects.get(item_id=case.pk, level=1).recipient == city.head


def test_runs_are_traced_and_acknowledgement_traced_once(city, waiting):
    from zhijian.core.models import TraceEntry

    alerts.sweep(today=D(2026, 10, 13))
    run = WarningRun.objects.get(item_type=ItemType.GRID_CASE, level=1)
    assert run.count == 1
    assert TraceEntry.objects.filter(action="grid.warnings.raise", object_id=str(run.pk)).count() == 1
    w = Warning.objects.get(item_id=waiting.pk, level=1)
    alerts.warning_acknowledge(actor=city.officer, warning=w)
    alerts.warning_acknowledge(actor=city.officer, warning=w)
    assert TraceEntry.objects.filter(action="grid.warning.acknowledge", object_id=str(w.pk)).count() == 1
    assert Warning.objects.get(pk=w.pk).acknowledged


def test_supervision_tasks_due_dates_are_swept(city):
    from zhijian.supervision import services as sv

    task = sv.task_create(actor=None, entity=city.entity, title="日常检查", source="manual", due_on=D(2026, 10, 12), assignee=city.officer)
    village = sv.task_create(actor=None, entity=city.entity, title="首次走访", source="clue", business_line="grid_first_visit",
                             due_on=D(2026, 10, 12))
    alerts.sweep(today=D(2026, 10, 13))
    assert Warning.objects.filter(item_type=ItemType.TASK, item_id=task.pk, level=1, recipient=city.officer).exists()
    # The village's grid task is followed through its grid case, not warned twice.
    assert not Warning.objects.filter(item_type=ItemType.TASK, item_id=village.pk).exists()


def test_pushed_items_escalate_from_claimer_to_department_head_to_the_areas_regulator(city):
    """A department's pushed item past its day limit: the person who claimed it (else the head of
    the department), then the head, then the head of the market regulator of the department's area."""
    from tests.factories import make_user
    from zhijian.coordination.choices import PushState, PushTrigger
    from zhijian.coordination.models import PushItem, SupervisionMatter

    dept_head = make_user("leader", bureau=None, jurisdiction="4419", username="healthhead", department=city.health)
    staff = make_user("department_staff", bureau=None, jurisdiction="4419", username="healthstaff", department=city.health)
    matter = SupervisionMatter.objects.create(code="clinic", name="医疗机构执业监管")

    def item(key, **fields):
        return PushItem.objects.create(entity=city.entity, department=city.health, matter=matter, trigger=PushTrigger.CREATED,
                                       trigger_key=key, division_code=city.entity.division_code, due_on=D(2026, 10, 12), **fields)

    unclaimed, claimed = item("event:1"), item("event:2", state=PushState.CLAIMED, claimed_by=staff)
    done = item("event:3", state=PushState.FINISHED)

    def levels(it):
        return sorted(Warning.objects.filter(item_type=ItemType.PUSH_ITEM, item_id=it.pk).values_list("level", "recipient__username"))

    alerts.sweep(today=D(2026, 10, 9))
    assert levels(unclaimed) == [(0, "healthhead")] and levels(claimed) == [(0, "healthstaff")]
    alerts.sweep(today=D(2026, 10, 20))
    assert levels(claimed) == [(0, "healthstaff"), (1, "healthstaff"), (2, "healthhead"), (3, "countyhead")]
    assert Warning.objects.get(item_type=ItemType.PUSH_ITEM, item_id=claimed.pk, level=3).bureau == city.county
    assert levels(done) == []
    w = Warning.objects.get(item_type=ItemType.PUSH_ITEM, item_id=claimed.pk, level=1)
    assert w.item_url() == f"/coordination/items/{claimed.pk}/" and w.step == "claimed"
    assert sum(alerts.sweep(today=D(2026, 10, 20)).values()) == 0


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
    alerts.sweep(today=D(2026, 10, 13), now=pushed - hour)
    assert receipt(item) == []
    alerts.sweep(today=D(2026, 10, 13), now=pushed)
    assert receipt(item) == [(0, "healthhead", D(2026, 10, 14))]  # the local day of 00:30, not UTC's
    PushItem.objects.filter(pk=other.pk).update(state=PushState.CLAIMED)
    alerts.sweep(today=D(2026, 10, 14), now=pushed + 2 * hour)
    assert [lv for lv, *_r in receipt(item)] == [0, 1]
    alerts.sweep(today=D(2026, 10, 14), now=pushed + 4 * hour)
    assert [lv for lv, *_r in receipt(item)] == [0, 1, 2]
    alerts.sweep(today=D(2026, 10, 14), now=pushed + 10 * hour)
    assert [lv for lv, *_r in receipt(item)] == [0, 1, 2, 3]
    assert receipt(other) == [(0, "healthhead", D(2026, 10, 14))]  # claimed before it ran out: no more
    assert sum(alerts.sweep(today=D(2026, 10, 14), now=pushed + 10 * hour).values()) == 0


def test_periodic_sweep_on_a_frozen_clock(city, waiting):
    from zhijian.deadlines.scheduling import registry

    with freeze_time("2026-10-13 09:00:00+08:00"):
        message = registry()["grid.warnings"].func()
    assert "新增预警 1 条" in message  # a missed reminder is not raised once overdue: only level 1
    assert _levels(waiting) == [(1, "officer")]
