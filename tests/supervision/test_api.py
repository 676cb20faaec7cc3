"""/api/v1/tasks/: scoped list with filters, detail, and one POST per step."""
import datetime as dt

import pytest

from zhijian.supervision.choices import TaskState
from zhijian.supervision.models import Task

pytestmark = pytest.mark.django_db


def test_list_filters(client, dispatcher, make_task, station, officer_a):
    a = make_task(TaskState.DISPATCHED, bureau=station, business_line="食品销售")
    b = make_task(TaskState.EXECUTING, bureau=station, assignee=officer_a)
    Task.objects.filter(pk=b.pk).update(due_on=dt.date(2026, 1, 5))
    client.force_login(dispatcher)

    def ids(query):
        r = client.get(f"/api/v1/tasks/?{query}")
        assert r.status_code == 200, r.content
        return {row["id"] for row in r.json()["results"]}

    assert ids("") == {a.pk, b.pk}
    assert ids("state=dispatched") == {a.pk}
    assert ids("business_line=食品销售") == {a.pk}
    assert ids(f"assignee={officer_a.pk}") == {b.pk}
    assert ids("overdue=true") == {b.pk}
    assert ids("overdue=false") == {a.pk}
    assert ids("source=manual") == {a.pk, b.pk}


def test_steps_through_the_api(client, make_task, station, officer_a, leader, clean_requirements):
    task = make_task(TaskState.DISPATCHED, bureau=station)
    client.force_login(officer_a)
    r = client.post(f"/api/v1/tasks/{task.pk}/accept/")
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    assert r.json()["allowed_actions"] == ["start"]
    for step in ("start", "submit"):
        assert client.post(f"/api/v1/tasks/{task.pk}/{step}/").status_code == 200
    client.force_login(leader)
    r = client.post(f"/api/v1/tasks/{task.pk}/review/", {"approve": False, "comment": "补充照片"}, content_type="application/json")
    assert r.json()["state"] == "executing" and r.json()["review_comment"] == "补充照片"
    r = client.post(f"/api/v1/tasks/{task.pk}/urge/", {"message": "抓紧"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["urges"][0]["message"] == "抓紧"


def test_refusals_carry_status_and_message(client, make_task, station, officer_a, officer_b):
    task = make_task(TaskState.DISPATCHED, bureau=station, assignee=officer_a)
    client.force_login(officer_a)
    r = client.post(f"/api/v1/tasks/{task.pk}/archive/")
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "任务当前为“已派发”，不能归档：只有“审核通过”的任务才能归档"
    client.force_login(officer_b)
    r = client.post(f"/api/v1/tasks/{task.pk}/accept/")
    assert r.status_code == 403 and "只有承办人本人可以受领" in r.json()["error"]["message"]


def test_dispatch_by_id_and_out_of_scope_targets(client, dispatcher, make_task, station, officer_a):
    task = make_task()
    client.force_login(dispatcher)
    r = client.post(f"/api/v1/tasks/{task.pk}/dispatch/", {"bureau": 999999}, content_type="application/json")
    assert r.status_code == 400 and "承办机构不存在或不在您的辖区内" in r.json()["error"]["message"]
    r = client.post(f"/api/v1/tasks/{task.pk}/dispatch/", {"assignee": officer_a.pk}, content_type="application/json")
    assert r.status_code == 200 and r.json()["assignee"] == officer_a.pk and r.json()["bureau"] == station.pk


def test_outsider_404(client, outsider, make_task, station):
    task = make_task(TaskState.DISPATCHED, bureau=station)
    client.force_login(outsider)
    assert client.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert client.post(f"/api/v1/tasks/{task.pk}/accept/").status_code == 404
    assert client.get("/api/v1/tasks/").json()["results"] == []
