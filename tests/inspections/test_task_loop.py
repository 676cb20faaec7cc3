"""A signed, synced inspection moves its tasks on; key items are required; the rest is 未检查."""
import pytest

from tests.factories import make_user
from tests.inspections.conftest import items_of, key_items_of, payload


@pytest.fixture
def dispatched(shop, unit, team):
    """Two tasks of two lines dispatched to the first officer (not yet claimed)."""
    from zhijian.supervision import tasks
    from zhijian.supervision.choices import TaskSource

    dispatcher = make_user("dispatcher", bureau=unit)
    return [tasks.task_create(actor=dispatcher, entity=shop, title=title, source=TaskSource.PATROL, business_line=line, assignee=team[0])
            for line, title in [("food_sales", "食品销售日常检查"), ("catering", "餐饮服务日常检查")]]


def test_signed_record_moves_every_covered_task_to_review_once(sync, checklists, team, shop, dispatched):
    from zhijian.core.models import WorkflowStep
    from zhijian.supervision.models import Task

    body = payload(entity=shop, officers=team, items=items_of("food_sales", 2), tasks=dispatched)
    r = sync(team[0], body)
    assert r.status_code == 201, r.content
    moved = r.json()["tasks"]
    assert [(t["id"], t["state"], t["state_label"]) for t in moved] == [(t.pk, "review", "待审核") for t in dispatched]
    assert set(Task.objects.filter(pk__in=[t.pk for t in dispatched]).values_list("state", flat=True)) == {"review"}
    steps = WorkflowStep.objects.filter(procedure="supervision.task", object_id=dispatched[0].pk).order_by("at", "id")
    assert [s.action for s in steps] == ["create", "dispatch", "accept", "start", "submit"]
    assert steps.last().actor_id == team[0].pk and steps.last().via == "phone" and "现场检查笔录" in steps.last().comment
    count = WorkflowStep.objects.count()

    again = sync(team[0], body)  # the phone did not get the answer: the same upload again
    assert again.status_code == 200 and again.json() == r.json()
    assert WorkflowStep.objects.count() == count


def test_the_second_officers_task_is_moved_by_the_system(sync, checklists, team, shop, unit):
    from zhijian.supervision import tasks
    from zhijian.supervision.choices import TaskSource

    dispatcher = make_user("dispatcher", bureau=unit)
    theirs = tasks.task_create(actor=dispatcher, entity=shop, title="食品销售日常检查", source=TaskSource.PATROL, business_line="food_sales",
                               assignee=team[1])
    stranger = make_user("enforcement_officer", bureau=unit, enforcement_cert_no="44190010009")
    not_on_visit = tasks.task_create(actor=dispatcher, entity=shop, title="餐饮服务日常检查", source=TaskSource.PATROL,
                                     business_line="catering", assignee=stranger)
    r = sync(team[0], payload(entity=shop, officers=team, items=items_of("food_sales", 1), tasks=[theirs, not_on_visit]))
    assert r.status_code == 201, r.content
    states = {t["id"]: t for t in r.json()["tasks"]}
    assert states[theirs.pk]["state"] == "review"
    assert states[not_on_visit.pk]["state"] == "dispatched" and "请承办人提交审核" in states[not_on_visit.pk]["note"]


def test_key_items_must_be_answered_and_the_rest_is_recorded_unchecked(sync, checklists, team, shop, dispatched):
    from zhijian.inspections.models import CheckItem, Inspection

    body = payload(entity=shop, officers=team, items=items_of("food_sales", 3), tasks=dispatched, answer_key_items=False)
    r = sync(team[0], body)
    assert r.status_code == 400
    error = r.json()["error"]
    missing = len(key_items_of(["food_sales", "catering"], besides=items_of("food_sales", 3)))
    assert f"还有 {missing} 项重点事项未检查" in error["message"] and "食品销售" in error["message"]
    assert not Inspection.objects.exists()

    answered = payload(entity=shop, officers=team, items=items_of("food_sales", 3), tasks=dispatched)
    r = sync(team[0], answered)
    assert r.status_code == 201, r.content
    inspection = Inspection.objects.get()
    lines = CheckItem.objects.filter(version=inspection.checklist_version, business_line__code__in=["food_sales", "catering"]).count()
    unchecked = inspection.results.filter(result="unchecked")
    assert unchecked.count() == lines - len(answered["results"]) == r.json()["unchecked"]
    assert not unchecked.filter(item__key_item=True).exists()
    from zhijian.inspections.services import seal_payload

    assert "unchecked" in {row["result"] for row in seal_payload(inspection)["results"]}, "the seal covers what was not checked"


def test_the_phone_cannot_send_unchecked_itself(sync, checklists, team, shop):
    body = payload(entity=shop, officers=team, items=items_of("food_sales", 2))
    body["results"][0]["result"] = "unchecked"
    assert sync(team[0], body).status_code == 400


def test_record_page_shows_the_unchecked_count(client, sync, checklists, team, shop, dispatched):
    r = sync(team[0], payload(entity=shop, officers=team, items=items_of("food_sales", 2), tasks=dispatched))
    page = client.get(f"/inspections/{r.json()['id']}/").content.decode()
    assert f"未检查 {r.json()['unchecked']} 项" in page
