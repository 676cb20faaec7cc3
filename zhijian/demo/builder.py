"""The demo city: 济南市 with its real divisions, synthetic grids, bureaus, people and a market.

Deterministic for a seed. Entity rows are synthetic (zhijian.entities.synth) and go through the
real import path; no row of the registration sample is used.
"""
from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from shapely.geometry import shape

from zhijian.coordination import rules as push_rules
from zhijian.coordination.models import SupervisionMatter
from zhijian.deadlines import scheduling
from zhijian.draws import services as draws
from zhijian.draws.models import DrawPlan
from zhijian.entities import importer, synth
from zhijian.entities.reference import load_industries
from zhijian.entities.synth import Place
from zhijian.geo import demo as geo_demo
from zhijian.geo.models import Division, Grid, GridStaff
from zhijian.geo.reference import load_divisions
from zhijian.inspections import loading
from zhijian.org.choices import BureauLevel, RoleCode
from zhijian.org.models import Bureau, Department, Role, User
from zhijian.security.otp import ensure_device

from . import history

CITY = "370100"
RECENT_MAX = 1000  # new registrations synced from the registration system in the demo's recent weeks
CITY_NAME = "济南市"
PASSWORD = "Zhijian-Demo-2026!"

# username, full name, roles, bureau key, extra
PEOPLE = [
    ("leader", "王局长", [RoleCode.LEADER], "city", {}),
    ("officer1", "李执法", [RoleCode.ENFORCEMENT_OFFICER], "lixia_station", {"enforcement_cert_no": "37010020001"}),
    ("officer2", "张执法", [RoleCode.ENFORCEMENT_OFFICER], "lixia_station", {"enforcement_cert_no": "37010020002"}),
    ("grid1", "赵网格", [RoleCode.GRID_OFFICER], "lixia_station", {}),
    ("assistant1", "钱协管", [RoleCode.ASSISTANT], "lixia_station", {}),
    ("informant1", "孙信息", [RoleCode.INFORMANT], "lixia_station", {}),
    ("dispatcher", "周调度", [RoleCode.DISPATCHER], "lixia", {}),
    ("complaints", "吴投诉", [RoleCode.COMPLAINT_HANDLER], "lixia", {}),
    ("legal", "郑法制", [RoleCode.LEGAL_REVIEWER], "city", {}),
    ("clerk", "冯登记", [RoleCode.REGISTRY_CLERK], "city", {}),
    ("health", "陈卫健", [RoleCode.DEPARTMENT_STAFF], "dept:health", {}),
    ("sysadmin", "系统管理员", [RoleCode.SYSTEM_ADMIN], "city", {}),
    ("secadmin", "安全管理员", [RoleCode.SECURITY_ADMIN], "city", {}),
    ("auditor", "安全审计员", [RoleCode.AUDIT_ADMIN], "city", {}),
]
DEPARTMENTS = [("health", "济南市卫生健康委员会"), ("fire", "济南市消防救援支队"), ("housing", "济南市住房和城乡建设局"),
               ("tax", "国家税务总局济南市税务局"), ("culture", "济南市文化和旅游局"), ("transport", "济南市交通运输局"),
               ("ecology", "济南市生态环境局"), ("education", "济南市教育局")]


# What each demo person should try first (one line each, printed with the logins).
FIRST_STEPS = {
    "leader": "首页看辖区今天与本周的工作：逾期、临期、推送、预警，点数字逐级查看到具体事项",
    "officer1": "用手机打开 /m/ 的“我的任务”：逾期的日常检查排在前面，检查一户、签名上传",
    "officer2": "与李执法同组：两份已签章的检查笔录（责令改正）在任务“待审核”中",
    "grid1": "网格事项：分派给自己的首次走访（新设立登记），登记 4+2 走访结果",
    "assistant1": "在手机 /m/ 上报网格线索（无照经营、地址不符）",
    "informant1": "在手机 /m/ 上报网格线索",
    "dispatcher": "任务看板派发任务；网格事项分派网格；把村居登记的线索移交给责任部门",
    "complaints": "登记一条投诉举报线索",
    "legal": "审核“待审核”的任务（两份责令改正的检查笔录）",
    "clerk": "市场主体：按名称或信用代码查询，导入、导出登记数据",
    "health": "部门收件箱：签收、办理推送来的公共场所和医疗机构；反馈移交来的线索",
    "sysadmin": "系统管理员：进入 /admin/ 录入明年节假日，维护期限规则、检查清单、业务条线、推送规则和用户",
    "secadmin": "账户安全：锁定与解锁、密码与双因素策略",
    "auditor": "审计日志与追溯链（只读）",
}


@dataclass
class Login:
    username: str
    full_name: str
    roles: str
    otp_secret: str
    first_step: str = ""


def build(*, entities: int = 50_000, seed: int = 2026, progress=None, log=print) -> list[Login]:
    log("加载区划与行业（山东省）…")
    load_divisions(provinces=["37"], progress=progress)
    load_industries(progress=progress)
    log("生成演示网格（合成边界）…")
    n_grids = geo_demo.build_demo_grids(CITY, seed=seed)
    log(f"网格 {n_grids} 个")
    bureaus = _bureaus()
    logins = _people(bureaus)
    _grid_staff(bureaus)
    log("加载法律条文、检查清单（业务条线及其行业）、监管事项与推送规则…")
    loading.load_laws()
    loading.load_checklists()
    _matters(bureaus)
    count = max(0, entities - history.NEW_REGISTRATIONS)  # the rest register over the last weeks (history)
    recent = min(RECENT_MAX, max(20, count // 50))
    log(f"生成 {count} 户市场主体：{count - recent} 户存量（启用时装入的登记库，不派首次走访、不推送部门），"
        f"{recent} 户为登记系统同步来的新设立主体（首次走访并推送各部门）…")
    stock_path, recent_path = _split(_market_file(count, seed), recent)
    bar = (lambda d, t: progress.update_to(d, t)) if hasattr(progress, "update_to") else None
    log(importer.Importer(progress=bar, stock=True).run(stock_path).line())
    log(importer.Importer(progress=bar).run(recent_path).line())
    log("运行事件分发（各村首次走访：网格事项）…")
    log(f"已处理事件 {history.dispatch()} 条")
    log("近三周的工作：新设立登记、首次走访、日常检查任务、线索移交、部门签收…")
    history.build_history(seed=seed, log=log)
    log("双随机抽查示范：历下区食品销售抽查（锁定名录、公开种子、抽取）…")
    _demo_draw(bureaus, seed)
    log("期限计时与预警扫描…")
    log(history.sweep())
    scheduling.autodiscover()  # the rollups behind the leader overview and statistics, as of the build
    log("; ".join(m for _name, m in scheduling.run_due_sweeps(only=["analytics.rollups", "analytics.task_days"])))
    return logins


# Supervision matters (监管事项) and their push rules: who supervises which new entities after
# registration (证照分离, 谁审批谁监管). Codes are GB/T 4754-2017 prefixes; keywords match the scope.
MATTERS = [
    # code, name, departments, legal basis, claim hours, [(rule name, industry prefixes, keywords)]
    ("public_hygiene", "公共场所卫生许可", ["health"], "《公共场所卫生管理条例》第四条", 24,
     [("住宿与美容美发", "611,612,804,805", "住宿服务,理发,美容")]),
    ("medical_practice", "医疗机构执业登记", ["health"], "《医疗机构管理条例》第十五条", 24,
     [("门诊与诊所", "841,842", "门诊服务")]),
    ("fire_safety", "公众聚集场所投入使用、营业前消防安全检查", ["fire"], "《中华人民共和国消防法》第十五条", 24,
     [("餐饮与住宿", "62,611", ""), ("商场超市", "5211,5212", "")]),
    ("construction", "建筑业企业资质", ["housing"], "《中华人民共和国建筑法》第十三条", 48,
     [("房屋建筑", "47", "房屋建筑工程施工")]),
    ("travel_agency", "旅行社业务经营许可", ["culture"], "《旅行社条例》第六条", 48,
     [("旅行社", "7291", "国内旅游业务")]),
    ("road_freight", "道路货物运输经营许可", ["transport"], "《中华人民共和国道路运输条例》第二十四条", 48,
     [("普通货运", "543", "普通货运")]),
    ("pollution_permit", "排污许可", ["ecology"], "《排污许可管理条例》第二条", 48,
     [("化妆品与药品制造", "2682,272", "")]),
]


def _matters(units) -> None:
    """The matters and rules, through the coordination services (traced), before the registry is
    imported: the import pushes every new entity to its departments' inboxes."""
    if SupervisionMatter.objects.filter(code=MATTERS[0][0]).exists():
        return
    for code, name, depts, basis, hours, rules in MATTERS:
        matter = push_rules.matter_save(actor=None, code=code, name=name, legal_basis=basis, deadline_rule="grid.first_visit",
                                        deadline_hours=hours, departments=[units[f"dept:{d}"] for d in depts])
        for rule_name, prefixes, keywords in rules:
            push_rules.rule_save(actor=None, matter=matter, name=rule_name, industry_prefixes=prefixes, keywords=keywords)


# 历下区局's inspector pool for the demo draw (no logins: they only need certificates and homes).
INSPECTORS = ["刘强", "陈静", "杨帆", "黄磊", "周敏", "吴涛", "徐丽", "孙浩"]


def _demo_draw(units, seed: int) -> None:
    """An executed draw of 历下区 (4 % of class B, food sales, two inspectors each, recusal by home
    street), so the draw pages and the public page have something to show and verify."""
    lixia = units["lixia"]
    if DrawPlan.objects.filter(bureau=lixia).exists():
        return
    rng = random.Random(seed)
    towns = list(Division.objects.filter(level=4, code__startswith=lixia.division_code).values_list("code", flat=True))
    for i, name in enumerate(INSPECTORS, start=1):
        user, _ = User.objects.update_or_create(username=f"lixia-inspector{i}", defaults={
            "full_name": name, "bureau": lixia, "department": None, "enforcement_cert_no": f"370102{i:05d}",
            "home_division": rng.choice(towns) if towns else ""})
        user.set_unusable_password()
        user.save()
        user.roles.set([Role.objects.get_or_create(code=RoleCode.ENFORCEMENT_OFFICER)[0]])
    leader = User.objects.get(username="leader")
    today = timezone.localdate()
    plan = draws.plan_create(actor=leader, bureau=lixia, name=f"{today.year}年历下区食品销售双随机抽查",
                             period=f"{today.year}Q{(today.month - 1) // 3 + 1}", division_code=lixia.division_code,
                             business_lines=["food_sales"], inspector_units=[lixia])  # the default ratios: B 4 %
    draws.draw_execute(actor=leader, draw=draws.draw_commit(actor=leader, plan=plan))


def _bureaus() -> dict[str, Bureau]:
    out = {}
    city, _ = Bureau.objects.update_or_create(name="济南市市场监督管理局", defaults=dict(
        short_name="济市监", level=BureauLevel.CITY, division_code="3701", jurisdiction="3701"))
    out["city"] = city
    for county in Division.objects.filter(level=3, code__startswith="3701").order_by("code"):
        b, _ = Bureau.objects.update_or_create(name=f"济南市{county.name}市场监督管理局", defaults=dict(
            short_name=f"{county.name[:2]}市监", level=BureauLevel.COUNTY, parent=city, division_code=county.code, jurisdiction=county.code))
        out[county.code] = b
    out["lixia"] = out["370102"]
    town = Division.objects.get(code="370102001")  # 解放路街道
    station, _ = Bureau.objects.update_or_create(name=f"{town.name}市场监督管理所", defaults=dict(
        short_name="历下市监", level=BureauLevel.STATION, parent=out["lixia"], division_code=town.code, jurisdiction=town.code))
    out["lixia_station"] = station
    for code, name in DEPARTMENTS:
        d, _ = Department.objects.update_or_create(code=code, defaults=dict(name=name, division_code="3701", jurisdiction="3701"))
        out[f"dept:{code}"] = d
    return out


def _people(units) -> list[Login]:
    logins = []
    for username, full_name, roles, unit_key, extra in PEOPLE:
        unit = units[unit_key]
        fields = {"full_name": full_name, **extra}
        if isinstance(unit, Department):
            fields.update(department=unit, bureau=None)
        else:
            fields.update(bureau=unit, department=None)
        user, created = User.objects.update_or_create(username=username, defaults=fields)
        if created or not user.has_usable_password():
            user.set_password(PASSWORD)
            user.save()
        user.roles.set([Role.objects.get_or_create(code=r)[0] for r in roles])
        secret = ensure_device(user)
        logins.append(Login(username, full_name, "、".join(str(RoleCode(r).label) for r in roles), secret, FIRST_STEPS.get(username, "")))
    return logins


def _grid_staff(units) -> None:
    grid = Grid.objects.filter(level=2, division_code__startswith="370102001").order_by("code").first()
    if grid is None:
        return
    for username, role in (("officer1", "supervisor"), ("assistant1", "assistant"), ("informant1", "informant")):
        GridStaff.objects.get_or_create(grid=grid, user=User.objects.get(username=username), role=role)
    for username in ("grid1",):
        GridStaff.objects.get_or_create(grid=grid, user=User.objects.get(username=username), role="supervisor")


def _split(path: Path, recent: int) -> tuple[Path, Path]:
    """The market file cut in two: the register's stock, and its last ``recent`` rows as new registrations."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    cut = max(0, len(body) - recent)
    out = []
    for suffix, part in (("stock", body[:cut]), ("recent", body[cut:])):
        p = path.with_name(f"{path.stem}_{suffix}.csv")
        with open(p, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(part)
        out.append(p)
    return out[0], out[1]


def _market_file(n: int, seed: int) -> Path:
    names = dict(Division.objects.filter(code__startswith="3701").values_list("code", "name"))
    grids = {g.division_code: g.geometry for g in Grid.objects.filter(level=2, division_code__startswith="3701").only("division_code", "geometry")}
    places, shapes = [], {}
    for code, geom in grids.items():
        town, county = code[:9], code[:6]
        if town not in names or county not in names or not geom:
            continue
        places.append(Place(code, county, CITY_NAME, names[county], names[town], names.get(code, "")))
        shapes[code] = shape(geom)

    def point(place, rng):
        p = geo_demo.random_point_in(shapes[place.division_code], rng)
        return round(p.x, 6), round(p.y, 6)

    path = Path(settings.VAR_DIR) / "demo" / f"market_{n}_{seed}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(synth.CSV_HEADER + ["经度", "纬度"])
        for e in synth.synth_entities(places, n, seed=seed, point=point):
            w.writerow(synth.as_csv_row(e) + [e["lng"], e["lat"]])
    return path
