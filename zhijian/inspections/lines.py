"""Business lines (业务条线) tied to industries: which entities a line's daily inspections and draws pick.

Each line of the CFDA 2016 daily-inspection tables covers the entities of some GB/T 4754-2017
industries (codes from data/industry/gbt4754_2017.csv; a class such as ``62`` covers all its
groups and classes). The defaults below are seeded by migration 0004 into
``BusinessLine.industry_codes``, which administrators edit afterwards (admin: 业务条线).

The task loop (supervision, a lower layer) reads the codes through ``supervision.lines``, which
this app fills at start-up (``apps.InspectionsConfig.ready``); draws read them here.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhijian.core import trace
from zhijian.core.errors import ApplicationError
from zhijian.entities.models import Industry

from .models import BusinessLine

SAVED = "business_line.industries_saved"
trace.register_action_labels({SAVED: gettext_lazy("修改业务条线对应行业")})

# code → (name, order, industry codes)
DEFAULT_LINES: dict[str, tuple[str, int, list[str]]] = {
    # 食品、饮料批发 (not 5128 烟草制品批发), 综合零售 (百货、超市、便利店 sell prepackaged food under a
    # 食品经营许可), 食品专门零售 (not 5227 烟草制品零售), 互联网零售.
    "food_sales": ("食品销售", 10, ["5121", "5122", "5123", "5124", "5125", "5126", "5127", "5129", "5211", "5212", "5213",
                                "5219", "5221", "5222", "5223", "5224", "5225", "5226", "5229", "5292"]),
    # 正餐、快餐、饮料及冷饮、餐饮配送及外卖、其他餐饮业: the whole of 62 餐饮业.
    "catering": ("餐饮服务", 20, ["621", "622", "623", "624", "629"]),
    # 农副食品加工业、食品制造业、酒饮料和精制茶制造业.
    "food_production": ("食品生产", 30, ["13", "14", "15"]),
    # 营养和保健品批发、零售.
    "health_food": ("保健食品经营", 40, ["5126", "5225"]),
    # 酒、饮料及茶叶批发、零售.
    "wine": ("酒类经营", 50, ["5127", "5226"]),
    # 化妆品及卫生用品批发、零售.
    "cosmetics": ("化妆品经营", 60, ["5134", "5234"]),
    # 西药、中药批发和零售; 医院和基层医疗卫生服务 (the medical-institution part of the table).
    "drugs": ("药品零售与使用", 70, ["5151", "5152", "5251", "5252", "841", "842"]),
    # 医疗用品及器材批发、零售, 保健辅助治疗器材零售.
    "medical_devices": ("医疗器械经营", 80, ["5154", "5254", "5255"]),
    # 医院、基层医疗卫生服务、专业公共卫生服务、健康体检.
    "medical_device_users": ("医疗器械使用", 90, ["841", "842", "843", "8491"]),
}


def seed(model=BusinessLine) -> int:
    """Create the lines that are missing and give the default industries to lines that have none
    (an administrator's codes are kept). ``model``: a migration passes its historical one. Returns the number of rows written."""
    written = 0
    for code, (name, order, industries) in DEFAULT_LINES.items():
        line = model.objects.filter(code=code).first()
        if line is None:
            model.objects.create(code=code, name=name, order=order, industry_codes=",".join(industries))
            written += 1
        elif not line.industry_codes:
            line.industry_codes = ",".join(industries)
            line.save(update_fields=["industry_codes"])
            written += 1
    return written


def industries_of(codes) -> list[str] | None:
    """The industry codes of the lines ``codes`` (union, sorted); ``None`` when any of them is not
    restricted (unknown line or no codes): then the lines together cover every industry."""
    codes = [c for c in dict.fromkeys(codes or []) if c]
    if not codes:
        return None
    found = {line.code: line.industry_list() for line in BusinessLine.objects.filter(code__in=codes)}
    out: set[str] = set()
    for code in codes:
        industries = found.get(code)
        if not industries:
            return None
        out.update(industries)
    return sorted(out)


def industry_q(industries, field: str = "industry_code") -> Q:
    """``field`` starts with one of ``industries`` (an empty list matches nothing)."""
    q = Q(pk__in=[])
    for p in industries:
        q |= Q(**{f"{field}__startswith": p})
    return q



@transaction.atomic
def line_industries_save(*, actor, line: BusinessLine, codes) -> BusinessLine:
    """Set the industries of ``line`` (GB/T 4754-2017 codes of any level, as loaded); traced."""
    codes = [c for c in dict.fromkeys(str(c).strip() for c in codes) if c]
    known = set(Industry.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [c for c in codes if c not in known]
    if unknown and Industry.objects.exists():
        raise ApplicationError(_("不是国民经济行业分类代码：%(codes)s") % {"codes": "、".join(unknown)}, code="bad_industry")
    line = BusinessLine.objects.select_for_update().get(pk=line.pk)
    before = line.industry_list()
    line.industry_codes = ",".join(codes)
    line.save(update_fields=["industry_codes"])
    trace.record(actor=actor, action=SAVED, obj=line, before={"industries": before}, after={"industries": codes})
    return line


def industry_names(line: BusinessLine) -> str:
    """The line's industries by name (代码 名称), for the pages and the admin list."""
    names = dict(Industry.objects.filter(code__in=line.industry_list()).values_list("code", "name"))
    return "、".join(names.get(c, c) for c in line.industry_list())
