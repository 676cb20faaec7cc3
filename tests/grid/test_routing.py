"""Routing rules as data (谁许可，谁监管)."""
import datetime as dt

import pytest

from zhijian.core.errors import ApplicationError
from zhijian.grid import cases, reports, routing
from zhijian.grid.choices import CaseState, RouteTarget, Trigger
from zhijian.grid.models import RoutingRule
from tests.factories import make_entity

D = dt.date
OK = {m: ("ok", "") for m in ["address", "operating", "licence", "unlicensed", "annual_report", "display"]}


def _to_joint(city, entity, **bad):
    case = cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=entity, trigger_ref="x", today=D(2026, 3, 2))
    case = cases.case_assign(actor=city.dispatcher, case=case, today=D(2026, 3, 2))
    items = dict(OK)
    items.update({m: ("problem", n) for m, n in bad.items()})
    case = cases.visit_first(actor=city.officer, case=case, items=items, today=D(2026, 3, 3))
    case = cases.recheck(actor=city.officer, case=case, items={m: ("problem", "仍未整改") for m in bad}, today=D(2026, 3, 18))
    assert case.state == CaseState.JOINT
    return case


def test_licensed_trade_goes_to_its_licensing_department(city):
    clinic = make_entity("441900003001", name="东莞市宏图诊所有限公司", industry_code="8422", lng=113.72, lat=23.01,
                         business_scope="内科诊疗")
    case = _to_joint(city, clinic, licence="未取得医疗机构执业许可证")
    route = routing.route_for(case)
    assert route.target == RouteTarget.DEPARTMENT and route.department == city.health
    case = cases.joint_handle(actor=city.dispatcher, case=case, resolved=False, note="仍在执业", today=D(2026, 3, 20))
    assert case.state == CaseState.ROUTED and case.routed_department == city.health and case.routed_bureau is None


def test_food_licence_and_ordinary_unlicensed_go_to_the_market_regulator(city):
    shop = make_entity("441900003001", name="东莞市宏图餐饮店", industry_code="6210", lng=113.72, lat=23.01)
    route = routing.route_for(_to_joint(city, shop, licence="未取得食品经营许可证"))
    assert route.target == RouteTarget.MARKET_REGULATOR and route.bureau == city.county
    assert route.rule.name == "食品经营（无证）→ 市场监管"


def test_rules_are_data_priority_decides(city):
    """A new rule with a lower priority number wins; a deactivated rule is skipped."""
    case = _to_joint(city, city.entity, address="查无此址")
    assert routing.route_for(case).rule.name == "地址问题 → 市场监管"
    RoutingRule.objects.create(priority=5, name="地址问题 → 卫健（测试）", matter="address", target="department", department_code="health")
    assert routing.route_for(case).department == city.health
    RoutingRule.objects.filter(priority=5).update(active=False)
    assert routing.route_for(case).target == RouteTarget.MARKET_REGULATOR


def test_description_keywords_route_unregistered_places(city):
    """A clue's place has no industry code: the description names the trade."""
    RoutingRule.objects.create(priority=1, name="网吧 → 文化（测试）", matter="unlicensed", keywords="网吧", target="department",
                               department_code="culture")
    from zhijian.org.models import Department

    culture = Department.objects.create(name="东莞市文化广电旅游体育局", code="culture", division_code="441900", jurisdiction="4419")
    clue = reports.clue_report(actor=city.officer, place_name="无名网吧", description="无照经营网吧，约二十台电脑", lng=113.72, lat=23.01,
                                system="gcj02", today=D(2026, 3, 2))
    case = clue.grid_case
    assert routing.route_for(case, ["unlicensed"]).department == culture


def test_missing_department_is_refused_clearly(city):
    RoutingRule.objects.create(priority=1, name="年报 → 税务（测试）", matter="annual_report", target="department", department_code="tax")
    case = _to_joint(city, city.entity, annual_report="未年报")
    with pytest.raises(ApplicationError, match="指向的许可部门（tax）在本辖区不存在"):
        cases.joint_handle(actor=city.dispatcher, case=case, resolved=False, note="未改", today=D(2026, 3, 20))
