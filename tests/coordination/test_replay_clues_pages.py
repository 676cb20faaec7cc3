"""Replay of rule changes (dry run vs real), the clue chain (C4) and the pages."""
import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests.coordination.conftest import OTHER_CITY, TOWN, VILLAGE, drain, make_department_user
from tests.factories import credit_code, make_user
from zhijian.clues import intake
from zhijian.clues import services as clues
from zhijian.clues.choices import ClueSource, ClueState
from zhijian.clues.models import Clue
from zhijian.coordination import replay as replays
from zhijian.coordination import rules as push_rules
from zhijian.coordination.choices import PushTrigger
from zhijian.coordination.models import PushItem
from zhijian.core.errors import ApplicationError
from zhijian.entities import services as entities

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00"
       b"\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _entity(scope, industry="5211", division=VILLAGE):
    return entities.entity_create(actor=None, credit_code=credit_code(division[:6]), name="测试主体", division_code=division,
                                  industry_code=industry, business_scope=scope)


@pytest.mark.django_db
def test_replay_dry_run_then_real(rules, depts, leader):
    """A new rule over existing entities: the dry run counts without writing, the real run pushes
    exactly that, a second real run finds nothing new; entities outside the leader's area are skipped."""
    barbers = [_entity("理发及美容服务", "8040") for _ in range(3)]
    _entity("软件开发", "6513")
    _entity("理发服务", "8040", division=OTHER_CITY)
    drain()
    rule = push_rules.rule_save(actor=leader, matter=rules["hotel"].matter, name="美容美发", keywords="理发,美容")
    before = PushItem.objects.count()

    dry = replays.push_replay(actor=leader, rules=[rule], dry_run=True)
    assert dry.total == 3 and dry.per_department == {"市卫生健康局": 3}
    assert {s["credit_code"] for s in dry.sample} == {e.credit_code for e in barbers}
    assert PushItem.objects.count() == before

    real = replays.push_replay(actor=leader, rules=[rule], dry_run=False)
    assert real.total == 3
    pushed = PushItem.objects.filter(trigger=PushTrigger.REPLAY)
    assert pushed.count() == 3 and set(pushed.values_list("trigger_key", flat=True)) == {f"replay:{real.pk}"}
    assert all(i.rule_id == rule.pk for i in pushed)
    assert replays.push_replay(actor=leader, rules=[rule], dry_run=False).total == 0
    with pytest.raises(ApplicationError, match="只有领导可以回放"):
        replays.push_replay(actor=make_user("dispatcher"), rules=[rule])


@pytest.mark.django_db
def test_replay_page(rules, leader, client):
    _entity("卷烟零售")
    client.force_login(leader)
    page = client.post("/coordination/rules/replay/", {"rules": [rules["tobacco"].pk], "run": "0"})
    assert page.status_code == 200 and "预演结果" in page.content.decode()
    assert client.get("/coordination/rules/").status_code == 200
    client.force_login(make_user("grid_officer"))
    assert client.get("/coordination/rules/replay/").status_code == 403


@pytest.mark.django_db
def test_clue_chain_seen_by_both_sides(rules, depts, grid_officer, town_office, client):
    """Village records (no registry entity, with a photo) → rules suggest → town office assigns →
    department reports back; both sides see the same timeline; others see nothing."""
    photo = SimpleUploadedFile("scene.png", PNG, content_type="image/png")
    clue = intake.record(source=ClueSource.VILLAGE, actor=grid_officer, text="无证经营卷烟零售的流动摊点", division_code=VILLAGE, place="莞城市场门口",
                                lng=113.75, lat=23.04, photos=[photo])
    # Numbered in the clue sequence of the bureau responsible for the village (deadlines.numbering).
    assert clue.entity is None and re.fullmatch(r"测市监线〔\d{4}〕\d+号", clue.number) and clue.attachments.count() == 1
    assert [s["department"] for s in clue.suggested] == ["市烟草专卖局"]

    staff = make_department_user(depts["tobacco"])
    with pytest.raises(ApplicationError, match="只有镇街商改办"):
        clues.clue_assign(actor=grid_officer, clue=clue, department=depts["tobacco"])
    with pytest.raises(ApplicationError, match="只有承办部门"):
        clues.clue_report(actor=staff, clue=clue, report="已查处")
    clues.clue_assign(actor=town_office, clue=clue, department=depts["tobacco"])
    clues.clue_report(actor=staff, clue=clue, report="已现场查处，没收卷烟 20 条")
    clue.refresh_from_db()
    assert clue.state == ClueState.REPORTED and clue.reported_at

    for user in (grid_officer, town_office, staff):
        client.force_login(user)
        page = client.get(f"/coordination/clues/{clue.pk}/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "已现场查处" in body and "市烟草专卖局" in body
    client.force_login(staff)
    assert client.get("/api/v1/clues/").json()["count"] == 1

    other_dept = make_department_user(depts["health"])
    far = make_user("grid_officer", jurisdiction="3701")
    neighbour = make_user("grid_officer", bureau=None, jurisdiction="441900004")
    for user in (other_dept, far, neighbour):
        client.force_login(user)
        assert client.get(f"/coordination/clues/{clue.pk}/").status_code == 404
        assert client.get(f"/api/v1/clues/{clue.pk}/").status_code == 404
        assert client.post(f"/coordination/clues/{clue.pk}/report/", {"report": "x"}).status_code == 404


@pytest.mark.django_db
def test_clue_pages_record_and_return(rules, depts, grid_officer, town_office, client):
    from zhijian.geo.models import Division

    # The division is picked by name (geo.widgets.DivisionPicker) and submitted as its code.
    for code, name, level in [(VILLAGE, "宏图社区", 5), ("441900004001", "桑园社区", 5)]:
        Division.objects.get_or_create(code=code, defaults={"name": name, "level": level})
    client.force_login(grid_officer)
    r = client.post("/coordination/clues/new/", {"text": "疑似无证诊所", "division_code": VILLAGE, "place": "某巷 3 号"})
    clue = Clue.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("coordination:clue_detail", args=[clue.pk])
    assert client.post("/coordination/clues/new/", {"text": "跨界", "division_code": "441900004001"}).status_code == 200
    assert Clue.objects.count() == 1
    client.force_login(town_office)
    client.post(f"/coordination/clues/{clue.pk}/assign/", {"department": depts["health"].pk})
    staff = make_department_user(depts["health"])
    client.force_login(staff)
    client.post(f"/coordination/clues/{clue.pk}/return/", {"reason": "属卫健执法支队"})
    clue.refresh_from_db()
    assert clue.state == ClueState.RETURNED
    assert list(clue.steps.values_list("action", flat=True)) == ["record", "assign", "return"]


@pytest.mark.django_db
def test_inbox_page_overdue_first_with_buttons(rules, depts, client):
    for name in ("甲餐馆", "乙餐馆"):
        entities.entity_create(actor=None, credit_code=credit_code("441900"), name=name, division_code=VILLAGE,
                               industry_code="6210", business_scope="餐饮服务")
    drain()
    late = PushItem.objects.filter(department=depts["health"]).order_by("id").last()
    PushItem.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(hours=2))
    staff = make_department_user(depts["health"])
    client.force_login(staff)
    body = client.get("/coordination/inbox/").content.decode()
    assert body.index("乙餐馆") < body.index("甲餐馆") and "逾期" in body and "签收" in body
    assert "市烟草专卖局" not in body
    r = client.post(f"/coordination/items/{late.pk}/claim/", {"next": "inbox"})
    assert r.status_code == 302 and PushItem.objects.get(pk=late.pk).state == "claimed"
    detail = client.get(f"/coordination/items/{late.pk}/").content.decode()
    assert "餐饮行业" in detail and "1 小时内签收" in detail
    # The timeline starts with the push (from the item: no stored step), then the claim.
    timeline = detail[detail.index('id="timeline"'):]
    assert timeline.index("推送 → 待签收") < timeline.index("签收 → 已签收") and "系统" in timeline


@pytest.mark.django_db
def test_rule_admin_pages(depts, leader, client):
    client.force_login(leader)
    r = client.post("/coordination/rules/matters/new/", {"code": "lift", "name": "电梯安全", "principle": "competent",
                                                         "departments": [depts["fire"].pk], "deadline_hours": "24", "active": "on"})
    assert r.status_code == 302
    from zhijian.coordination.models import PushRule, SupervisionMatter

    matter = SupervisionMatter.objects.get(code="lift")
    r = client.post("/coordination/rules/new/", {"matter": matter.pk, "name": "电梯", "industry_prefixes": "3435", "keywords": "电梯",
                                                 "active": "on"})
    rule = PushRule.objects.get(matter=matter)
    assert r.status_code == 302 and rule.version == 1
    client.post(f"/coordination/rules/{rule.pk}/", {"matter": matter.pk, "name": "电梯", "industry_prefixes": "3435,X9", "active": "on"})
    rule.refresh_from_db()
    assert rule.version == 1 and rule.industry_prefixes == "3435"  # refused: bad prefix
    client.post(f"/coordination/rules/{rule.pk}/", {"matter": matter.pk, "name": "电梯", "industry_prefixes": "3435,C34", "active": "on"})
    rule.refresh_from_db()
    assert rule.version == 2
    client.force_login(make_department_user(depts["fire"]))
    assert client.get("/coordination/rules/").status_code == 403


@pytest.mark.django_db
def test_inbox_pages_with_its_total(rules, depts, client):
    for i in range(3):
        entities.entity_create(actor=None, credit_code=credit_code("441900"), name=f"分页餐馆{i}", division_code=VILLAGE,
                               industry_code="6210", business_scope="餐饮服务")
    drain()
    total = PushItem.objects.filter(department=depts["health"]).count()
    assert total >= 3
    client.force_login(make_department_user(depts["health"]))
    first = client.get("/coordination/inbox/?per_page=2").content.decode()
    assert f"共 {total} 条" in first and "下一页" in first and first.count("分页餐馆") == 2
    last = client.get(f"/coordination/inbox/?per_page=2&page={-(-total // 2)}").content.decode()
    assert "上一页" in last and "下一页" not in last
