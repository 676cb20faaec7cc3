import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from zhijian.core.errors import ApplicationError
from zhijian.geo.geometry import parse_bbox
from zhijian.geo.models import Grid
from zhijian.org.choices import REGISTRY_WRITERS

from . import exports, importer, queries, services
from .choices import EntityStatus, EntityType
from .forms import SearchForm, UploadForm
from .models import ImportJob, MarketEntity

PAGE = 30


@login_required
def entity_list(request):
    form = SearchForm(request.GET or None)
    filters = form.filters() if form.is_valid() else {}
    q = filters.pop("q", "")
    page = max(1, int(request.GET.get("page", "1") or 1)) if str(request.GET.get("page", "1")).isdigit() else 1
    result = queries.search(request.user, q, limit=PAGE, offset=(page - 1) * PAGE, **filters)
    return render(request, "entities/list.html", {
        "form": form, "result": result, "page": page, "query": request.GET.urlencode(),
        "next_query": _with_page(request, page + 1), "prev_query": _with_page(request, page - 1),
        "statuses": EntityStatus.choices, "types": EntityType.choices,
    })


def _with_page(request, page):
    params = request.GET.copy()
    params["page"] = page
    return params.urlencode()


@login_required
def entity_export(request):
    form = SearchForm(request.GET or None)
    filters = form.filters() if form.is_valid() else {}
    q = filters.pop("q", "")
    if q:
        ids = [e.pk for e in queries.search(request.user, q, limit=exports.EXPORT_LIMIT, **filters).entities]
        qs = MarketEntity.objects.scoped(request.user).filter(pk__in=ids)
    else:
        qs = queries.filtered(request.user, **filters)
    response = HttpResponse(exports.entities_xlsx(qs), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = "attachment; filename*=UTF-8''entities.xlsx"
    return response


@login_required
def entity_detail(request, credit_code):
    entity = MarketEntity.objects.select_related("grid").get_scoped_or_404(request.user, credit_code=credit_code)
    changes = list(entity.changes.select_related("actor")[:50])
    for c in changes:
        c.rows = [(_field_label(k), v[0], v[1]) for k, v in c.changed.items() if isinstance(v, list) and len(v) == 2]
    return render(request, "entities/detail.html", {"entity": entity, "changes": changes})


def _field_label(name: str) -> str:
    try:
        return str(MarketEntity._meta.get_field(name.removesuffix("_id")).verbose_name)
    except Exception:  # a field that no longer exists keeps its stored name
        return name


@login_required
def import_upload(request):
    can_write = request.user.has_role(*REGISTRY_WRITERS)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_write:
            messages.error(request, _("您没有导入市场主体的权限"))
        elif form.is_valid():
            try:
                job = services.import_upload(actor=request.user, upload=form.cleaned_data["file"], dry_run=form.cleaned_data["dry_run"])
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                return redirect("entities:import_job", job.pk)
    jobs = ImportJob.objects.scoped(request.user).filter(created_by=request.user)[:20]
    return render(request, "entities/import.html", {"form": form, "jobs": jobs, "can_write": can_write})


@login_required
def import_job(request, pk):
    job = ImportJob.objects.get_scoped_or_404(request.user, pk=pk)
    template = "entities/_job_status.html" if request.htmx else "entities/import_job.html"
    return render(request, template, {"job": job, "errors": [e for e in job.errors if not e.get("warning")][:200]})


@login_required
def import_job_report(request, pk):
    job = ImportJob.objects.get_scoped_or_404(request.user, pk=pk)
    summary = importer.Summary()
    for e in job.errors:
        target = summary.warnings if e.get("warning") else summary.errors
        target.append(importer.RowError(e["row"], e["column"], e["value"], e["message"], e.get("credit_code", "")))
    response = HttpResponse(importer.error_report_csv(summary), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''import-{job.pk}-errors.csv"
    return response


@login_required
def import_template(request):
    """A blank template with Zhijian's own headers (the registration files' headers work too)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "市场主体"
    ws.append(["统一社会信用代码", "企业名称", "企业类型", "法定代表人", "注册资本", "成立日期", "登记状态", "注册地址",
               "区划代码", "行业代码", "经度", "纬度", "经营范围"])
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = "attachment; filename*=UTF-8''entity-template.xlsx"
    return response


@login_required
@require_GET
def map_points(request):
    """Entities with coordinates in ``bbox`` (required), scoped; at most ``limit`` (≤ 5000): the
    grid map's point layer, as GeoJSON."""
    bbox = parse_bbox(request.GET.get("bbox"))
    if bbox is None:
        return JsonResponse({"error": {"code": "bad_bbox", "message": _("bbox 应为 最小经度,最小纬度,最大经度,最大纬度")}}, status=400)
    try:
        limit = int(request.GET.get("limit", queries.MAP_POINT_LIMIT))
    except ValueError:
        limit = queries.MAP_POINT_LIMIT
    response = JsonResponse(queries.map_points(request.user, bbox, limit=limit),
                            json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})
    response["Content-Type"] = "application/geo+json; charset=utf-8"
    return response


@login_required
@require_GET
def grid_entities(request, grid_id: int):
    """The first entities of a grid (the grid page loads this list with htmx)."""
    grid = Grid.objects.get_scoped_or_404(request.user, pk=grid_id)
    return render(request, "entities/_grid_entities.html", {"entities": queries.in_grid(request.user, grid.pk), "grid_id": grid.pk})
