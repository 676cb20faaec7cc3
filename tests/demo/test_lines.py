"""Business lines tied to industries: a line's draws and daily inspections pick only its entities."""
from __future__ import annotations

import pytest

from tests.factories import make_bureau, make_entity, make_user
from zhijian.draws import services as draws
from zhijian.entities.models import Industry
from zhijian.inspections import lines
from zhijian.inspections.models import BusinessLine
from zhijian.supervision import templates_run
from zhijian.supervision.models import Task

# (industry, what the shop is): food shops, restaurants, and shops of neither line.
FOOD = [("5212", "超市"), ("5223", "果蔬店"), ("5226", "酒水店"), ("5292", "网店")]
CATERING = [("6210", "饭店"), ("6220", "快餐店"), ("6232", "咖啡馆"), ("6291", "小吃店")]
OTHER = [("5232", "服装店"), ("5251", "药房"), ("5227", "烟草店"), ("6513", "软件公司"), ("8040", "理发店"), ("3435", "电梯公司")]


@pytest.fixture
def city(db):
    lines.seed()
    bureau = make_bureau("4419")
    shops = {}
    for code, label in FOOD + CATERING + OTHER:
        for i in range(3):
            shops.setdefault(code, []).append(make_entity(f"44190000300{i + 1}", industry_code=code, name=f"东莞市{label}{code}-{i}"))
    return bureau, shops


def test_every_line_names_real_industries(db):
    """The defaults are codes of the shipped GB/T 4754-2017 table (the migration seeded them)."""
    from zhijian.entities.reference import load_industries

    load_industries()
    known = set(Industry.objects.values_list("code", flat=True))
    for code, (_name, _order, industries) in lines.DEFAULT_LINES.items():
        assert industries and set(industries) <= known, code
    assert BusinessLine.objects.get(code="catering").industry_list() == ["621", "622", "623", "624", "629"]
    assert "5227" not in BusinessLine.objects.get(code="food_sales").industry_list()  # tobacco is not food


def test_a_food_sales_draw_draws_only_food_shops(city):
    bureau, shops = city
    leader = make_user("leader", bureau=bureau)
    for i in range(2):
        make_user("enforcement_officer", bureau=bureau, enforcement_cert_no=f"441900000{i}")
    plan = draws.plan_create(actor=leader, bureau=bureau, name="食品销售双随机抽查", period="2026", division_code="4419",
                             business_lines=["food_sales"], ratios={"B": "100"})
    food = set(BusinessLine.objects.get(code="food_sales").industry_list())
    pool = set(draws.pool_queryset(plan).values_list("industry_code", flat=True))
    assert pool == {code for code, _l in FOOD}
    draw = draws.draw_execute(actor=leader, draw=draws.draw_commit(actor=leader, plan=plan))
    assert draw.selected_count == 3 * len(FOOD) and draw.params["line_industries"] == sorted(food)
    picked = {i.entity.industry_code for i in draw.items.select_related("entity")}
    assert picked and all(any(code.startswith(p) for p in food) for code in picked)

    everything = draws.plan_create(actor=leader, bureau=bureau, name="全行业抽查", period="2026", division_code="4419")
    assert draws.pool_queryset(everything).count() == 3 * len(FOOD + CATERING + OTHER)  # no line, no prefix: every industry
    own = draws.plan_create(actor=leader, bureau=bureau, name="理发", period="2026", division_code="4419",
                            business_lines=["food_sales"], industry_prefixes=["804"])
    assert set(draws.pool_queryset(own).values_list("industry_code", flat=True)) == {"8040"}  # the plan's own prefixes win


def test_the_catering_daily_inspection_never_picks_a_clothing_shop(city):
    bureau, shops = city
    dispatcher = make_user("dispatcher", bureau=bureau)
    tpl = templates_run.template_create(actor=dispatcher, name="餐饮服务日常检查", kind="patrol", division_code="4419",
                                        business_lines="catering")
    created = templates_run.template_generate(actor=dispatcher, template=tpl, bureau=bureau)
    picked = {t.entity.industry_code for t in Task.objects.filter(pk__in=[t.pk for t in created]).select_related("entity")}
    assert picked == {code for code, _l in CATERING}
    assert "5232" not in picked and all(t.business_line == "catering" for t in created)

    # Two lines: each shop gets the task of its own line only.
    both = templates_run.template_create(actor=dispatcher, name="食品日常检查", kind="patrol", division_code="4419",
                                         business_lines="food_sales,catering")
    made = templates_run.template_generate(actor=dispatcher, template=both, bureau=bureau)
    by_line = {}
    for t in Task.objects.filter(pk__in=[t.pk for t in made]).select_related("entity"):
        by_line.setdefault(t.business_line, set()).add(t.entity.industry_code)
    assert by_line == {"food_sales": {c for c, _l in FOOD}, "catering": {c for c, _l in CATERING}}


def test_an_administrators_codes_are_kept_and_a_line_without_codes_is_not_restricted(db):
    lines.seed()
    BusinessLine.objects.filter(code="wine").update(industry_codes="5127")
    BusinessLine.objects.filter(code="cosmetics").update(industry_codes="")
    lines.seed()
    assert BusinessLine.objects.get(code="wine").industry_codes == "5127"
    assert BusinessLine.objects.get(code="cosmetics").industry_list() == ["5134", "5234"]  # blank again: the default
    BusinessLine.objects.create(code="special_equipment", name="特种设备")
    assert lines.industries_of(["wine", "special_equipment"]) is None
    assert lines.industries_of(["wine", "health_food"]) == ["5126", "5127", "5225"]


def test_an_administrator_edits_a_lines_industries_through_the_service(db, client):
    """The admin screen shows the industries by name and saves through the traced service."""
    from zhijian.core.errors import ApplicationError
    from zhijian.core.models import TraceEntry
    from zhijian.entities.reference import load_industries

    load_industries()
    lines.seed()
    wine = BusinessLine.objects.get(code="wine")
    admin_user = make_user("system_admin", jurisdiction="")
    lines.line_industries_save(actor=admin_user, line=wine, codes=["5127", "5226", "1512"])
    wine.refresh_from_db()
    assert wine.industry_list() == ["5127", "5226", "1512"] and "白酒制造" in lines.industry_names(wine)
    assert TraceEntry.objects.filter(action=lines.SAVED).exists()
    with pytest.raises(ApplicationError, match="不是国民经济行业分类代码：9999"):
        lines.line_industries_save(actor=admin_user, line=wine, codes=["9999"])

    client.force_login(admin_user)
    page = client.get(f"/admin/inspections/businessline/{wine.pk}/change/")
    assert page.status_code == 200 and "白酒制造" in page.content.decode()
    client.post(f"/admin/inspections/businessline/{wine.pk}/change/", {"industry_codes": "5127,5226"})
    wine.refresh_from_db()
    assert wine.industry_list() == ["5127", "5226"]
