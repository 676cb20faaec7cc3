"""Statistics pages (C5) and the efficiency watch (C7): thin views over queries and tables."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.security import audit
from zhijian.security.choices import AuditEvent

from zhijian.core.paging import paged

from . import exports, overview, queries, tables

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _guard(user):
    if not user.has_role(*queries.STATS_ROLES):
        raise PermissionDenied(_("只有领导、调度员、法制审核员和部门人员可以查看统计分析"))


def _params(request):
    rng = queries.parse_range(request.GET.get("from"), request.GET.get("to"))
    period = request.GET.get("period", "day")
    return rng, (period if period in queries.PERIODS else "day")


def _range_text(rng) -> str:
    return f"{rng.start.isoformat()} — {rng.end.isoformat()}"


@login_required
def stats(request):
    _guard(request.user)
    rng, period = _params(request)
    slugs = [s for s in tables.TABLES if s != "efficiency"]
    if queries.is_department_user(request.user):
        slugs = [s for s in slugs if s.startswith("push-")]
    memo = {}  # this page's tables share one read of each rollup
    built = [tables.build(s, request.user, rng, period=period, memo=memo) for s in slugs]
    for table in built:
        table.chart = tables.chart(table)
    return render(request, "analytics/stats.html", {
        "tables": built, "charts": [t.chart for t in built if t.chart],
        "rng": rng, "period": period, "periods": [("day", _("按日")), ("week", _("按周")), ("month", _("按月"))],
        "query": request.GET.urlencode(),
    })


@login_required
def efficiency(request):
    _guard(request.user)
    rng, _period = _params(request)
    data = queries.efficiency(request.user, rng)
    data["chart"]["labels"] = {"overdue": _("逾期率"), "completion": _("办结率")}
    return render(request, "analytics/efficiency.html", {
        "rng": rng, "ranking": data["ranking"], "chart": data["chart"], "query": request.GET.urlencode(),
    })


@login_required
def export(request, slug):
    _guard(request.user)
    if slug not in tables.TABLES:
        raise Http404(slug)
    if queries.is_department_user(request.user) and not slug.startswith(("push-", "efficiency")):
        raise Http404(slug)
    rng, period = _params(request)
    table = tables.build(slug, request.user, rng, period=period)
    body = exports.table_xlsx(table, range_text=_range_text(rng))
    audit.record(AuditEvent.EXPORT, request=request, object_type="analytics.table", object_id=slug, object_repr=table.title,
                 detail={"table": slug, "from": rng.start.isoformat(), "to": rng.end.isoformat(), "period": period,
                         "rows": len(table.rows)})
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''stats-{slug}-{rng.start:%Y%m%d}-{rng.end:%Y%m%d}.xlsx"
    return response


@login_required
def overview_list(request, kind):
    """The rows behind one figure of the leader overview (grid cases, pushed items, clues,
    inspections, visits, warnings), paged, each row a link to the item."""
    if not request.user.has_role(*overview.OVERVIEW_ROLES):
        raise PermissionDenied(_("只有领导和调度员可以查看领导首页的明细"))
    if kind not in overview.LIST_KINDS:
        raise Http404(kind)
    get = request.GET
    scope = overview.scope_for(request.user, bureau=get.get("bureau"), division=get.get("division"))
    w = overview.window()
    period = get.get("period", "") if get.get("period", "") in overview.PERIODS else ""
    due = get.get("due", "") if get.get("due", "") in ("overdue", "soon") else ""
    filters = {"state": get.get("state", "")[:20], "due": due, "period": period, "problems": get.get("problems") == "1"}
    page = paged(request, overview.drill_list(scope, kind, w, **filters), per_page=50)
    return render(request, "analytics/overview_list.html", {
        "kind": kind, "title": overview.list_title(kind, **filters), "page": page, "rows": page.rows,
        "breadcrumbs": overview.breadcrumbs(scope), "today": w.today, "now": timezone.now(),
    })
