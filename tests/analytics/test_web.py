"""Pages, Excel export, audit entry and the API of C5/C7."""
from __future__ import annotations

import io
import json
import re

import pytest
from openpyxl import load_workbook

from tests.analytics.conftest import FROM, TO
from zhijian.security.models import AuditLog

pytestmark = pytest.mark.django_db
RANGE = f"from={FROM}&to={TO}"


def test_stats_page_shows_every_table(world, client):
    client.force_login(world.leader)
    r = client.get(f"/stats/?{RANGE}&period=week")
    assert r.status_code == 200
    html = r.content.decode()
    for slug in ("push-department", "push-town", "push-matter", "push-period", "task-state", "task-source", "task-unit", "grid-state"):
        assert f'id="table-{slug}"' in html
        assert f"/stats/export/{slug}.xlsx?from={FROM}&amp;to={TO}&amp;period=week" in html
    assert "莞城街道" in html and "济南市卫健委" not in html
    assert "2026 年第 10 周" in html
    assert 'href="/stats/"' in html  # the nav link for leaders


def test_department_clerk_sees_own_push_tables_only(world, client):
    client.force_login(world.health_clerk)
    html = client.get(f"/stats/?{RANGE}").content.decode()
    assert 'id="table-push-department"' in html and 'id="table-task-unit"' not in html
    assert "市卫生健康局" in html and "市消防救援支队" not in html
    assert client.get(f"/stats/export/task-unit.xlsx?{RANGE}").status_code == 404


def test_stats_need_a_statistics_role(world, client):
    client.force_login(world.officer)
    assert client.get("/stats/").status_code == 403
    assert client.get("/stats/efficiency/").status_code == 403
    assert client.get(f"/stats/export/push-department.xlsx?{RANGE}").status_code == 403
    assert client.get("/api/v1/stats/push/").status_code == 403
    assert 'href="/stats/"' not in client.get("/tasks/").content.decode()


def _sheet(response):
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content), read_only=True)
    rows = [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    width = max(len(r) for r in rows)
    return [r + [None] * (width - len(r)) for r in rows]  # trailing empty cells are not stored


def test_excel_export_by_department_and_audit(world, client):
    client.force_login(world.leader)
    before = AuditLog.objects.filter(event="export").count()
    r = client.get(f"/stats/export/push-department.xlsx?{RANGE}")
    assert r.status_code == 200
    rows = _sheet(r)
    assert rows[0][0] == "推送事项·按部门"
    assert rows[1][:2] == ["统计期间", "2026-03-02 — 2026-03-15"] and not any(rows[1][2:])
    assert rows[2] == ["部门", "推送数", "签收数", "办结数", "在办数", "退回数", "转办数", "应办数", "逾期数", "办结率（%）", "逾期率（%）",
                       "平均签收时长（小时）", "平均办结时长（小时）", "平均办结时长（工作日）"]
    body = {r[0]: r[1:] for r in rows[3:]}
    assert body["市卫生健康局"] == [3, 3, 2, 1, 0, 0, 3, 2, 66.7, 66.7, 1.7, 120.0, 4.0]
    assert body["市消防救援支队"] == [3, 0, 0, 2, 1, 0, 2, 1, 0.0, 50.0, None, None, None]
    assert body["合计"][:8] == [6, 3, 2, 3, 1, 0, 5, 3]
    assert "济南市卫健委" not in body
    entry = AuditLog.objects.filter(event="export").order_by("-id").first()
    assert AuditLog.objects.filter(event="export").count() == before + 1
    assert entry.user == world.leader and entry.object_id == "push-department"
    assert entry.detail == {"table": "push-department", "from": FROM, "to": TO, "period": "day", "rows": 2}


def test_excel_export_tasks_and_efficiency(world, client):
    client.force_login(world.leader)
    rows = _sheet(client.get(f"/stats/export/task-unit.xlsx?{RANGE}"))
    body = {r[0]: r[1:] for r in rows[3:]}
    assert body["莞城市场监管所"][:7] == [4, 3, 1, 0, 4, 2, 1]
    rows = _sheet(client.get(f"/stats/export/efficiency.xlsx?{RANGE}"))
    assert rows[2] == ["单位", "单位类型", "应办数", "办结数", "逾期数", "办结率（%）", "逾期率（%）"]
    assert [r[0] for r in rows[3:]] == ["市卫生健康局", "市消防救援支队", "莞城市场监管所", "南城市场监管所"]
    assert rows[3][1:] == ["部门", 3, 2, 2, 66.7, 66.7]
    assert client.get(f"/stats/export/nothing.xlsx?{RANGE}").status_code == 404


def test_efficiency_page_embeds_series(world, client):
    client.force_login(world.dispatcher)
    r = client.get(f"/stats/efficiency/?{RANGE}")
    assert r.status_code == 200
    html = r.content.decode()
    m = re.search(r'<script id="efficiency-data" type="application/json">(.*?)</script>', html, re.S)
    assert m, "the series JSON is embedded with json_script"
    data = json.loads(m.group(1))
    assert data["weeks"] == ["2026-03-02", "2026-03-09"]
    assert data["units"] == ["市卫生健康局", "市消防救援支队", "莞城市场监管所", "南城市场监管所"]
    assert {s["name"]: s["overdue"] for s in data["series"]}["莞城市场监管所"] == [66.7, 0.0]
    assert data["labels"] == {"overdue": "逾期率", "completion": "办结率"}
    assert "vendor/echarts/echarts.min.js" in html and "analytics/efficiency.js" in html
    assert "<script>" not in html  # no inline script (CSP)
    # The ranking table, worst first.
    assert html.index("市卫生健康局") < html.index("南城市场监管所")


def test_efficiency_page_scope(world, client):
    client.force_login(world.jinan_leader)
    html = client.get(f"/stats/efficiency/?{RANGE}").content.decode()
    assert "济南市卫健委" in html and "市卫生健康局" not in html and "莞城市场监管所" not in html


def test_api_push_stats(world, client):
    client.force_login(world.leader)
    r = client.get(f"/api/v1/stats/push/?group=town&{RANGE}")
    assert r.status_code == 200
    body = r.json()
    assert (body["group"], body["from"], body["to"]) == ("town", FROM, TO)
    assert [(row["key"], row["label"], row["pushed"], row["overdue"], row["overdue_rate"]) for row in body["rows"]] == [
        ("441900003", "莞城街道", 4, 1, 33.3), ("441900004", "南城街道", 2, 2, 100.0)]
    assert body["total"]["pushed"] == 6 and body["total"]["finish_workdays"] == 4.0
    weeks = client.get(f"/api/v1/stats/push/?group=period&period=week&{RANGE}").json()
    assert [row["key"] for row in weeks["rows"]] == ["2026-03-02", "2026-03-09"]
    bad = client.get("/api/v1/stats/push/?group=street")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_group"
    assert client.get("/api/v1/stats/push/?group=period&period=year").json()["error"]["code"] == "bad_period"


def test_api_scope_other_city_sees_nothing_of_dongguan(world, client):
    client.force_login(world.jinan_leader)
    for group in ("department", "town", "matter", "period"):
        body = client.get(f"/api/v1/stats/push/?group={group}&{RANGE}").json()
        assert body["total"]["pushed"] == 2, group
        labels = {row["label"] for row in body["rows"]}
        assert not labels & {"市卫生健康局", "市消防救援支队", "莞城街道", "南城街道", "餐饮服务监管", "消防安全监管"}, group


def test_stats_page_draws_a_chart_next_to_each_table(world, client):
    client.force_login(world.leader)
    r = client.get(f"/stats/?{RANGE}&period=week")
    html = r.content.decode()
    assert "vendor/echarts/echarts.min.js" in html and "analytics/stats.js" in html
    charts = {c["id"]: c for c in json.loads(re.search(r'<script id="stats-charts" type="application/json">(.*?)</script>', html, re.S).group(1))}
    for slug in ("push-department", "push-period", "task-unit", "grid-state"):
        assert f'id="chart-{slug}"' in html and f"chart-{slug}" in charts
    unit = charts["chart-task-unit"]
    assert unit["type"] == "bar" and unit["labels"] == [row["label"] for row in r.context["tables"][6].rows]
    assert [s["name"] for s in unit["series"]] == ["任务数", "已归档", "逾期数"]
    assert charts["chart-push-period"]["type"] == "line"
