"""The workflow kernel (core/workflow.py): one move, checked against one table.

The mechanics are tested on a small procedure of the kernel's own over the task model (any model
with a state and a version will do); the rules of every real procedure are tested from their own
tables in ``test_procedures.py``.
"""
import threading

import pytest
from django.db import connection, models, transaction
from django.utils.translation import gettext_lazy as _

from tests.factories import make_entity, make_user
from zhijian.core import idempotency
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.models import Event, IdempotencyRecord, TraceEntry, WorkflowStep
from zhijian.core.workflow import Forbidden, GuardFailed, Guarded, Procedure, StateError, T
from zhijian.supervision.models import Task


class Light(models.TextChoices):
    RED = "registered", _("红")
    GREEN = "dispatched", _("绿")
    OFF = "cancelled", _("关")


class Switch(models.TextChoices):
    GO = "dispatch", _("放行")
    STOP = "cancel", _("关闭")
    CREATE = "create", _("登记")


def _only_dispatchers(obj, actor, ctx):
    return None if actor.has_role("dispatcher") else "只有调度员可以放行"


def _needs_reason(obj, actor, ctx):
    return None if ctx.get("reason") else "须填写原因"


LIGHT = Procedure(
    name="test.light", noun=_("信号"), model=Task, states=Light, actions=Switch, event_prefix="light",
    transitions=[
        T(Switch.GO, [Light.RED], Light.GREEN, guards=[Guarded(_only_dispatchers, status=403)], hint="只有红灯才能放行"),
        T(Switch.STOP, [Light.RED, Light.GREEN], Light.OFF, guards=[Guarded(_needs_reason, system=True)]),
    ],
    closed_states=[Light.OFF],
)


@pytest.fixture
def light(db):
    entity = make_entity("441900003001")
    return Task.objects.create(title="t", entity=entity, division_code=entity.division_code, state=Light.RED)


def test_table_is_validated():
    with pytest.raises(ValueError):
        Procedure(name="test.bad", noun="x", model=Task, states=Light, actions=Switch,
                  transitions=[T(Switch.GO, ["nowhere"], Light.GREEN)])
    with pytest.raises(ValueError):
        Procedure(name="test.bad2", noun="x", model=Task, states=Light, actions=Switch,
                  transitions=[T(Switch.GO, [Light.RED], Light.GREEN), T(Switch.GO, [Light.GREEN], Light.OFF)])


@pytest.mark.django_db
def test_move_writes_step_trace_event_in_one_go(light):
    d = make_user("dispatcher", jurisdiction="4419")
    with transaction.atomic():
        moved = LIGHT.move(light, Switch.GO, actor=d, comment="放行")
    assert moved.state == Light.GREEN and moved.version == light.version + 1
    step = WorkflowStep.objects.get(procedure="test.light", object_id=light.pk)
    assert (step.action, step.from_state, step.to_state, step.actor_id) == ("dispatch", "registered", "dispatched", d.pk)
    assert step.action_label == "放行" and step.to_state_label == "绿" and step.division_code == "441900003001"
    assert step.entity_id == light.entity_id
    assert TraceEntry.objects.filter(action="light.dispatch", object_id=str(light.pk), object_type="test.light").count() == 1
    assert Event.objects.filter(type="light.dispatch", object_id=str(light.pk)).count() == 1
    assert [s.pk for s in LIGHT.timeline(light)] == [step.pk]


@pytest.mark.django_db
def test_refusals_in_order_scope_state_role_guard(light):
    outsider = make_user("dispatcher", jurisdiction="4401")
    officer = make_user("enforcement_officer", jurisdiction="4419")
    d = make_user("dispatcher", jurisdiction="4419")
    with transaction.atomic():
        with pytest.raises(OutOfScope):
            LIGHT.move(light, Switch.GO, actor=outsider)
        with pytest.raises(Forbidden, match="只有调度员"):
            LIGHT.move(light, Switch.GO, actor=officer)
        with pytest.raises(GuardFailed, match="须填写原因"):
            LIGHT.move(light, Switch.STOP, actor=None)  # system guards hold for the system too
        LIGHT.move(light, Switch.STOP, actor=None, reason="收工")
        with pytest.raises(StateError) as err:
            LIGHT.move(light, Switch.GO, actor=d)
    assert "当前为“关”，不能放行：只有红灯才能放行" in err.value.message
    assert err.value.status == 409
    assert Task.objects.get(pk=light.pk).closed_at is not None
    assert WorkflowStep.objects.filter(procedure="test.light").count() == 1


@pytest.mark.django_db
def test_allowed_lists_what_the_person_may_do(light):
    d = make_user("dispatcher", jurisdiction="4419")
    officer = make_user("enforcement_officer", jurisdiction="4419")
    assert LIGHT.allowed(light, d, reason="x") == ["dispatch", "cancel"]
    assert LIGHT.allowed(light, officer, reason="x") == ["cancel"]
    assert LIGHT.allowed(light, make_user("dispatcher", jurisdiction="4401"), reason="x") == []


@pytest.mark.django_db
def test_stale_copy_is_checked_against_the_stored_row(light):
    d = make_user("dispatcher", jurisdiction="4419")
    stale = Task.objects.get(pk=light.pk)
    with transaction.atomic():
        LIGHT.move(light, Switch.GO, actor=d)
        with pytest.raises(StateError):
            LIGHT.move(stale, Switch.GO, actor=d)  # the caller's copy still says red


@pytest.mark.django_db
def test_replayed_move_changes_nothing(light):
    d = make_user("dispatcher", jurisdiction="4419")
    for _round in range(3):
        with transaction.atomic():
            moved = LIGHT.move(light, Switch.GO, actor=d, client_key="phone-0001-go")
    assert moved.state == Light.GREEN and moved.version == light.version + 1
    assert WorkflowStep.objects.filter(procedure="test.light", object_id=light.pk).count() == 1
    assert TraceEntry.objects.filter(action="light.dispatch").count() == 1
    assert Event.objects.filter(type="light.dispatch").count() == 1
    rec = IdempotencyRecord.objects.get(key="phone-0001-go")
    assert (rec.actor_id, rec.operation, rec.object_id) == (d.pk, "test.light.dispatch", str(light.pk))
    # The same key for another operation is a conflict, not a silent replay.
    with transaction.atomic(), pytest.raises(idempotency.KeyConflict):
        LIGHT.move(light, Switch.STOP, actor=d, client_key="phone-0001-go", reason="x")


@pytest.mark.django_db
def test_failed_move_releases_its_key(light):
    officer = make_user("enforcement_officer", jurisdiction="4419")
    d = make_user("dispatcher", jurisdiction="4419")
    with pytest.raises(Forbidden), transaction.atomic():
        LIGHT.move(light, Switch.GO, actor=officer, client_key="retry-key-01")
    assert not IdempotencyRecord.objects.filter(key="retry-key-01").exists()
    with transaction.atomic():
        assert LIGHT.move(light, Switch.GO, actor=d, client_key="retry-key-01").state == Light.GREEN


def test_bad_client_key_is_a_clear_error():
    with pytest.raises(ApplicationError, match="客户端编号"):
        idempotency.check_key("x;drop")


@pytest.mark.django_db(transaction=True)
def test_move_outside_a_transaction_is_a_programming_error(light):
    with pytest.raises(RuntimeError):
        LIGHT.move(light, Switch.GO, actor=None)


def _race(n, work):
    barrier = threading.Barrier(n, timeout=20)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            with transaction.atomic():
                work(i)
            results[i] = "won"
        except ApplicationError as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_exactly_one_wins(light):
    dispatchers = [make_user("dispatcher", jurisdiction="4419") for _ in range(2)]
    for _round in range(5):
        copies = [Task.objects.get(pk=light.pk) for _ in dispatchers]  # both read it red
        results = _race(2, lambda i: LIGHT.move(copies[i], Switch.GO, actor=dispatchers[i]))
        assert results.count("won") == 1, results
        loser = next(r for r in results if r != "won")
        # Overlapping, the loser's compare-and-swap fails ("刚被他人处理"); a loser that starts after the
        # winner committed reads the new state and is refused by the table. Either way: 409, one step.
        assert isinstance(loser, StateError) and ("刚被他人处理" in loser.message or "只有红灯才能放行" in loser.message)
        assert WorkflowStep.objects.filter(procedure="test.light", object_id=light.pk).count() == _round + 1
        Task.objects.filter(pk=light.pk).update(state=Light.RED)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_key_make_one_step(light):
    d = make_user("dispatcher", jurisdiction="4419")
    results = _race(3, lambda i: LIGHT.move(light, Switch.GO, actor=d, client_key="same-key-123"))
    assert results.count("won") == 3, results  # the others are answered with the first result
    assert WorkflowStep.objects.filter(procedure="test.light", object_id=light.pk).count() == 1
    assert Task.objects.get(pk=light.pk).state == Light.GREEN
