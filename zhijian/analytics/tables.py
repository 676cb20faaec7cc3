"""The statistics tables (C5) as data: title, Chinese column headers and rows, shared by the
page and the Excel export so both always show the same figures."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from . import queries

PUSH_COLUMNS = [
    ("pushed", _("推送数")), ("claimed", _("签收数")), ("done", _("办结数")), ("open", _("在办数")),
    ("returned", _("退回数")), ("reassigned", _("转办数")), ("handled", _("应办数")), ("overdue", _("逾期数")),
    ("completion_rate", _("办结率（%）")), ("overdue_rate", _("逾期率（%）")),
    ("claim_hours", _("平均签收时长（小时）")), ("finish_hours", _("平均办结时长（小时）")),
    ("finish_workdays", _("平均办结时长（工作日）")),
]
TASK_COLUMNS = [
    ("total", _("任务数")), ("done", _("已归档")), ("open", _("在办")), ("cancelled", _("已撤销")),
    ("handled", _("应办数")), ("overdue", _("逾期数")), ("open_overdue", _("逾期未办结")),
    ("completion_rate", _("办结率（%）")), ("overdue_rate", _("逾期率（%）")),
    ("finish_hours", _("平均办结时长（小时）")), ("finish_workdays", _("平均办结时长（工作日）")),
]
GRID_COLUMNS = [
    ("total", _("事项数")), ("overdue", _("当前逾期")), ("warned", _("曾逾期预警")), ("overdue_rate", _("当前逾期率（%）")),
    ("finish_hours", _("平均办结时长（小时）")),
]
EFFICIENCY_COLUMNS = [
    ("kind_label", _("单位类型")), ("handled", _("应办数")), ("done", _("办结数")), ("overdue", _("逾期数")),
    ("completion_rate", _("办结率（%）")), ("overdue_rate", _("逾期率（%）")),
]

# slug: (title, header of the first column, columns)
TABLES = {
    "push-department": (_("推送事项·按部门"), _("部门"), PUSH_COLUMNS),
    "push-town": (_("推送事项·按镇街"), _("镇街"), PUSH_COLUMNS),
    "push-matter": (_("推送事项·按监管事项"), _("监管事项"), PUSH_COLUMNS),
    "push-period": (_("推送事项·按时段"), _("时段"), PUSH_COLUMNS),
    "task-state": (_("监管任务·按状态"), _("状态"), TASK_COLUMNS),
    "task-source": (_("监管任务·按来源"), _("来源"), TASK_COLUMNS),
    "task-unit": (_("监管任务·按承办机构"), _("承办机构"), TASK_COLUMNS),
    "grid-state": (_("网格事项·按环节"), _("环节"), GRID_COLUMNS),
    "efficiency": (_("效能监察·单位排名（逾期率从高到低）"), _("单位"), EFFICIENCY_COLUMNS),
}


@dataclass
class Table:
    slug: str
    title: str
    first_header: str
    columns: list
    rows: list = field(default_factory=list)
    total: dict | None = None
    chart: dict | None = None  # filled by the page (``chart(table)``), not by the export

    @property
    def headers(self) -> list[str]:
        return [str(self.first_header), *(str(label) for _key, label in self.columns)]

    def cells(self, row: dict) -> list:
        return [row["label"] if "label" in row else row.get("name"), *(row.get(key) for key, _label in self.columns)]

    def body(self) -> list[list]:
        """Rows as lists of cells, the total row last."""
        out = [self.cells(r) for r in self.rows]
        if self.total is not None:
            out.append(self.cells(self.total))
        return out

    def display_rows(self) -> list[dict]:
        """For the page: each cell with its header (phone layout labels), the total row marked."""
        headers = self.headers
        out = [{"cells": list(zip(headers, self.cells(r))), "total": False} for r in self.rows]
        if self.total is not None and self.rows:
            out.append({"cells": list(zip(headers, self.cells(self.total))), "total": True})
        return out


# What each table's chart draws (column keys; a period table is a line chart, the others bars).
CHART_COLUMNS = {
    "push": ("pushed", "done", "overdue"),
    "task": ("total", "done", "overdue"),
    "grid": ("total", "overdue", "warned"),
}


def chart(table: Table) -> dict | None:
    """The chart data drawn next to a table: one series per charted column, one point per row."""
    kind = table.slug.partition("-")[0]
    keys = CHART_COLUMNS.get(kind)
    if not keys or not table.rows:
        return None
    labels = dict((key, str(label)) for key, label in table.columns)
    return {
        "id": f"chart-{table.slug}", "type": "line" if table.slug.endswith("-period") else "bar",
        "labels": [str(r.get("label")) for r in table.rows],
        "series": [{"key": key, "name": labels[key], "data": [r.get(key) or 0 for r in table.rows]} for key in keys],
    }


def build(slug: str, user, rng: queries.DateRange, *, period: str = "day", memo: dict | None = None) -> Table:
    """One table; ``memo`` (a dict shared by the tables of one page) reads each rollup once."""
    title, first, columns = TABLES[slug]
    kind, _sep, group = slug.partition("-")
    if kind == "push":
        now = memo.setdefault("now", queries.timezone.now()) if memo is not None else None
        data = queries.push_stats(user, rng, group=group, period=period, now=now, memo=memo)
    elif kind == "task":
        data = queries.task_stats(user, rng, group=group, memo=memo)
    elif kind == "grid":
        data = queries.grid_stats(user, rng)
    else:
        data = {"rows": queries.efficiency(user, rng)["ranking"], "total": None}
    return Table(slug, str(title), str(first), columns, data["rows"], data["total"])
