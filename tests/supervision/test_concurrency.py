"""Two officers claim the same unit task at the same moment: exactly one wins (PostgreSQL)."""
import threading

import pytest
from django.db import connection

from tests.factories import make_bureau, make_entity, make_user
from zhijian.core.errors import ApplicationError
from zhijian.org.choices import BureauLevel
from zhijian.supervision import tasks
from zhijian.supervision.choices import TaskState
from zhijian.supervision.models import Task
from zhijian.supervision.procedure import TASK


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claim_exactly_one_wins():
    station = make_bureau("441900003", level=BureauLevel.STATION, division_code="441900003000")
    dispatcher = make_user("dispatcher", bureau=station)
    officers = [make_user("enforcement_officer", bureau=station) for _ in range(2)]
    task = tasks.task_create(actor=dispatcher, entity=make_entity("441900003001"), title="抢单", source="manual", bureau=station)
    assert task.state == TaskState.DISPATCHED

    for _round in range(5):
        barrier = threading.Barrier(2, timeout=20)
        results = {}

        def claim(officer):
            try:
                mine = Task.objects.get(pk=task.pk)  # each thread reads the task as unclaimed
                barrier.wait()
                tasks.task_accept(actor=officer, task=mine)
                results[officer.pk] = "won"
            except ApplicationError as exc:
                results[officer.pk] = exc.message
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(o,)) for o in officers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads)
        winners = [pk for pk, r in results.items() if r == "won"]
        assert len(winners) == 1, results
        loser = next(r for pk, r in results.items() if r != "won")
        assert "受领" in loser
        stored = Task.objects.get(pk=task.pk)
        assert stored.state == TaskState.ACCEPTED and stored.assignee_id == winners[0]
        assert TASK.timeline(task).filter(action="accept").count() == _round + 1
        # Put it back for the next round.
        Task.objects.filter(pk=task.pk).update(state=TaskState.DISPATCHED, assignee=None)
