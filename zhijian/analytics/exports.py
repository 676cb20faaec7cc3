"""Excel export of one statistics table (openpyxl write-only: constant memory; cells through the
platform's one safe-cell helper, ``zhijian.core.exports``)."""
from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook

from zhijian.core.exports import row

from .tables import Table


def table_xlsx(table: Table, *, range_text: str) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(table.title[:31].replace("·", "-"))
    ws.append(row([table.title]))
    ws.append(row([_("统计期间"), range_text]))
    ws.append(row(table.headers))
    for cells in table.body():
        ws.append(row(cells))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
