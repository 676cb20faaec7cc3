"""Seed data: the two local time limits the grid flow adds to the deadline rules, and the routing
rules (谁许可，谁监管) an administrator edits afterwards. Existing rows are left alone."""
import datetime as dt

from django.db import migrations

LOCAL = "网格化监管地方规则（可按城市调整）"
RULES = [
    ("grid.assign", "网格事项分派", 1, LOCAL + "：村（社区）接收后一个工作日内分派网格", "地方规则；时限为建议值，请按本地规定修改"),
    ("grid.rectify", "网格书面告知整改期限（默认）", 10, LOCAL + "：书面告知书默认整改期限为十个工作日，网格监管员可酌情缩短", "地方规则；时限为建议值，请按本地规定修改"),
    ("grid.joint", "村（社区）联合处置", 10, LOCAL + "：复查仍未整改的，十个工作日内完成村（社区）联合处置", "地方规则；时限为建议值，请按本地规定修改"),
]

NO_CERT = "《无证无照经营查处办法》第五条：无证经营由法律、法规、国务院决定规定的许可部门查处（谁许可，谁监管）"
NO_LICENCE = "《无证无照经营查处办法》第六条：无照经营由市场监督管理部门查处"
TRADES = [
    # priority, name, industry prefixes, keywords, department code
    (10, "医疗机构", "841,842,843", "诊所,医疗", "health", "卫生健康部门核发医疗机构执业许可证"),
    (20, "娱乐场所、网吧", "901", "歌舞,游艺,网吧,上网服务", "culture", "文化和旅游部门核发娱乐经营许可证、网络文化经营许可证"),
    (30, "道路运输", "541,543", "道路运输,货运,客运", "transport", "交通运输部门核发道路运输经营许可证"),
    (40, "危险化学品经营", "", "危险化学品", "emergency", "应急管理部门核发危险化学品经营许可证"),
    (50, "烟草制品零售", "5227", "卷烟,烟草", "tobacco", "烟草专卖行政主管部门核发烟草专卖零售许可证"),
    (60, "校外培训", "839", "培训", "education", "教育部门审批校外培训机构"),
    (70, "建筑施工", "47,48,49,50", "建筑施工", "housing", "住房和城乡建设部门核发建筑业企业资质"),
]


def seed(apps, schema_editor):
    DeadlineRule = apps.get_model("deadlines", "DeadlineRule")
    for code, name, amount, basis, note in RULES:
        if not DeadlineRule.objects.filter(code=code).exists():
            DeadlineRule.objects.create(code=code, version=1, name=name, kind="period", amount=amount, unit="workdays",
                                        legal_basis=basis, effective_from=dt.date(2020, 1, 1), confirmed=False, note=note)
    RoutingRule = apps.get_model("grid", "RoutingRule")
    if RoutingRule.objects.exists():
        return
    rows = []
    for priority, name, industries, words, dept, basis in TRADES:
        for matter, label in (("licence", "无证"), ("unlicensed", "无照")):
            rows.append(RoutingRule(priority=priority, name=f"{name}（{label}）→ 许可部门", matter=matter, industry_prefixes=industries if industries else "",
                                    keywords=words if not industries else "", target="department", department_code=dept,
                                    legal_basis=f"{NO_CERT}；{basis}"))
            if industries and words:
                # A place not in the registry has no industry code: match its description instead.
                rows.append(RoutingRule(priority=priority + 1, name=f"{name}（{label}，按描述）→ 许可部门", matter=matter, keywords=words,
                                        target="department", department_code=dept, legal_basis=f"{NO_CERT}；{basis}"))
    rows += [
        RoutingRule(priority=800, name="食品经营（无证）→ 市场监管", matter="licence", industry_prefixes="62,5221,5222,5223,5224,5225,5226,5229",
                    target="market_regulator", legal_basis="食品经营许可由市场监督管理部门核发（谁许可，谁监管）"),
        RoutingRule(priority=900, name="普通无照经营 → 市场监管", matter="unlicensed", target="market_regulator", legal_basis=NO_LICENCE),
        RoutingRule(priority=910, name="其他无证经营 → 市场监管（待核实许可部门）", matter="licence", target="market_regulator", legal_basis=NO_LICENCE),
        RoutingRule(priority=920, name="地址问题 → 市场监管", matter="address", target="market_regulator",
                    legal_basis="《中华人民共和国市场主体登记管理条例》：登记住所与实际不符由登记机关依法处理"),
        RoutingRule(priority=930, name="经营状态 → 市场监管", matter="operating", target="market_regulator", legal_basis="登记机关"),
        RoutingRule(priority=940, name="年报 → 市场监管", matter="annual_report", target="market_regulator", legal_basis="《企业信息公示暂行条例》"),
        RoutingRule(priority=950, name="亮照经营 → 市场监管", matter="display", target="market_regulator",
                    legal_basis="《中华人民共和国市场主体登记管理条例》：营业执照置于住所或主要经营场所的醒目位置"),
    ]
    RoutingRule.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("grid", "0001_initial"), ("deadlines", "0002_seed_rules_and_holidays")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
