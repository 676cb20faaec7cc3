"""Codes come with their names: the API's ``*_display`` fields, the template filter, the ledger's labels."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import Client

from tests.factories import make_entity, make_user

ROOT = Path(__file__).resolve().parents[2] / "zhijian"


@pytest.fixture
def named(db):
    from zhijian.entities.models import Industry
    from zhijian.geo.models import Division

    Division.objects.create(code="44", name="广东省", level=1)
    Division.objects.create(code="4419", name="东莞市", level=2, parent_id="44")
    Division.objects.create(code="441900", name="东莞市辖区", level=3, parent_id="4419")
    Division.objects.create(code="441900003", name="东城街道", level=4, parent_id="441900")
    Division.objects.create(code="441900003001", name="东城社区", level=5, parent_id="441900003")
    Industry.objects.create(code="52", name="零售业", level=2)
    Industry.objects.create(code="5211", name="百货零售", level=4, parent_id="52")


def test_entity_api_names_its_codes_and_choices(named):
    user = make_user("enforcement_officer")
    entities = [make_entity() for _ in range(3)]
    client = Client()
    client.force_login(user)
    rows = client.get("/api/v1/entities/").json()["results"]
    assert len(rows) == 3
    for row in rows:
        assert row["industry_code"] == "5211" and row["industry_code_display"] == "百货零售"
        assert row["division_code_display"] == "东城社区"
        assert row["status"] == "active" and row["status_display"] == "存续（在业）"
        assert row["entity_type_display"] and row["entity_type_display"] != row["entity_type"]
    one = client.get(f"/api/v1/entities/{entities[0].credit_code}/").json()
    assert one["industry_code_display"] == "百货零售"


def test_a_page_of_results_names_its_codes_with_one_query_per_kind(named):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from zhijian.entities.api import EntitySerializer
    from zhijian.entities.models import MarketEntity

    for _ in range(6):
        make_entity()
    rows = list(MarketEntity.objects.all())
    with CaptureQueriesContext(connection) as queries:
        data = EntitySerializer(rows, many=True).data
    assert {r["industry_code_display"] for r in data} == {"百货零售"}
    names = [q["sql"] for q in queries if "entities_industry" in q["sql"] or "geo_division" in q["sql"]]
    assert len(names) == 2, names  # one for industries, one for divisions, whatever the page size


def test_unknown_code_has_no_name_rather_than_the_code(named):
    from zhijian.entities.api import EntitySerializer

    entity = make_entity(industry_code="9999")
    assert EntitySerializer(entity).data["industry_code_display"] is None


def test_every_choice_field_of_every_api_serializer_has_a_display_field():
    """Each model serializer of the API (the router's viewsets) names its choice fields."""
    from rest_framework import serializers as drf

    from zhijian.api_urls import router

    missing = []
    for _prefix, viewset, _basename in router.registry:
        cls = getattr(viewset, "serializer_class", None)
        if cls is None or not issubclass(cls, drf.ModelSerializer):
            continue
        fields = cls().fields
        for name, field in fields.items():
            if isinstance(field, drf.ChoiceField) and not field.write_only and f"{name}_display" not in fields:
                missing.append(f"{cls.__name__}.{name}")
    assert not missing, missing


def test_task_api_names_steps_lines_and_records(db):
    from zhijian.inspections.models import BusinessLine
    from zhijian.supervision import tasks
    from zhijian.supervision.choices import TaskSource

    BusinessLine.objects.update_or_create(code="food_sales", defaults={"name": "食品销售"})
    dispatcher = make_user("dispatcher")
    officer = make_user("enforcement_officer", bureau=dispatcher.bureau)
    entity = make_entity()
    task = tasks.task_create(actor=dispatcher, entity=entity, title="日常检查", source=TaskSource.PATROL, business_line="food_sales",
                             assignee=officer)
    tasks.task_accept(actor=officer, task=task)
    client = Client()
    client.force_login(officer)
    data = client.get(f"/api/v1/tasks/{task.pk}/").json()
    assert data["business_line_display"] == "食品销售"
    assert data["state_display"] == "已受领"
    actions = {s["action"]: s["action_display"] for s in data["steps"]}
    assert actions["accept"] == "受领"
    assert all(s["to_state_display"] and s["to_state_display"] != s["to_state"] for s in data["steps"])


def test_template_filter_names_codes(named):
    out = Template('{% load names %}{{ a|code_name:"industry_code" }}|{{ b|code_name:"division_code" }}|{{ c|code_name:"industry_code" }}').render(
        Context({"a": "5211", "b": "441900003", "c": ["52", "5211"]}))
    assert out == "百货零售|东城街道|零售业、百货零售"


# --- the ledger's labels -------------------------------------------------------------------------------------


def _recorded_trace_actions() -> set[str]:
    """Every literal action code the services pass to ``trace.record`` (or in ``record_many``'s dicts)."""
    codes = set()
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            values = []
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record" \
                    and getattr(node.func.value, "id", "") == "trace":
                values = [k.value for k in node.keywords if k.arg == "action"]
            elif isinstance(node, ast.Dict):
                values = [v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant) and k.value == "action"]
            for v in values:
                for c in ast.walk(v):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value.count(".") >= 1 \
                            and not c.value.endswith("."):
                        codes.add(c.value)
    return codes


def test_every_trace_action_has_a_chinese_label():
    from zhijian.core import trace
    from zhijian.core.workflow import PROCEDURES

    codes = _recorded_trace_actions()
    assert len(codes) > 30
    for p in PROCEDURES.values():  # steps of every procedure: "<trace action>.<action>"
        codes |= {f"{p.trace_action}.{a.value}" for a in p.actions}
    codes |= {f"clock.{k}" for k in ("started", "extended", "suspended", "resumed", "stopped", "recomputed", "reminder",
                                     "overdue", "escalated")}
    unlabelled = sorted(c for c in codes if c not in trace.ACTION_LABELS)
    assert not unlabelled, f"trace actions without a label (register them in the app's TRACE_ACTIONS): {unlabelled}"
    assert trace.action_label("grid.case.assign") == "事项：分派网格"
    assert trace.action_label("task.dispatch") == "任务：派发"
    assert trace.action_label("draw.executed") == "执行抽取"
    assert trace.action_label("no.such_action") == "其他操作"  # never the code


@pytest.mark.django_db
def test_trace_api_and_entry_name_action_and_object_type():
    from zhijian.core import trace

    auditor = make_user("audit_admin")
    entry = trace.record(actor=auditor, action="draw.executed", object_type="draws.draw", object_id="7", division_code="4419")
    assert entry.action_label == "执行抽取" and entry.object_type_label == "抽查批次"
    client = Client()
    client.force_login(auditor)
    rows = client.get("/api/v1/trace/entries/").json()["results"]
    row = next(r for r in rows if r["id"] == entry.pk)
    assert row["action"] == "draw.executed" and row["action_display"] == "执行抽取"
    assert row["object_type_display"] == "抽查批次"
