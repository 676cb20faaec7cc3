"""Pages and JSON endpoints: thin views, scoped, refusing what they must."""
import datetime as dt

import pytest
from django.test import override_settings

from zhijian.grid import cases, duty, orders
from zhijian.grid.choices import CaseState, Trigger
from zhijian.grid.models import GridCase

D = dt.date


@pytest.fixture
def case(city):
    return cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=city.entity, trigger_ref="p1")


def test_dispatcher_assigns_and_officer_visits_through_the_pages(city, case, client):
    client.force_login(city.dispatcher)
    page = client.get(f"/grid/cases/{case.pk}/")
    assert page.status_code == 200 and "assign-form" in page.content.decode()
    r = client.post(f"/grid/cases/{case.pk}/assign/", {"grid": city.west.pk})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.FIRST_VISIT and case.assignee == city.officer

    client.force_login(city.officer)
    form = {f"result_{m}": "ok" for m in ["address", "operating", "licence", "unlicensed", "annual_report"]}
    r = client.post(f"/grid/cases/{case.pk}/visit/", form, follow=True)
    assert "请逐项填写检查结果，尚缺：亮照经营" in r.content.decode()
    form.update({"result_display": "problem", "note_display": "营业执照未悬挂", "lng": "113.72", "lat": "23.01"})
    client.post(f"/grid/cases/{case.pk}/visit/", form)
    case.refresh_from_db()
    assert case.state == CaseState.RECTIFYING
    pdf = client.get(f"/grid/cases/{case.pk}/notice.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_outsider_gets_404_on_pages_and_actions(city, case, client, outsider):
    client.force_login(outsider)
    assert client.get(f"/grid/cases/{case.pk}/").status_code == 404
    assert client.post(f"/grid/cases/{case.pk}/assign/", {"grid": city.west.pk}).status_code == 404
    assert client.get(f"/grid/cases/{case.pk}/notice.pdf").status_code == 404
    assert GridCase.objects.get(pk=case.pk).state == CaseState.PENDING_ASSIGN


def test_command_centre_only_for_dispatchers_and_leaders(city, case, client):
    client.force_login(city.officer)
    assert client.get("/grid/command/").status_code == 403
    assert client.get("/grid/command/feed.json").status_code == 403
    assert client.get("/grid/command/counts.json").status_code == 403
    assert client.get("/grid/command/items.json?bbox=113.7,22.98,113.8,23.06").status_code == 403
    client.force_login(city.dispatcher)
    assert client.get("/grid/command/").status_code == 200
    duty.duty_start(actor=city.officer, consent=True)
    duty.position_report(actor=city.officer, lng=113.72, lat=23.01, system="gcj02")
    feed = client.get("/grid/command/feed.json").json()
    assert [o["name"] for o in feed["officers"]] == ["李网格"]
    assert client.get("/grid/command/counts.json").json()["totals"]["open"] == 1
    assert [c["id"] for c in client.get("/grid/command/items.json?bbox=113.7,22.98,113.8,23.06").json()["items"]] == [case.pk]


@override_settings(GRID_POSITION_MIN_INTERVAL=60)
def test_position_endpoint_consent_and_rate_limit(city, client):
    client.force_login(city.officer)
    assert client.post("/grid/duty/position/", {"lng": "113.72", "lat": "23.01"}).status_code == 403
    client.post("/grid/duty/start/", {})  # no consent ticked
    assert client.post("/grid/duty/position/", {"lng": "113.72", "lat": "23.01"}).status_code == 403
    client.post("/grid/duty/start/", {"consent": "1"})
    assert client.post("/grid/duty/position/", {"lng": "113.72", "lat": "23.01"}).status_code == 200
    r = client.post("/grid/duty/position/", {"lng": "113.72", "lat": "23.01"})
    assert r.status_code == 429 and int(r["Retry-After"]) > 50
    assert r.json()["error"]["code"] == "rate_limited"


def test_helper_reports_and_sees_area_items(city, case, client):
    client.force_login(city.informant)
    page = client.get("/grid/report/")
    assert page.status_code == 200
    assert case.number in page.content.decode()  # an open item of the informant's grid
    r = client.post("/grid/report/", {"kind": "unlicensed", "place_name": "无照小卖部", "lng": "113.72", "lat": "23.01"}, follow=True)
    assert "线索已报告" in r.content.decode()


def test_order_ack_page_flow(city, client):
    duty.duty_start(actor=city.officer, consent=True)
    duty.position_report(actor=city.officer, lng=113.72, lat=23.01, system="gcj02")
    order = orders.order_issue(actor=city.dispatcher, title="紧急巡查", lng=113.72, lat=23.01, wanted=1)
    client.force_login(city.officer2)
    assert client.post(f"/grid/orders/{order.pk}/ack/").status_code == 404
    client.force_login(city.officer)
    assert "紧急巡查" in client.get("/grid/duty/").content.decode()
    client.post(f"/grid/orders/{order.pk}/ack/")
    client.force_login(city.dispatcher)
    assert "已确认" in client.get("/grid/command/orders/").content.decode()


def test_warnings_page_and_acknowledge(city, case, client):
    from tests.grid.conftest import sweep
    from zhijian.grid.models import Warning

    sweep(case.step_due_on + dt.timedelta(days=3))
    w = Warning.objects.get(item_id=case.pk, level=1)
    assert w.recipient == city.head
    client.force_login(city.officer)
    assert client.post(f"/grid/warnings/{w.pk}/ack/").status_code == 302
    assert not Warning.objects.get(pk=w.pk).acknowledged  # neither recipient nor leader: refused with a message
    client.force_login(city.head)
    assert str(case.pk) in client.get("/grid/warnings/").content.decode()
    client.post(f"/grid/warnings/{w.pk}/ack/")
    assert Warning.objects.get(pk=w.pk).acknowledged


def test_coordination_village_task_opens_the_grid_case(city):
    """The hand-over: a task.created event for a village grid task opens its case (handler run directly)."""
    from zhijian.core.models import Event
    from zhijian.grid.handlers import open_case_for_village_task
    from zhijian.supervision import tasks as sv

    push = Event.objects.create(type="entity.address_changed", payload={})
    task = sv.task_create(actor=None, entity=city.entity, title="首次走访", source="clue", business_line="grid_first_visit",
                          source_ref=f"push:event:{push.pk}", deadline_rule="grid.first_visit")
    created = Event.objects.filter(type="task.created", object_id=str(task.pk)).first()
    assert created is not None
    open_case_for_village_task(created)
    open_case_for_village_task(created)
    case = GridCase.objects.get(task=task)
    assert case.trigger == Trigger.ADDRESS_CHANGE and case.trigger_ref == task.source_ref
    assert GridCase.objects.filter(entity=city.entity).count() == 1
