"""“My work” on the phone (/m/work.json) and the phone landing after sign-in."""
import datetime as dt

from django.utils import timezone

from tests.factories import PASSWORD, make_entity, make_user
from zhijian.mobile.work import distance_m

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _task(entity, officer, *, line="food_sales", title="食品销售日常检查", due=None, state="dispatched"):
    from zhijian.supervision.models import Task

    return Task.objects.create(title=title, number=f"RW-{entity.pk}-{line}", entity=entity, division_code=entity.division_code,
                               business_line=line, bureau=officer.bureau, assignee=officer, state=state, due_on=due)


def test_my_work_groups_by_entity_orders_by_due_date_and_marks_overdue(client_for, officer):
    today = timezone.localdate()
    a = make_entity(name="甲便利店", address="莞城可园北路1号", lng=113.80, lat=23.05)
    b = make_entity(name="乙餐馆", address="莞城东正路2号", lng=113.7522, lat=23.0213)
    _task(a, officer, due=today - dt.timedelta(days=1))
    _task(b, officer, due=today + dt.timedelta(days=3))
    _task(b, officer, line="catering", title="餐饮服务日常检查", due=today + dt.timedelta(days=5), state="accepted")
    _task(b, officer, line="drugs", title="已提交的任务", state="review")  # someone else's turn: not my work
    other = make_user("enforcement_officer", bureau=officer.bureau, enforcement_cert_no="44190019999")
    _task(a, other, line="catering")  # another officer's task

    data = client_for(officer).get("/m/work.json").json()
    assert [r["entity"]["name"] for r in data["rows"]] == ["甲便利店", "乙餐馆"]
    first, second = data["rows"]
    assert first["overdue"] and first["tasks"][0]["overdue"] and first["entity"]["address"] == "莞城可园北路1号"
    assert not second["overdue"] and [t["title"] for t in second["tasks"]] == ["食品销售日常检查", "餐饮服务日常检查"]
    assert second["tasks"][1]["state_label"] == "已受领" and second["tasks"][0]["business_line_label"] == "食品销售"
    assert data["tasks"] == 3 and data["overdue"] == 1 and data["nearby"] is False

    near = client_for(officer).get("/m/work.json?lng=113.7521&lat=23.0212").json()
    assert near["nearby"] is True
    assert [r["entity"]["name"] for r in near["rows"]] == ["乙餐馆", "甲便利店"]
    assert near["rows"][0]["distance_m"] < 50 < near["rows"][1]["distance_m"]


def test_my_work_is_for_officers(client_for, bureau):
    assert client_for(make_user("dispatcher", bureau=bureau)).get("/m/work.json").status_code == 403


def test_distance():
    assert 1000 < distance_m(113.75, 23.02, 113.76, 23.02) < 1050  # 0.01° of longitude at 23°N


def _sign_in(client, user, agent):
    return client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}, HTTP_USER_AGENT=agent)


def test_a_phone_lands_on_the_phone_app(client, officer):
    response = _sign_in(client, officer, IPHONE)
    assert response.status_code == 302 and response["Location"] == "/m/"


def test_a_desktop_and_an_explicit_next_keep_their_target(client, officer):
    assert _sign_in(client, officer, DESKTOP)["Location"] == "/"
    client.logout()
    response = client.post("/accounts/login/?next=/entities/", {"username": officer.username, "password": PASSWORD,
                                                                 "next": "/entities/"}, HTTP_USER_AGENT=IPHONE)
    assert response["Location"] == "/entities/"


def test_a_leader_on_a_phone_goes_home(client, bureau):
    leader = make_user("leader", bureau=bureau)
    assert _sign_in(client, leader, IPHONE)["Location"] == "/"
