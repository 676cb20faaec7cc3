"""Grid pages: thin views over queries and services."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from zhijian.clues.choices import ClueKind
from zhijian.core.errors import ApplicationError
from zhijian.core.paging import capped_count, paged
from zhijian.core.scoping import in_jurisdiction
from zhijian.geo.basemap import tile_config
from zhijian.geo.geometry import parse_bbox
from zhijian.geo.models import Grid
from zhijian.org.models import User

from . import alerts, cases, orders, queries, reports, routing, visits
from . import command as command_reads
from .duty import duty_end, duty_start, live_positions, position_min_interval, position_report
from .choices import MATTER_ORDER, OPEN_STATES, CaseState, ItemResult, Matter, WarningLevel
from .models import DutyStatus, EmergencyOrder, GridCase, Warning
from .procedure import GRID_CASE, VISITORS

COMMAND_ROLES = ("dispatcher", "leader")

SECTION_ROWS = 100  # rows shown per dashboard section; its total is always counted
TOTAL_CAP = 100_000


def _need_command(user):
    if not user.has_role(*COMMAND_ROLES):
        raise PermissionDenied(_("只有调度员和领导可以进入指挥调度中心"))


def _case(request, pk):
    return GridCase.objects.select_related("entity", "grid", "assignee", "bureau", "clue", "routed_bureau", "routed_department").get_scoped_or_404(
        request.user, pk=pk)


@login_required
def index(request):
    user = request.user
    state = request.GET.get("state", "")
    state = state if state in CaseState.values else ""
    mine = queries.cases(user, mine=True).filter(state__in=[CaseState.FIRST_VISIT, CaseState.RECTIFYING, CaseState.JOINT])
    commander = user.has_role(*COMMAND_ROLES)
    pending = queries.cases(user, state=CaseState.PENDING_ASSIGN) if commander else None
    overdue = queries.cases(user, overdue=True) if commander else None
    ctx = {
        # Each section shows its first rows and its true total (never a silent cut).
        "mine": mine[:SECTION_ROWS], "mine_total": capped_count(mine, TOTAL_CAP),
        "pending": pending[:SECTION_ROWS] if commander else [], "pending_total": capped_count(pending, TOTAL_CAP) if commander else 0,
        "overdue": overdue[:SECTION_ROWS] if commander else [], "overdue_total": capped_count(overdue, TOTAL_CAP) if commander else 0,
        "page": paged(request, queries.cases(user, state=state), per_page=50) if state else None,
        "state": state, "states": CaseState.choices, "is_commander": commander,
        "today": timezone.localdate(), "warnings": queries.my_warnings(user)[:20], "section_rows": SECTION_ROWS,
    }
    ctx["listing"] = ctx["page"].rows if state else []
    return render(request, "grid/index.html", ctx)


@login_required
def case_detail(request, pk):
    case = _case(request, pk)
    actions = cases.allowed_actions(case, request.user)
    ctx = {"case": case, "actions": actions, "today": timezone.localdate(), "clock": cases.step_clock(case) if case.is_open else None,
           "steps": GRID_CASE.timeline(case), "visits": case.visits.prefetch_related("items").select_related("officer"),
           "matters": [(m, Matter(m).label) for m in MATTER_ORDER], "results": ItemResult.choices,
           "problems": [(m, Matter(m).label) for m in visits.open_problems(case)] if case.state == CaseState.RECTIFYING else []}
    if "assign" in actions:
        ctx["grids"] = Grid.objects.scoped(request.user).filter(division_code__startswith=case.division_code[:9]).order_by("level", "code")[:200]
        ctx["people"] = [p for p in User.objects.scoped(request.user).filter(is_active=True, roles__code__in=VISITORS).distinct()
                         .order_by("username")[:300] if in_jurisdiction(p, case.division_code)]
    if case.state == CaseState.JOINT:
        ctx["route_preview"] = routing.route_for(case)
    return render(request, "grid/case_detail.html", ctx)


def _items_from(post, matters):
    return {m: (post.get(f"result_{m}", ""), post.get(f"note_{m}", "")) for m in matters if post.get(f"result_{m}")}


def _date(raw):
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ApplicationError(_("日期格式无效")) from None


@login_required
@require_POST
def case_action(request, pk, action):
    case = _case(request, pk)
    p = request.POST
    try:
        if action == "assign":
            grid = Grid.objects.scoped(request.user).filter(pk=p.get("grid") or case.grid_id or 0).first()
            assignee = User.objects.scoped(request.user).filter(pk=p.get("assignee")).first() if p.get("assignee") else None
            cases.case_assign(actor=request.user, case=case, grid=grid, assignee=assignee)
            messages.success(request, _("已分派"))
        elif action == "visit":
            case = cases.visit_first(actor=request.user, case=case, items=_items_from(p, MATTER_ORDER), note=p.get("note", ""),
                                        lng=p.get("lng") or None, lat=p.get("lat") or None, notice_deadline=_date(p.get("notice_deadline")))
            messages.success(request, _("已登记首次走访") + ("，" + _("书面告知书已生成：%(n)s") % {"n": case.notice_number} if case.notice_number else ""))
        elif action == "recheck":
            cases.recheck(actor=request.user, case=case, items=_items_from(p, MATTER_ORDER), note=p.get("note", ""),
                             lng=p.get("lng") or None, lat=p.get("lat") or None)
            messages.success(request, _("已登记复查"))
        elif action == "joint":
            cases.joint_handle(actor=request.user, case=case, resolved=p.get("resolved") == "1", note=p.get("note", ""))
            messages.success(request, _("已登记联合处置结果"))
        elif action == "cancel":
            cases.case_cancel(actor=request.user, case=case, reason=p.get("reason", ""))
            messages.success(request, _("已撤销"))
        else:
            raise Http404()
    except ApplicationError as e:
        messages.error(request, e.message)
    return redirect("grid:case_detail", pk=case.pk)


@login_required
def notice_pdf(request, pk):
    case = _case(request, pk)
    if not case.notice_pdf_id:
        raise Http404()
    return FileResponse(open(case.notice_pdf.path, "rb"), content_type="application/pdf", filename=f"{case.number}-书面告知书.pdf")


# --- G2/G4: clues and the helpers' page ------------------------------------------------------------


@login_required
def report(request):
    """协管员、信息员 (and officers) report a clue with photo and position; they see their area's items.
    The form carries a client key made when it is shown: sending it twice reports once. A refused
    report is shown again with its message and HTTP 400."""
    status = 200
    if request.method == "POST":
        p = request.POST
        try:
            clue = reports.clue_report(actor=request.user, kind=p.get("kind", ClueKind.UNLICENSED), place_name=p.get("place_name", ""),
                                       address=p.get("address", ""), description=p.get("description", ""), photo=request.FILES.get("photo"),
                                       lng=p.get("lng"), lat=p.get("lat"), accuracy=p.get("accuracy"), system="wgs84",
                                       client_key=p.get("client_key", ""), via="web")
            messages.success(request, _("线索已报告，已进入网格“%(grid)s”的事项") % {"grid": clue.grid.name})
            return redirect("grid:report")
        except ApplicationError as e:
            messages.error(request, e.message)
            status = e.status
    return render(request, "grid/report.html", {"kinds": ClueKind.choices, "area": queries.area_items(request.user)[:100],
                                                "clues": queries.my_clues(request.user)[:20], "today": timezone.localdate(),
                                                "client_key": uuid.uuid4().hex}, status=status)


@login_required
def clue_detail(request, pk):
    clue = queries.reported_clue(request.user, pk)
    return render(request, "grid/clue_detail.html", {"clue": clue, "case": reports.case_of(clue), "photos": clue.photos()})


@login_required
def clue_photo(request, pk, n=0):
    photos = queries.reported_clue(request.user, pk).photos()
    if not 0 <= n < len(photos):
        raise Http404()
    return FileResponse(open(photos[n].path, "rb"))


# --- G3: duty page on the phone, command centre ----------------------------------------------------


@login_required
def duty(request):
    status = DutyStatus.objects.filter(user=request.user).first()
    return render(request, "grid/duty.html", {"status": status, "orders": queries.my_orders(request.user),
                                              "interval": position_min_interval()})


@login_required
@require_POST
def duty_toggle(request, action):
    try:
        if action == "start":
            duty_start(actor=request.user, consent=request.POST.get("consent") == "1")
            messages.success(request, _("已上岗，正在共享位置"))
        else:
            duty_end(actor=request.user)
            messages.success(request, _("已下岗，位置共享已停止"))
    except ApplicationError as e:
        messages.error(request, e.message)
    return redirect("grid:duty")


@login_required
@require_POST
def position(request):
    try:
        status = position_report(actor=request.user, lng=request.POST.get("lng"), lat=request.POST.get("lat"),
                                          accuracy=request.POST.get("accuracy"), system="wgs84")
    except ApplicationError as e:
        response = JsonResponse({"error": {"code": e.code, "message": e.message, "detail": e.extra}},
                                status=403 if e.code == "not_on_duty" else e.status)
        if e.code == "rate_limited":
            response["Retry-After"] = str(e.extra["retry_after"])
        return response
    return JsonResponse({"ok": True, "lng": status.lng, "lat": status.lat, "reported_at": status.reported_at.isoformat()})


@login_required
def my_orders_partial(request):
    return render(request, "grid/_my_orders.html", {"orders": queries.my_orders(request.user)})


@login_required
@require_POST
def order_ack(request, pk):
    order = EmergencyOrder.objects.filter(pk=pk, recipients__officer=request.user).first()
    if order is None:
        raise Http404()
    try:
        orders.order_acknowledge(actor=request.user, order=order)
    except ApplicationError as e:
        messages.error(request, e.message)
    if request.headers.get("HX-Request"):
        return my_orders_partial(request)
    return redirect("grid:duty")


@login_required
def command(request):
    _need_command(request.user)
    config = {
        "gridsUrl": reverse("geo:grids_geojson"), "feedUrl": reverse("grid:command_feed"),
        "countsUrl": reverse("grid:command_counts"), "itemsUrl": reverse("grid:command_items"),
        "labelsUrl": reverse("geo:division_labels"), "bounds": command_reads.bounds(request.user), **tile_config(),
        # Seconds between polls of the change feed (the counts reload only when it reports a change).
        "poll": settings.COMMAND_POLL_SECONDS * 1000, "itemLimit": command_reads.ITEM_LIMIT,
        # Zoom at which each layer starts: county counts below "town", … individual items from "items".
        "zooms": {"town": 10, "village": 12, "items": 14},
        "labels": {"officers": _("在岗人员"), "open": _("在办事项"), "overdue": _("逾期事项"), "pick": _("已选择事发位置"),
                   "due": _("期限"), "reported": _("上报"), "loading": _("正在加载地图数据…"), "failed": _("加载失败，稍后自动重试"),
                   "tooMany": _("当前范围内有 %(n)s 件在办事项，超过 %(limit)s 件，显示各网格的数量；放大地图可查看每一件。"),
                   "items": _("当前范围内 %(n)s 件在办事项"), "unplaced": _("另有 %(n)s 件所在区域无边界，未在地图上标出"),
                   "unlocated": _("%(n)s 件无位置"), "updated": _("更新于 %(t)s"),
                   "level": {"county": _("按区县统计"), "town": _("按乡镇街道统计"), "village": _("按村社区网格统计"), "items": _("逐件显示")}},
    }
    return render(request, "grid/command.html", {"config": config, "orders": queries.recent_orders(request.user),
                                                 "totals": command_reads.totals(request.user)})


def _conditional_json(request, data: dict, etag: str | None = None) -> HttpResponse:
    """JSON with an ETag; 304 when the client already holds it (If-None-Match)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"%s"' % (etag or hashlib.sha1(body).hexdigest()[:20])
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


def _bbox_or_400(request, required=False):
    raw = request.GET.get("bbox")
    bbox = parse_bbox(raw)
    if (raw or required) and bbox is None:
        return None, JsonResponse({"error": {"code": "bad_bbox", "message": _("bbox 应为 最小经度,最小纬度,最大经度,最大纬度")}}, status=400)
    return bbox, None


@login_required
def command_counts(request):
    """True totals and open/overdue counts per area (``level`` county|town|village|grid|city),
    optionally inside ``bbox``. ETag: a second call without changes answers 304."""
    _need_command(request.user)
    level = request.GET.get("level", "county")
    if level not in (*command_reads.AREA_LEVELS, "grid"):
        level = "county"
    bbox, error = _bbox_or_400(request)
    if error:
        return error
    tag = command_reads.stamp(request.user) + f"-{level}-{request.GET.get('bbox', '')}"
    tag = hashlib.sha1(tag.encode()).hexdigest()[:20]
    if f'"{tag}"' in request.headers.get("If-None-Match", ""):
        return _conditional_json(request, {}, tag)
    return _conditional_json(request, {"level": level, "totals": command_reads.totals(request.user),
                                       "areas": command_reads.area_counts(request.user, level, bbox)}, tag)


@login_required
def command_items(request):
    """Open items with a position inside ``bbox`` (required): every one of them up to ``limit``
    (at most 500), otherwise ``truncated`` with the total and no rows."""
    _need_command(request.user)
    bbox, error = _bbox_or_400(request, required=True)
    if error:
        return error
    try:
        limit = max(1, min(command_reads.ITEM_LIMIT, int(request.GET.get("limit", command_reads.ITEM_LIMIT))))
    except ValueError:
        limit = command_reads.ITEM_LIMIT
    return _conditional_json(request, command_reads.items_in(request.user, bbox, limit))


@login_required
def command_feed(request):
    """What changed since ``since`` (the cursor of the previous answer): cases written since then
    and the on-duty officers' positions. Without ``since``: the cursor and the officers. ETag:
    nothing new answers 304. Polled by static/grid/command.js."""
    _need_command(request.user)
    raw = request.GET.get("since")
    since = command_reads.parse_cursor(raw)
    if raw and since is None:
        return JsonResponse({"error": {"code": "bad_cursor", "message": _("游标无效")}}, status=400)
    data = command_reads.changes(request.user, since)
    data["officers"] = command_reads.officers(request.user)
    return _conditional_json(request, data)


@login_required
def command_orders(request):
    _need_command(request.user)
    return render(request, "grid/_orders.html", {"orders": queries.recent_orders(request.user)})


@login_required
@require_POST
def order_new(request):
    _need_command(request.user)
    p = request.POST
    try:
        order = orders.order_issue(actor=request.user, title=p.get("title", ""), message=p.get("message", ""), lng=p.get("lng") or None,
                                     lat=p.get("lat") or None, wanted=p.get("wanted") or 0)
        messages.success(request, _("应急指令已下达给 %(n)s 人") % {"n": order.recipients.count()})
    except ApplicationError as e:
        messages.error(request, e.message)
    return redirect("grid:command")


@login_required
def order_detail(request, pk):
    order = EmergencyOrder.objects.select_related("issued_by").get_scoped_or_404(request.user, pk=pk)
    return render(request, "grid/order_detail.html", {"order": order, "recipients": order.recipients.select_related("officer")})


# --- C3: warnings ---------------------------------------------------------------------------------


@login_required
def warnings_page(request):
    user = request.user
    mine = queries.my_warnings(user)
    ctx = {"mine": mine[:SECTION_ROWS], "mine_total": capped_count(mine, TOTAL_CAP), "levels": WarningLevel.choices,
           "section_rows": SECTION_ROWS}
    if user.has_role(*COMMAND_ROLES):
        ctx["page"] = paged(request, queries.area_warnings(user), per_page=50)
        ctx["area"] = ctx["page"].rows
    return render(request, "grid/warnings.html", ctx)


@login_required
@require_POST
def warning_ack(request, pk):
    warning = Warning.objects.filter(pk=pk).first()
    if warning is None or not (warning.recipient_id == request.user.pk or Warning.objects.scoped(request.user).filter(pk=pk).exists()):
        raise Http404()
    try:
        alerts.warning_acknowledge(actor=request.user, warning=warning)
    except ApplicationError as e:
        messages.error(request, e.message)
    return redirect("grid:warnings")
