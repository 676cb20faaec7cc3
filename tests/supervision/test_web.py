"""Pages: my board, unit board, detail with action buttons, manual registration, templates."""
import pytest

from tests.factories import make_user
from zhijian.supervision import tasks
from zhijian.supervision.choices import TaskState
from zhijian.supervision.models import Task, TaskUrge

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit_task(make_task, station):
    return make_task(TaskState.DISPATCHED, bureau=station)


def test_my_board_lists_unclaimed_and_claim_button_works(client, officer_a, unit_task):
    client.force_login(officer_a)
    page = client.get("/tasks/").content.decode()
    assert unit_task.number in page and "本单位待受领" in page
    r = client.post(f"/tasks/{unit_task.pk}/accept/", {"next": "my_board"}, follow=True)
    assert r.redirect_chain[-1][0] == "/tasks/"
    assert f"任务 {unit_task.number} 已受领" in r.content.decode()
    unit_task.refresh_from_db()
    assert unit_task.state == TaskState.ACCEPTED and unit_task.assignee == officer_a
    # Now it is in "my tasks", and no longer unclaimed.
    page = client.get("/tasks/").content.decode()
    assert page.index(unit_task.number) < page.index("本单位待受领")


def test_refused_step_shows_the_reason(client, officer_a, officer_b, unit_task):
    tasks.task_accept(actor=officer_a, task=unit_task)
    client.force_login(officer_b)
    r = client.post(f"/tasks/{unit_task.pk}/accept/", follow=True)
    assert "任务当前为“已受领”，不能受领" in r.content.decode()
    assert Task.objects.get(pk=unit_task.pk).assignee == officer_a


def test_detail_shows_timeline_and_allowed_buttons(client, officer_a, dispatcher, unit_task):
    client.force_login(officer_a)
    page = client.get(f"/tasks/{unit_task.pk}/").content.decode()
    assert "办理过程" in page and "派发" in page
    assert f"/tasks/{unit_task.pk}/accept/" in page and f"/tasks/{unit_task.pk}/cancel/" not in page
    client.force_login(dispatcher)
    page = client.get(f"/tasks/{unit_task.pk}/").content.decode()
    assert f"/tasks/{unit_task.pk}/cancel/" in page and f"/tasks/{unit_task.pk}/dispatch/" in page


def test_dispatch_form_posts_to_the_service(client, dispatcher, make_task, station, officer_a):
    task = make_task()
    client.force_login(dispatcher)
    client.post(f"/tasks/{task.pk}/dispatch/", {"bureau": station.pk, "assignee": officer_a.pk})
    task.refresh_from_db()
    assert task.state == TaskState.DISPATCHED and task.assignee == officer_a


def test_unit_board_for_leaders_only_with_counts_and_urge(client, dispatcher, officer_a, unit_task):
    client.force_login(officer_a)
    assert client.get("/tasks/unit/").status_code == 403
    client.force_login(dispatcher)
    page = client.get("/tasks/unit/").content.decode()
    assert unit_task.number in page and "已派发 1" in page
    client.post(f"/tasks/{unit_task.pk}/urge/", {"message": "请尽快走访", "next": "unit_board"})
    assert TaskUrge.objects.get(task=unit_task).message == "请尽快走访"


def test_manual_registration(client, dispatcher, entity):
    client.force_login(dispatcher)
    assert client.get("/tasks/new/").status_code == 200
    r = client.post("/tasks/new/", {"credit_code": entity.credit_code, "title": "举报核查", "source": "clue",
                                     "deadline_rule": "penalty.clue_verify"})
    task = Task.objects.get(title="举报核查")
    assert r.status_code == 302 and r["Location"] == f"/tasks/{task.pk}/"
    assert task.source == "clue" and task.due_on is not None and task.created_by == dispatcher


def test_manual_registration_refuses_an_entity_outside(client, entity):
    leader = make_user("leader", jurisdiction="3701")
    client.force_login(leader)
    r = client.post("/tasks/new/", {"credit_code": entity.credit_code, "title": "检查", "source": "manual"})
    assert "不存在或不在您的辖区内" in r.content.decode()
    assert not Task.objects.exists()


def test_template_pages_create_and_run(client, dispatcher, station, entity):
    client.force_login(dispatcher)
    r = client.post("/tasks/templates/", {"name": "节前食品安全专项", "kind": "campaign", "business_lines": "食品销售",
                                          "industry_prefixes": "52"})
    assert r.status_code == 302
    url = r["Location"]
    r = client.post(url, {"bureau": station.pk, "run_key": "2026春节"}, follow=True)
    assert "本次生成任务 1 个" in r.content.decode()
    assert Task.objects.get(run_key="2026春节").entity == entity
    assert "2026春节" in client.get(url).content.decode()


def test_outsider_gets_404_on_pages_and_actions(client, outsider, unit_task):
    client.force_login(outsider)
    assert client.get(f"/tasks/{unit_task.pk}/").status_code == 404
    assert client.post(f"/tasks/{unit_task.pk}/accept/").status_code == 404
    assert unit_task.number not in client.get("/tasks/").content.decode()
