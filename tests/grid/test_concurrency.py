"""Two people act on one case at the same moment: exactly one move wins (PostgreSQL, real threads).

The kernel compare-and-swaps the case on (state, version); every grid move takes the case's step
clock row first, so the second mover waits for the first, then finds the case moved and is
refused with 409 — its visit record and clock change roll back with it."""
import datetime as dt
import threading

import pytest
from django.db import connection

from tests.grid.conftest import _grid_rule_data, build_city
from zhijian.core.errors import ApplicationError
from zhijian.deadlines.choices import ClockState
from zhijian.grid import cases
from zhijian.grid.choices import CaseState, Trigger
from zhijian.grid.models import GridCase, Visit
from zhijian.grid.procedure import GRID_CASE

D = dt.date
ALL_OK = {m: ("ok", "") for m in ["address", "operating", "licence", "unlicensed", "annual_report", "display"]}


def _race(*moves):
    """Run the moves in threads released together; {index: "won" | (status, message)}."""
    barrier = threading.Barrier(len(moves), timeout=20)
    results = {}

    def run(i, move):
        try:
            barrier.wait()
            move()
            results[i] = "won"
        except ApplicationError as exc:
            results[i] = (exc.status, str(exc.message))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, m)) for i, m in enumerate(moves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_of_one_case_exactly_one_wins():
    _grid_rule_data()
    city = build_city()
    for n in range(4):
        case = cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=city.entity, trigger_ref=f"race{n}", today=D(2026, 9, 21))
        case = cases.case_assign(actor=city.dispatcher, case=case, today=D(2026, 9, 22))
        mine = GridCase.objects.get(pk=case.pk)  # both read the case waiting for its first visit
        theirs = GridCase.objects.get(pk=case.pk)
        if n % 2 == 0:  # the officer records the visit while the dispatcher cancels
            moves = (lambda: cases.visit_first(actor=city.officer, case=mine, items=ALL_OK, today=D(2026, 9, 24)),
                     lambda: cases.case_cancel(actor=city.dispatcher, case=theirs, reason="重复登记", today=D(2026, 9, 24)))
        else:  # the officer submits the same visit from two devices
            moves = (lambda: cases.visit_first(actor=city.officer, case=mine, items=ALL_OK, today=D(2026, 9, 24)),
                     lambda: cases.visit_first(actor=city.officer, case=theirs, items=ALL_OK, today=D(2026, 9, 24)))
        results = _race(*moves)
        winners = [i for i, r in results.items() if r == "won"]
        assert len(winners) == 1, results
        status, message = next(r for r in results.values() if r != "won")
        assert status == 409 and "事项" in message, message
        stored = GridCase.objects.get(pk=case.pk)
        won_cancel = n % 2 == 0 and winners == [1]
        assert stored.state == (CaseState.CANCELLED if won_cancel else CaseState.CLOSED)
        assert stored.version == case.version + 1
        # One step for the one move, one visit at most, the step clock stopped once.
        moves_made = list(GRID_CASE.timeline(stored).exclude(action__in=["open", "assign"]).values_list("action", flat=True))
        assert moves_made == (["cancel"] if won_cancel else ["first_visit"])
        assert Visit.objects.filter(case=stored).count() == (0 if won_cancel else 1)
        assert cases.step_clock(stored).state == ClockState.STOPPED
