"""Excel export of one statistics table (openpyxl write-only: constant memory)."""
from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook

from .tables import Table


def table_xlsx(table: Table, *, range_text: str) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(table.title[:31].replace("·", "-"))
    ws.append([table.title])
    ws.append([_("统计期间"), range_text])
    ws.append(table.headers)
    for cells in table.body():
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
