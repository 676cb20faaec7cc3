"""C2: the feedback state machine by hand and through the API, with Idempotency-Key replays."""
import threading

import pytest
from django.db import connection, transaction
from django.test import Client

from tests.coordination.conftest import VILLAGE, drain, make_department_user
from tests.factories import credit_code
from zhijian.coordination import feedback
from zhijian.coordination.choices import PushState
from zhijian.coordination.models import PushItem
from zhijian.core.errors import ApplicationError
from zhijian.core.models import Event
from zhijian.core.workflow import StateError
from zhijian.entities import services as entities


@pytest.fixture
def item(rules, depts):
    entities.entity_create(actor=None, credit_code=credit_code("441900"), name="莞城好味餐饮店", division_code=VILLAGE,
                           industry_code="6210", business_scope="餐饮服务")
    drain()
    return PushItem.objects.get(department=depts["health"])


@pytest.fixture
def staff(depts):
    return make_department_user(depts["health"])


@pytest.mark.django_db
def test_state_machine_and_refusals(item, staff, depts, town_office):
    other = make_department_user(depts["tobacco"])
    with pytest.raises(ApplicationError, match="请先签收，再受理"):
        feedback.item_accept(actor=staff, item=item)
    with pytest.raises(ApplicationError, match="不存在或不在您的辖区内"):
        feedback.item_claim(actor=other, item=item)  # another department: as if it did not exist
    with pytest.raises(ApplicationError, match="只有接收部门的人员可以签收"):
        feedback.item_claim(actor=town_office, item=item)
    claimed = feedback.item_claim(actor=staff, item=item)
    assert claimed.state == PushState.CLAIMED and claimed.claimed_by == staff
    assert claimed.due_at.date() == claimed.due_on  # after claiming, the handling deadline applies
    with pytest.raises(ApplicationError, match="只有“办理中”的事项才能办结"):
        feedback.item_finish(actor=staff, item=item, result="已发证")
    feedback.item_accept(actor=staff, item=item)
    with pytest.raises(ApplicationError, match="请填写办理结果"):
        feedback.item_finish(actor=staff, item=item, result=" ")
    with pytest.raises(ApplicationError, match="只有未受理的事项才能退回"):
        feedback.item_return(actor=staff, item=item, reason="非本部门职责")
    done = feedback.item_finish(actor=staff, item=item, result="已核发食品经营许可证")
    assert done.state == PushState.FINISHED and done.finished_at
    assert list(done.steps.values_list("action", flat=True)) == ["claim", "accept", "finish"]
    assert [s.action for s in done.timeline()] == ["create", "claim", "accept", "finish"]
    assert Event.objects.filter(type="push.finished", object_id=str(item.pk)).count() == 1


@pytest.mark.django_db
def test_return_then_town_office_reassigns(item, staff, depts, town_office):
    with pytest.raises(ApplicationError, match="请填写退回理由"):
        feedback.item_return(actor=staff, item=item, reason="")
    feedback.item_return(actor=staff, item=item, reason="非本部门职责")
    with pytest.raises(ApplicationError, match="由镇街商改办"):
        feedback.item_reassign(actor=staff, item=item, department=depts["fire"])
    with pytest.raises(ApplicationError, match="辖区不包括"):
        feedback.item_reassign(actor=town_office, item=item, department=depts["jinan"])
    moved = feedback.item_reassign(actor=town_office, item=item, department=depts["fire"], reason="属消防事项")
    assert moved.state == PushState.REASSIGNED
    new = moved.reassigned_to
    assert new.department == depts["fire"] and new.state == PushState.PUSHED and new.matter == item.matter
    assert new.trigger_key == f"reassign:{item.pk}" and "转办自 市卫生健康局" in new.matched_on
    # A person's push keeps its stored creation step (who, through what), and the timeline shows it once.
    created = new.steps.get(action="create")
    assert created.actor == town_office and created.via == "web" and created.comment == new.matched_on
    assert [(s.pk, s.action) for s in new.timeline()] == [(created.pk, "create")]


@pytest.mark.django_db
def test_api_feedback_with_idempotency_key(item, staff, depts, client):
    """A replay under the same key returns the first answer and does not act again."""
    client.force_login(staff)
    url = f"/api/v1/push-items/{item.pk}/"
    assert client.get("/api/v1/push-items/").json()["count"] == 1  # only my department's

    first = client.post(url + "claim/", HTTP_IDEMPOTENCY_KEY="k-claim-1")
    assert first.status_code == 200 and first.json()["state"] == "claimed"
    again = client.post(url + "claim/", HTTP_IDEMPOTENCY_KEY="k-claim-1")
    assert again.status_code == 200 and again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert item.steps.filter(action="claim").count() == 1

    # Without a key a second claim is refused by the state machine (409) …
    refused = client.post(url + "claim/")
    assert refused.status_code == 409 and "只有“待签收”的事项才能签收" in refused.json()["error"]["message"]
    # … and a refusal under a key is also what a replay returns.
    bad = client.post(url + "finish/", {"result": "x"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-fin-early")
    assert bad.status_code == 409
    client.post(url + "accept/", {"comment": "受理"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-acc")
    assert client.post(url + "finish/", {"result": "x"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-fin-early").status_code == 409

    # A key reused for another call is refused.
    reused = client.post(url + "finish/", {"result": "已发证"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-claim-1")
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "idempotency_key_reused"

    ok = client.post(url + "finish/", {"result": "已发证"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-fin")
    assert ok.status_code == 200 and ok.json()["state"] == "finished"
    assert [s["action"] for s in ok.json()["steps"]] == ["create", "claim", "accept", "finish"]
    assert {s["via"] for s in ok.json()["steps"][1:]} == {"api"}


@pytest.mark.django_db
def test_api_token_auth_and_reassign(item, staff, depts, client):
    """A department's system calls with a token from `zhijian token` (no session, no TOTP)."""
    from zhijian.security.services import issue_token

    token = issue_token(actor=None, user=staff)
    r = client.post(f"/api/v1/push-items/{item.pk}/reassign/", {"department": "xfj", "reason": "属消防"},
                    content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}", HTTP_IDEMPOTENCY_KEY="r1")
    assert r.status_code == 200 and r.json()["state"] == "reassigned"
    bad = client.post(f"/api/v1/push-items/{item.pk}/reassign/", {"department": "nope"}, content_type="application/json",
                      HTTP_AUTHORIZATION=f"Token {token}")
    assert bad.status_code == 400 and "不存在" in bad.json()["error"]["message"]


@pytest.mark.django_db
def test_other_department_and_outsiders_get_404(item, depts, client, outsider):
    other = make_department_user(depts["tobacco"])
    jinan = make_department_user(depts["jinan"])
    for user in (other, jinan, outsider):
        client.force_login(user)
        assert client.get(f"/api/v1/push-items/{item.pk}/").status_code == 404
        assert client.post(f"/api/v1/push-items/{item.pk}/claim/").status_code == 404
        assert client.get(f"/coordination/items/{item.pk}/").status_code == 404
        assert client.post(f"/coordination/items/{item.pk}/claim/").status_code == 404
    assert PushItem.objects.get(pk=item.pk).state == PushState.PUSHED


def _race(n, work):
    barrier = threading.Barrier(n, timeout=20)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            with transaction.atomic():
                results[i] = work(i)
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
def test_two_staff_claim_at_once_exactly_one_wins(item, depts):
    """Two people of the department claim the same item at the same moment: one claim, one refusal."""
    people = [make_department_user(depts["health"]) for _ in range(2)]
    results = _race(2, lambda i: feedback.item_claim(actor=people[i], item=PushItem.objects.get(pk=item.pk)))
    won = [r for r in results if isinstance(r, PushItem)]
    assert len(won) == 1 and isinstance(next(r for r in results if not isinstance(r, PushItem)), StateError), results
    assert item.steps.filter(action="claim").count() == 1
    assert PushItem.objects.get(pk=item.pk).claimed_by == won[0].claimed_by


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_api_calls_with_one_key_act_once(item, depts):
    """A department system's retry arriving while the first call runs: one claim, the same answer twice."""
    staff = make_department_user(depts["health"])

    def call(i):
        c = Client()
        c.force_login(staff)
        return c.post(f"/api/v1/push-items/{item.pk}/claim/", HTTP_IDEMPOTENCY_KEY="race-key-0001")

    first, second = _race(2, call)
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert item.steps.filter(action="claim").count() == 1
