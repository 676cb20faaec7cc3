"""Excel export of any filtered entity list (openpyxl write-only: constant memory)."""
from __future__ import annotations

import io

from openpyxl import Workbook

from .models import MarketEntity

EXPORT_LIMIT = 200_000
HEADERS = ["统一社会信用代码", "企业名称", "主体类型", "企业类型", "法定代表人", "注册资本（万元）", "成立日期", "登记状态",
           "注册地址", "区划代码", "网格", "行业代码", "经度", "纬度", "经营范围"]


def entities_xlsx(qs) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("市场主体")
    ws.append(HEADERS)
    types = dict(MarketEntity._meta.get_field("entity_type").choices)
    statuses = dict(MarketEntity._meta.get_field("status").choices)
    for e in qs.select_related("grid").order_by("-id")[:EXPORT_LIMIT].iterator(chunk_size=5000):
        ws.append([e.credit_code, e.name, str(types.get(e.entity_type, "")), e.legal_type, e.legal_rep,
                   float(e.capital) if e.capital is not None else None, e.established_on, str(statuses.get(e.status, "")),
                   e.address, e.division_code, e.grid.name if e.grid else "", e.industry_code, e.lng, e.lat, e.business_scope])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
