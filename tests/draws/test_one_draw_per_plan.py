"""One draw per plan (issue 14, finding 2): 300 commits of one plan each answered 201 and a plan had
17 executed draws. Now a second commit is refused with 409 naming the live draw, a draw executes once,
two commits racing on PostgreSQL give exactly one draw, and a draw is voided only by the approving
role with a reason that is public; the next draw of the plan shows its predecessor."""
from __future__ import annotations

import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from tests.draws.test_draws import bulk_entities, inspector, plan_for
from tests.factories import make_bureau, make_user
from zhijian.core import trace
from zhijian.core.errors import ApplicationError
from zhijian.core.models import Event, TraceEntry
from zhijian.draws import services
from zhijian.draws.models import Draw, DrawItem
from zhijian.draws.procedure import DRAW, snapshot


@pytest.fixture
def world(db):
    bureau = make_bureau("4419")
    leader = make_user("leader", bureau=bureau, full_name="王局长")
    bulk_entities(30)
    for _i in range(3):
        inspector(bureau)
    return bureau, leader


def _plan(world, **kw):
    return plan_for(world, ratios={"B": "20"}, **kw)


def test_300_commits_of_one_plan_give_one_draw_and_one_execution(world, client):
    """The finding, replayed through the API: 300 commits, then 20 executions."""
    bureau, leader = world
    plan = _plan(world)
    client.force_login(leader)
    answers = [client.post(f"/api/v1/draw-plans/{plan.pk}/commit/") for _i in range(300)]
    assert [r.status_code for r in answers].count(201) == 1
    assert {r.status_code for r in answers[1:]} == {409}
    draw = Draw.objects.get(plan=plan)
    error = answers[-1].json()["error"]
    assert error["code"] == "draw_exists" and draw.public_id in error["message"] and "不能再次" in error["message"]
    assert error["detail"]["public_id"] == draw.public_id
    # The page refuses the same way, with the message, and offers no commit button any more.
    r = client.post(f"/draws/plans/{plan.pk}/commit/", follow=True)
    assert draw.public_id in r.content.decode() and Draw.objects.filter(plan=plan).count() == 1
    assert "锁定名录并生成随机种子承诺值" not in client.get(f"/draws/plans/{plan.pk}/").content.decode()

    runs = [client.post(f"/api/v1/draws/{draw.pk}/execute/") for _i in range(20)]
    assert [r.status_code for r in runs].count(200) == 1 and {r.status_code for r in runs[1:]} == {409}
    message = runs[-1].json()["error"]["message"]
    assert "已抽取" in message and "执行抽取" in message
    draw.refresh_from_db()
    assert draw.state == "executed" and DrawItem.objects.filter(draw=draw).count() == draw.selected_count == 6
    assert TraceEntry.objects.filter(action="draw.executed", object_id=str(draw.pk)).count() == 1
    assert Draw.objects.filter(plan=plan).count() == 1


def test_the_database_holds_one_live_draw_per_plan(world):
    """The partial unique index refuses a second live draw even past the service; a voided one is free."""
    _bureau, leader = world
    plan = _plan(world)
    draw = services.draw_commit(actor=leader, plan=plan)
    fields = {f: getattr(draw, f) for f in ("seed_hex", "seed_sha256", "recusal_sha256")}
    with pytest.raises(IntegrityError), transaction.atomic():
        Draw.objects.create(plan=plan, public_id="x" * 32, **fields)
    Draw.objects.create(plan=plan, public_id="y" * 32, state="voided", void_reason="测试", **fields)
    Draw.objects.create(plan=plan, public_id="z" * 32, state="voided", void_reason="测试", **fields)
    assert Draw.objects.filter(plan=plan).exclude(state="voided").count() == 1


def test_void_needs_the_approving_role_and_a_reason_and_is_public(world, client):
    bureau, leader = world
    plan = _plan(world)
    draw = services.draw_execute(actor=leader, draw=services.draw_commit(actor=leader, plan=plan))
    dispatcher = make_user("dispatcher", bureau=bureau)
    officer = make_user("enforcement_officer", bureau=bureau)

    # Organisers may commit and execute, but only the approving role (领导) voids.
    for person in (dispatcher, officer):
        client.force_login(person)
        r = client.post(f"/api/v1/draws/{draw.pk}/void/", {"reason": "想重抽"}, content_type="application/json")
        assert r.status_code == 403 and "只有领导可以作废" in r.json()["error"]["message"]
        assert "作废本批次" not in client.get(f"/draws/{draw.pk}/").content.decode()
    client.force_login(leader)
    assert "作废本批次" in client.get(f"/draws/{draw.pk}/").content.decode()
    for body in ({}, {"reason": ""}, {"reason": "   \n "}):
        r = client.post(f"/api/v1/draws/{draw.pk}/void/", body, content_type="application/json")
        assert r.status_code == 400 and "必须填写理由" in r.json()["error"]["message"], (body, r.content)
    r = client.post(f"/api/v1/draws/{draw.pk}/void/", {"reason": "x" * 501}, content_type="application/json")
    assert r.status_code == 400 and "500" in r.json()["error"]["message"]
    draw.refresh_from_db()
    assert draw.state == "executed"

    reason = "名录锁定时遗漏了东城街道新登记的主体"
    r = client.post(f"/api/v1/draws/{draw.pk}/void/", {"reason": reason}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "voided" and r.json()["void_reason"] == reason and r.json()["voided_by"] == leader.pk
    draw.refresh_from_db()
    assert draw.voided_by == leader and draw.voided_at is not None

    # Recorded: the workflow step (who, reason), the trace entry binding the reason, the event.
    [step] = DRAW.timeline(draw).filter(action="void")
    assert step.actor == leader and step.comment == reason and (step.from_state, step.to_state) == ("executed", "voided")
    [entry] = TraceEntry.objects.filter(action="draw.void", object_id=str(draw.pk))
    assert entry.actor_id == leader.pk and entry.action_label == "抽查批次：作废"
    assert entry.after_digest == trace.digest({**snapshot(draw), "comment": reason})
    [event] = Event.objects.filter(type="draw.voided", object_id=str(draw.pk))
    assert event.payload["reason"] == reason and event.payload["public_id"] == draw.public_id

    # Public (no login): who (unit and masked name), when and why; the staff page names the person.
    client.logout()
    page = client.get(f"/p/draws/{draw.public_id}/").content.decode()
    assert "本批次已作废" in page and reason in page and draw.voided_at.astimezone().strftime("%Y-%m-%d") in page
    assert f"{bureau.name} 王**" in page and "王局长" not in page
    summary = client.get(f"/p/draws/{draw.public_id}/files/draw.json").json()
    assert summary["state"] == "voided" and summary["void"]["reason"] == reason
    client.force_login(leader)
    staff = client.get(f"/draws/{draw.pk}/").content.decode()
    assert "本批次已作废" in staff and reason in staff and "王局长" in staff and "作废本批次" not in staff

    # A voided draw is final: not voided again, not executed, no results on its items.
    again = client.post(f"/api/v1/draws/{draw.pk}/void/", {"reason": "再次作废"}, content_type="application/json")
    assert again.status_code == 409 and "已作废" in again.json()["error"]["message"]
    run = client.post(f"/api/v1/draws/{draw.pk}/execute/")
    assert run.status_code == 409 and "已作废" in run.json()["error"]["message"]
    item = DrawItem.objects.filter(draw=draw).first()
    with pytest.raises(ApplicationError, match="已作废"):
        services.draw_record_result(actor=leader, item=item, result="no_problem", inspected_on=draw.executed_at.date())


def test_a_new_draw_shows_its_predecessor_and_both_verify(world, client):
    bureau, leader = world
    plan = _plan(world)
    first = services.draw_execute(actor=leader, draw=services.draw_commit(actor=leader, plan=plan))
    reason = "抽查比例设置错误，经局务会研究重新抽取"
    client.force_login(leader)
    r = client.post(f"/draws/{first.pk}/void/", {"reason": reason}, follow=True)
    assert "该抽查批次已作废" in r.content.decode()

    r = client.post(f"/api/v1/draw-plans/{plan.pk}/commit/")
    assert r.status_code == 201, r.content
    assert r.json()["predecessor"] == first.pk and r.json()["predecessor_public_id"] == first.public_id
    second = services.draw_execute(actor=leader, draw=Draw.objects.get(pk=r.json()["id"]))
    assert second.predecessor_id == first.pk
    # A third commit while the second is live is refused again, naming the second.
    again = client.post(f"/api/v1/draw-plans/{plan.pk}/commit/")
    assert again.status_code == 409 and second.public_id in again.json()["error"]["message"]

    client.logout()
    page = client.get(f"/p/draws/{second.public_id}/").content.decode()
    assert f"前一次抽取已作废：{reason}" in page and f'href="/p/draws/{first.public_id}/"' in page
    old = client.get(f"/p/draws/{first.public_id}/").content.decode()
    assert f'href="/p/draws/{second.public_id}/"' in old and "重新抽取的批次" in old
    client.force_login(leader)
    staff = client.get(f"/draws/{second.pk}/").content.decode()
    assert f"前一次抽取已作废：{reason}" in staff and f'href="/draws/{first.pk}/"' in staff

    for draw in (first, second):
        out = io.StringIO()
        call_command("verify_draw", draw.public_id, stdout=out)
        assert "verified" in out.getvalue()


def test_a_voided_commitment_publishes_its_seed(world, client):
    """Voided before execution, the seed is published: what it would have drawn is anyone's to
    compute, so a void cannot hide a disliked result; there is no selection to verify."""
    _bureau, leader = world
    draw = services.draw_commit(actor=leader, plan=_plan(world))
    assert draw.seed_hex not in client.get(f"/p/draws/{draw.public_id}/").content.decode()
    draw = services.draw_void(actor=leader, draw=draw, reason="检查人员名录有误")
    page = client.get(f"/p/draws/{draw.public_id}/").content.decode()
    assert draw.seed_hex in page and "作废前未抽取" in page
    with pytest.raises(CommandError, match="未抽取即已作废"):
        call_command("verify_draw", str(draw.pk))


def test_void_is_refused_once_the_draw_went_on_to_tasks_or_results(world):
    _bureau, leader = world
    draw = services.draw_execute(actor=leader, draw=services.draw_commit(actor=leader, plan=_plan(world, period="2026Q3")))
    item = DrawItem.objects.filter(draw=draw).first()
    services.draw_record_result(actor=leader, item=item, result="no_problem", inspected_on=draw.executed_at.date())
    with pytest.raises(ApplicationError, match="已录入检查结果") as err:
        services.draw_void(actor=leader, draw=draw, reason="重抽")
    assert err.value.status == 409
    DrawItem.objects.filter(pk=item.pk).update(result="", inspected_on=None)
    services.joint_merge(actor=leader, period="2026Q3")
    with pytest.raises(ApplicationError, match="联合检查"):
        services.draw_void(actor=leader, draw=draw, reason="重抽")
    assert Draw.objects.get(pk=draw.pk).state == "executed"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_commits_of_one_plan_give_exactly_one_draw():
    """Two connections commit the same plan at the same moment, three rounds (the winner voided
    between rounds): each round exactly one draw, the other told which draw is live."""
    bureau = make_bureau("4419")
    leaders = [make_user("leader", bureau=bureau) for _i in range(2)]
    bulk_entities(40)
    for _i in range(3):
        inspector(bureau)
    plan = plan_for((bureau, leaders[0]), ratios={"B": "10"})
    winners = []
    for _round in range(3):
        barrier = threading.Barrier(2, timeout=20)
        results = {}

        def commit(person):
            try:
                barrier.wait()
                results[person.pk] = services.draw_commit(actor=person, plan=plan)
            except ApplicationError as exc:
                results[person.pk] = exc
            finally:
                connection.close()

        threads = [threading.Thread(target=commit, args=(p,)) for p in leaders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
        won = [r for r in results.values() if isinstance(r, Draw)]
        lost = [r for r in results.values() if not isinstance(r, Draw)]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0].status == 409 and lost[0].code == "draw_exists" and won[0].public_id in lost[0].message
        assert Draw.objects.filter(plan=plan).exclude(state="voided").count() == 1
        winners.append(won[0])
        services.draw_void(actor=leaders[0], draw=won[0], reason=f"第 {_round + 1} 轮测试作废")
    assert Draw.objects.filter(plan=plan).count() == 3
    assert [w.predecessor_id for w in winners] == [None, winners[0].pk, winners[1].pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_index_alone_stops_two_racing_inserts():
    """Past the service's lock (two writers inserting at once), PostgreSQL's partial unique index
    lets exactly one live draw of a plan in."""
    bureau = make_bureau("4419")
    leader = make_user("leader", bureau=bureau)
    plan = plan_for((bureau, leader))
    barrier = threading.Barrier(2, timeout=20)
    results = []

    def insert(n):
        try:
            with transaction.atomic():
                barrier.wait()
                Draw.objects.create(plan=plan, public_id=f"{n}" * 32, seed_hex="0" * 64, seed_sha256="0" * 64, recusal_sha256="0" * 64)
            results.append("ok")
        except IntegrityError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=insert, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["ok", "refused"]
    assert Draw.objects.filter(plan=plan).count() == 1
