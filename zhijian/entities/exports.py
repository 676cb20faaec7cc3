"""The registry's export: any filtered entity list as .xlsx, written by a background job
(``zhijian.core.exports``) in the requester's scope, every code with its name."""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhijian.core import exports
from zhijian.core.scoping import jurisdiction_of, scope_q
from zhijian.geo.models import Division

from . import queries, tally
from .models import Industry, MarketEntity

EXPORT_LIMIT = 1_000_000
KIND = "entities"


def headers() -> list[str]:
    return [_("统一社会信用代码"), _("企业名称"), _("主体类型"), _("企业类型"), _("法定代表人"), _("注册资本（万元）"), _("成立日期"),
            _("登记状态"), _("注册地址"), _("区划"), _("区划代码"), _("网格"), _("行业"), _("行业代码"), _("经度"), _("纬度"), _("经营范围")]


def queryset(user, params: dict):
    """The entities a list with these parameters shows (``q`` and the filters), newest first."""
    filters = {k: v for k, v in params.items() if k in ("division", "grid", "industry", "entity_type", "status") and v not in (None, "")}
    q = (params.get("q") or "").strip()
    if q:
        ids, _fuzzy = queries.matching_ids(user, q, want=EXPORT_LIMIT, **filters)
        return MarketEntity.objects.scoped(user).filter(pk__in=ids), None
    qs = queries.filtered(user, **filters)
    total = tally.count(user, **filters) if tally.answers(filters, user) else None
    return qs, total


@exports.exporter(KIND, title=gettext_lazy("市场主体"))
def entity_rows(user, params: dict) -> exports.Rows:
    qs, total = queryset(user, params)
    types = dict(MarketEntity._meta.get_field("entity_type").choices)
    statuses = dict(MarketEntity._meta.get_field("status").choices)
    industries = dict(Industry.objects.values_list("code", "name"))
    divisions = dict(Division.objects.filter(scope_q("code", jurisdiction_of(user))).values_list("code", "name"))

    def rows():
        for e in qs.select_related("grid").order_by("-id")[:EXPORT_LIMIT].iterator(chunk_size=5000):
            yield [e.credit_code, e.name, types.get(e.entity_type, ""), e.legal_type, e.legal_rep,
                   float(e.capital) if e.capital is not None else None, e.established_on, statuses.get(e.status, ""),
                   e.address, divisions.get(e.division_code, ""), e.division_code, e.grid.name if e.grid else "",
                   industries.get(e.industry_code, ""), e.industry_code, e.lng, e.lat, e.business_scope]

    return exports.Rows(headers(), min(total, EXPORT_LIMIT) if total is not None else None, rows())
