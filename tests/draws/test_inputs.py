"""Credit-risk classes, declared relations and past inspections decide who is drawn and who is
recused: every write goes through ``draws.inputs`` (checked, traced, announced) — the admin too."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.factories import make_bureau, make_entity, make_user
from zhijian.core.errors import ApplicationError
from zhijian.core.models import Event, TraceEntry
from zhijian.draws import inputs
from zhijian.draws.models import DeclaredRelation, EntityRiskClass, PastInspection

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader(db):
    return make_user("leader", bureau=make_bureau("4419"))


def test_risk_class_set_and_clear_are_traced(leader):
    shop = make_entity("441900003001")
    inputs.risk_class_set(actor=leader, entity=shop, risk_class="D", assessed_on=dt.date(2026, 3, 1), source="信用评价")
    assert EntityRiskClass.objects.get(entity=shop).risk_class == "D"
    inputs.risk_class_set(actor=leader, entity=shop, risk_class="C", assessed_on=dt.date(2026, 6, 1))
    assert EntityRiskClass.objects.get(entity=shop).risk_class == "C"
    assert inputs.risk_class_clear(actor=leader, entity=shop) is True
    assert not EntityRiskClass.objects.filter(entity=shop).exists()
    actions = list(TraceEntry.objects.filter(object_id=shop.credit_code, action__startswith="draw.risk_class").values_list("action", flat=True))
    assert actions == ["draw.risk_class_set", "draw.risk_class_set", "draw.risk_class_cleared"]
    assert Event.objects.filter(type="draw.risk_class_set", object_id=shop.credit_code).count() == 2
    with pytest.raises(ApplicationError, match="未知的信用风险分类"):
        inputs.risk_class_set(actor=leader, entity=shop, risk_class="E", assessed_on=dt.date(2026, 6, 1))


def test_only_draw_roles_inside_the_jurisdiction_keep_the_inputs(leader):
    shop = make_entity("441900003001")
    clerk = make_user("registry_clerk")
    outsider = make_user("leader", jurisdiction="3701")
    for actor in (clerk, outsider):
        with pytest.raises(ApplicationError):
            inputs.risk_class_set(actor=actor, entity=shop, risk_class="A", assessed_on=dt.date(2026, 3, 1))
    assert not EntityRiskClass.objects.exists()


def test_inspectors_declare_their_own_relations(leader):
    bureau = leader.bureau
    officer = make_user("enforcement_officer", bureau=bureau)
    other = make_user("registry_clerk", bureau=bureau)
    shop = make_entity("441900003001")
    row = inputs.relation_declare(actor=officer, inspector=officer, credit_code=shop.credit_code.lower(), relation="配偶经营")
    assert row.credit_code == shop.credit_code
    with pytest.raises(ApplicationError):
        inputs.relation_declare(actor=other, inspector=officer, credit_code=shop.credit_code, relation="x")
    inputs.relation_withdraw(actor=leader, relation=row)
    assert not DeclaredRelation.objects.exists()
    assert [e.action for e in TraceEntry.objects.filter(action__startswith="draw.relation").order_by("id")] == [
        "draw.relation_declared", "draw.relation_withdrawn"]


def test_past_inspections_are_recorded_through_the_service(leader):
    officer = make_user("enforcement_officer", bureau=leader.bureau)
    shop = make_entity("441900003001")
    past = inputs.past_inspection_record(actor=leader, credit_code=shop.credit_code, inspector=officer, inspected_on=dt.date(2025, 5, 6))
    assert TraceEntry.objects.filter(action="draw.past_inspection_recorded").exists()
    inputs.past_inspection_remove(actor=leader, past=past)
    assert not PastInspection.objects.exists()


def test_admin_edits_go_through_the_service(leader):
    shop = make_entity("441900003001")
    staff = make_user("leader", bureau=leader.bureau, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    response = client.post("/admin/draws/entityriskclass/add/", {"entity": shop.pk, "risk_class": "D", "assessed_on": "2026-03-01", "source": "x"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert EntityRiskClass.objects.get(entity=shop).risk_class == "D"
    assert TraceEntry.objects.filter(action="draw.risk_class_set", object_id=shop.credit_code).exists()
    # Someone without a draw role (here a superuser in another city) is refused on the form.
    stranger = make_user("registry_clerk", jurisdiction="3701", is_staff=True, is_superuser=True)
    client.force_login(stranger)
    response = client.post(f"/admin/draws/entityriskclass/{shop.pk}/change/", {"risk_class": "A", "assessed_on": "2026-04-01", "source": ""})
    assert response.status_code == 200 and "您没有维护双随机抽查基础数据的权限" in response.content.decode()
    assert EntityRiskClass.objects.get(entity=shop).risk_class == "D"
