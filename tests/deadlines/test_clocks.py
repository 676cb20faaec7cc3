"""The clock registry (``zhijian.deadlines.clocks``) on the real 2026 schedule, a provisional 2027 and
frozen clocks. Every expected date was counted by hand on a calendar; the start day is never counted.
"""
import datetime as dt
import threading

import pytest
from django.db import connection
from freezegun import freeze_time

from zhijian.core.models import Event, TraceEntry
from zhijian.deadlines import clocks
from zhijian.deadlines.choices import ClockState
from zhijian.deadlines.models import Clock, DeadlineRule, Holiday
from zhijian.deadlines.rules import due
from zhijian.deadlines.services import holiday_save, holidays_enter
from zhijian.deadlines.workdays import library_knows

D = dt.date
pytestmark = pytest.mark.usefixtures("holidays", "rules")
P = "tests.item"


def _start(object_id, rule, start, **kw):
    return clocks.start(procedure=P, object_id=object_id, rule=rule, start=start, division_code="441900003001", **kw)


def _events(kind):
    return list(Event.objects.filter(type=kind).order_by("id"))


def _reported(kind):
    """(clock id, event payload) of every clock the sweep's ``kind`` events list."""
    return [(c["clock_id"], e.payload) for e in _events(kind) for c in clocks.reported_clocks(e)]


# --- extension -------------------------------------------------------------------------------------


@freeze_time("2026-03-20")
def test_extension_counts_from_the_original_due_date_not_from_the_start():
    """Clue verification: 15 working days from Mon 2 March 2026 is Mon 23 March; the approved
    +15 runs from 23 March (24–27, 30–31, 1–3 April, Qingming 4–6 April off, 7–10, 13–14) to
    Tue 14 April. Counted from the start, as ``due(extension, start)`` does, it would be 23 March
    again: the extension would add nothing."""
    clock = _start(1, "penalty.clue_verify", D(2026, 3, 2))
    assert (clock.due_on, clock.original_due_on) == (D(2026, 3, 23), D(2026, 3, 23))
    assert due("penalty.clue_verify_extension", D(2026, 3, 2)).due_date == D(2026, 3, 23)  # the old way
    clock = clocks.extend(clock, rule="penalty.clue_verify_extension", reason="案情复杂，经负责人批准")
    assert clock.due_on == D(2026, 4, 14)
    assert clock.original_due_on == D(2026, 3, 23)
    assert clock.history[-1]["from_due"] == "2026-03-23" and clock.history[-1]["to_due"] == "2026-04-14"
    ev = _events("clock.extended")[-1]
    assert ev.payload["due_on"] == "2026-04-14" and ev.payload["from_due"] == "2026-03-23"
    assert TraceEntry.objects.filter(action="clock.extended", object_id=str(clock.pk)).count() == 1


# --- roll-forward ------------------------------------------------------------------------------------


def test_natural_day_period_ending_on_national_day_rolls_to_the_next_working_day():
    """A fine is due 15 days after the decision is received (行政处罚法 art. 67). Received Sun 20 Sep
    2026, the 15th day is Mon 5 Oct, inside the National Day holiday (1–7 Oct): the period ends on
    Thu 8 Oct, the first working day after it (民法典 art. 203; rule data ``roll_forward``)."""
    rule = DeadlineRule.objects.get(code="penalty.fine_payment")
    assert rule.roll_forward is True and "第二百零三条" in rule.note
    assert due("penalty.fine_payment", D(2026, 9, 20)).due_date == D(2026, 10, 8)
    assert _start(2, "penalty.fine_payment", D(2026, 9, 20)).due_on == D(2026, 10, 8)
    assert due("penalty.fine_payment", D(2026, 9, 10)).due_date == D(2026, 9, 28)  # Fri 25 Sep, Mid-Autumn: rolls to Mon 28
    assert due("penalty.fine_payment", D(2026, 9, 1)).due_date == D(2026, 9, 16)  # a working day: unchanged
    # Not every natural-day period rolls: a publicity period is a duration, not a time to act.
    assert DeadlineRule.objects.get(code="registration.simple_deregistration_publicity").roll_forward is False


# --- suspension --------------------------------------------------------------------------------------


@freeze_time("2026-03-12")
def test_suspension_excludes_its_days():
    """First visit: 10 working days from Mon 2 March 2026 is Mon 16 March. Suspended on Wed 4 March
    (2 days used: 3, 4), resumed on Wed 11 March: the 5 working days 5, 6, 9, 10, 11 are not counted;
    8 remain from 12 March: 12, 13, 16, 17, 18, 19, 20, 23 → Mon 23 March."""
    clock = _start(3, "grid.first_visit", D(2026, 3, 2))
    assert clock.due_on == D(2026, 3, 16)
    clock = clocks.suspend(clock, on=D(2026, 3, 4), reason="等待检验结果")
    assert clock.state == ClockState.SUSPENDED
    assert clocks.sweep(D(2026, 3, 20)) == {"reminder": 0, "overdue": 0, "escalated_1": 0, "escalated_2": 0}  # not counting
    clock = clocks.resume(clock, on=D(2026, 3, 11))
    assert (clock.state, clock.suspended_days, clock.due_on) == (ClockState.RUNNING, 5, D(2026, 3, 23))
    assert clock.original_due_on == D(2026, 3, 16)
    # An extension after a suspension counts from the suspended-and-resumed due date.
    clock = clocks.extend(clock, rule="grid.recheck")
    assert clock.due_on == D(2026, 4, 7)  # 24, 25, 26, 27, 30, 31, 1, 2, 3, (4–6 off) 7
    assert [e.type for e in Event.objects.filter(object_id=str(clock.pk)).order_by("id")] == [
        "clock.started", "clock.suspended", "clock.resumed", "clock.extended"]


def test_natural_day_suspension_counts_natural_days():
    """A penalty decision (90 days from filing, 1 June 2026 → 30 Aug, a Sunday → rolls to Mon 31 Aug);
    a hearing suspends it from 10 to 20 June: 10 natural days later, 9 Sep (a Wednesday)."""
    clock = _start(4, "penalty.decision", D(2026, 6, 1))
    assert clock.due_on == D(2026, 8, 31)
    clocks.suspend(clock, on=D(2026, 6, 10), reason="听证")
    clock = clocks.resume(clock, on=D(2026, 6, 20))
    assert (clock.suspended_days, clock.due_on) == (10, D(2026, 9, 9))


def test_stop_restart_and_the_amount_a_rule_bounds():
    clock = _start(5, "inspection.max_correction", D(2026, 3, 2), amount=10)
    assert clock.due_on == D(2026, 3, 16) and clock.obligor == "party"
    with pytest.raises(clocks.ApplicationError, match="1–90"):
        _start(6, "inspection.max_correction", D(2026, 3, 2), amount=91)
    assert _start(5, "inspection.max_correction", D(2026, 3, 2), amount=10).pk == clock.pk  # a replay changes nothing
    stopped = clocks.stop_for(P, 5, on=D(2026, 3, 10))
    assert (stopped.state, stopped.stopped_on) == (ClockState.STOPPED, D(2026, 3, 10))
    assert clocks.stop(None) is None
    again = clocks.restart(procedure=P, object_id=5, rule="grid.recheck", start=D(2026, 3, 10), division_code="441900003001")
    assert (again.pk, again.state, again.rule_code, again.due_on) == (clock.pk, ClockState.RUNNING, "grid.recheck", D(2026, 3, 24))
    with pytest.raises(clocks.ClockStateError):
        clocks.resume(again, on=D(2026, 3, 11))
    assert "grid.recheck" in str(again)


# --- provisional calendars ---------------------------------------------------------------------------


def _schedule_2027():
    """A State Council notice for 2027 as it might read (for the test): New Year's Day alone, a
    make-up working Sunday on 3 January, a longer Spring Festival (5–11 February)."""
    rows = [{"date": D(2027, 1, 1), "is_off_day": True, "name": "元旦"},
            {"date": D(2027, 1, 3), "is_off_day": False, "name": "元旦"}]
    rows += [{"date": D(2027, 2, d), "is_off_day": True, "name": "春节"} for d in range(5, 12)]
    return rows


@freeze_time("2026-12-04")
def test_provisional_2027_due_dates_then_the_schedule_is_entered(officer):
    """On 4 December 2026, with no 2027 schedule, a 20-working-day correction order is given in the
    field: nothing is refused, the due date is provisional. When the 2027 notice is entered, every
    open provisional clock is recomputed; a party's date never moves earlier; each change is traced
    and announced (``clock.recomputed``)."""
    assert not library_knows(2027) and not Holiday.objects.filter(year=2027).exists()
    # Party: 20 working days from Fri 4 Dec: 7–11, 14–18, 21–25, 28–31 (19), 1 Jan off (provisional) → Mon 4 Jan.
    party = _start(10, "inspection.max_correction", D(2026, 12, 4), amount=20, actor=officer)
    assert (party.due_on, party.provisional) == (D(2027, 1, 4), True)
    assert party.due_display() == "2027-01-04（暂定）" and "（暂定）" in str(party)
    # Authority: first visit, 10 working days from Mon 21 Dec: 22–25, 28–31 (8), 4, 5 Jan → Tue 5 Jan.
    authority = _start(11, "grid.first_visit", D(2026, 12, 21))
    assert (authority.due_on, authority.provisional) == (D(2027, 1, 5), True)
    # Party across the Spring Festival: 10 working days from Fri 29 Jan 2027; provisional 除夕 Fri 5 Feb and
    # 初一–初三 6–8 Feb: 1–4 Feb (4), 9–12 (8), 15, 16 → Tue 16 Feb.
    spring = _start(12, "inspection.max_correction", D(2027, 1, 29), amount=10)
    assert (spring.due_on, spring.provisional) == (D(2027, 2, 16), True)
    # A clock within 2026 is not provisional, and is left alone.
    known = _start(13, "grid.first_visit", D(2026, 12, 1))
    assert (known.due_on, known.provisional) == (D(2026, 12, 15), False)
    # A stopped provisional clock is not recomputed.
    stopped = clocks.stop(_start(14, "grid.first_visit", D(2026, 12, 22)))

    result = holidays_enter(2027, _schedule_2027(), actor=officer, note="国办发明电〔2026〕X号（测试）")
    assert result["created"] == 9

    party.refresh_from_db(), authority.refresh_from_db(), spring.refresh_from_db(), known.refresh_from_db(), stopped.refresh_from_db()
    # Party: on the real calendar Sun 3 Jan is a working day, so the 20th is 3 Jan — earlier: the later 4 Jan is kept.
    assert (party.due_on, party.provisional) == (D(2027, 1, 4), False)
    # Authority: moves to the real date, Mon 4 Jan (22–25, 28–31, Sun 3 Jan, Mon 4 Jan).
    assert (authority.due_on, authority.provisional) == (D(2027, 1, 4), False)
    # Party across the longer Spring Festival: 1–4 Feb (4), 12 (5), 15–19 (10) → Fri 19 Feb: later, taken.
    assert (spring.due_on, spring.provisional) == (D(2027, 2, 19), False)
    assert stopped.provisional is True and known.provisional is False

    recomputed = {e.payload["clock_id"]: e.payload for e in _events("clock.recomputed")}
    assert set(recomputed) == {party.pk, authority.pk, spring.pk}
    assert recomputed[party.pk]["kept_later"] is True and recomputed[party.pk]["computed_due_on"] == "2027-01-03"
    assert recomputed[authority.pk]["old_due_on"] == "2027-01-05" and recomputed[authority.pk]["new_due_on"] == "2027-01-04"
    assert recomputed[spring.pk]["new_due_on"] == "2027-02-19" and recomputed[spring.pk]["kept_later"] is False
    traced = TraceEntry.objects.filter(action="clock.recomputed")
    assert sorted(int(t.object_id) for t in traced) == sorted([party.pk, authority.pk, spring.pk])
    assert all(t.actor_id == officer.pk for t in traced)
    assert TraceEntry.objects.filter(action="deadlines.holidays_enter", object_id="2027").count() == 1
    assert _events("deadlines.holidays_entered")[-1].payload["year"] == 2027
    # Entering the same schedule again changes no clock.
    assert holidays_enter(2027, _schedule_2027(), actor=officer)["recomputed"] == 0


@freeze_time("2026-12-04")
def test_admin_save_of_a_holiday_goes_through_the_service(officer):
    clock = _start(20, "grid.first_visit", D(2026, 12, 28))
    assert clock.provisional
    # 29, 30, 31 (3), 1 Jan off, 4–8 (8), 11, 12 → Tue 12 Jan.
    assert clock.due_on == D(2027, 1, 12)
    holiday_save(Holiday(date=D(2027, 1, 4), is_off_day=True, name="元旦"), actor=officer, change=False)
    clock.refresh_from_db()
    # 2027 is now a table year (Mon–Fri plus its rows): 1 Jan is an ordinary Friday now, 4 Jan off:
    # 29, 30, 31, 1 (4), 5–8 (8), 11, 12 → Tue 12 Jan, no longer provisional.
    assert (clock.due_on, clock.provisional) == (D(2027, 1, 12), False)
    assert TraceEntry.objects.filter(action="deadlines.holiday_add").count() == 1


# --- the sweep ---------------------------------------------------------------------------------------


@freeze_time("2026-03-23")
def test_sweep_reports_each_level_once(settings):
    settings.DEADLINE_REMIND_WORKDAYS = 3
    settings.DEADLINE_ESCALATE_AFTER_WORKDAYS = (2, 5)
    today = D(2026, 3, 23)  # a Monday
    soon = _start(30, "grid.first_visit", D(2026, 3, 11))  # due Wed 25 March, reminded from Fri 20 March
    late = _start(31, "grid.first_visit", D(2026, 3, 6))  # due Fri 20 March: overdue by 1 working day
    later = _start(32, "grid.first_visit", D(2026, 3, 4))  # due Wed 18 March: overdue by 3 → escalation 1
    # due Mon 9 March (25, 26, 27, Sat 28 Feb working, 2–6, 9): overdue by 10 → escalations 1 and 2
    latest = _start(33, "grid.first_visit", D(2026, 2, 24))
    far = _start(34, "grid.first_visit", D(2026, 3, 13))  # due Fri 27 March, reminded from Tue 24: nothing yet
    assert [c.due_on for c in (soon, late, later, latest, far)] == [D(2026, 3, 25), D(2026, 3, 20), D(2026, 3, 18), D(2026, 3, 9),
                                                                      D(2026, 3, 27)]
    counts = clocks.sweep(today, chunk=2)
    assert counts == {"reminder": 1, "overdue": 3, "escalated_1": 2, "escalated_2": 1}
    assert clocks.sweep(today) == {"reminder": 0, "overdue": 0, "escalated_1": 0, "escalated_2": 0}
    assert [i for i, _p in _reported("clock.reminder")] == [soon.pk]
    assert sorted(i for i, _p in _reported("clock.overdue")) == sorted([late.pk, later.pk, latest.pk])
    assert sorted((i, p["escalation"]) for i, p in _reported("clock.escalated")) == sorted([(later.pk, 1), (latest.pk, 1), (latest.pk, 2)])
    # One trace entry and one event per chunk (of 2 ids here) that had something to report.
    assert TraceEntry.objects.filter(action="clock.overdue").count() == len(_events("clock.overdue")) == 2
    assert clocks.reported_clocks(_events("clock.overdue")[0])[0]["due_on"] in ("2026-03-20", "2026-03-18", "2026-03-09")
    latest.refresh_from_db()
    assert (latest.overdue, latest.escalation) == (True, 2)
    # Stopped clocks are never swept; a clock extended past today is no longer overdue and can be marked again.
    clocks.stop(far)
    late = clocks.extend(late, rule="grid.recheck")
    assert not late.overdue and late.due_on == D(2026, 4, 3)
    assert clocks.sweep(D(2026, 4, 7))["overdue"] == 2  # soon, and late again (later, latest are marked already)


def test_sweep_emits_the_procedures_own_overdue_event(officer):
    """A procedure registered with the workflow kernel gets ``<event_prefix>.overdue`` with its payload."""
    from zhijian.core import workflow
    from zhijian.deadlines.choices import ClockState as S

    proc = workflow.Procedure(name="tests.clocked", noun="测试", model=Clock, states=S, actions=S, transitions=[],
                              event_prefix="clocked", payload=lambda obj, **extra: {"id": obj.pk, "rule": obj.rule_code, **extra})
    try:
        target = _start(40, "grid.first_visit", D(2026, 3, 2))
        clock = clocks.start(procedure="tests.clocked", object_id=target.pk, rule="grid.first_visit", start=D(2026, 3, 2),
                             division_code="441900003001")
        clocks.sweep(D(2026, 3, 17))  # due Mon 16 March
        ev = _events("clocked.overdue")
        assert len(ev) == 1 and ev[0].payload["id"] == target.pk and ev[0].payload["clock_id"] == clock.pk
    finally:
        workflow.PROCEDURES.pop(proc.name, None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_report_each_clock_once():
    from zhijian.deadlines.services import load_deadline_rules, load_holidays

    load_deadline_rules(), load_holidays()
    clocks.start_many([{"procedure": P, "object_id": i, "rule": "grid.first_visit", "start": D(2026, 2, 2),
                        "division_code": "441900003001"} for i in range(1, 3001)])
    results, errors = [], []

    def run():
        try:
            results.append(clocks.sweep(D(2026, 3, 16), chunk=200))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert sum(r["overdue"] for r in results) == 3000
    assert len(_reported("clock.overdue")) == len({i for i, _p in _reported("clock.overdue")}) == 3000
    assert len(_reported("clock.escalated")) == 6000
