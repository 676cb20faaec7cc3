from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from zhijian.core import exports as core_exports
from zhijian.core.api import CODE_NAMES, name_of
from zhijian.core.errors import ApplicationError
from zhijian.core.paging import Page, capped_count, page_number, paged
from zhijian.geo.geometry import parse_bbox
from zhijian.geo.models import Grid
from zhijian.org.choices import REGISTRY_WRITERS

from . import exports, importer, queries, services, timeline, tally
from .forms import SearchForm, UploadForm
from .models import ImportJob, MarketEntity
from .names import industry_names

PER_PAGE = 50
SEARCH_CAP = 1000  # a name search counts its matches up to this; beyond, it asks for a narrower search
COUNT_CAP = 20_000  # filters the tally does not key (industry, grid, a village) are counted up to this
SORT_BELOW = 50_000  # lists up to this size are sorted from their filter's index (``_newest_first``)


def _list_filters(request):
    form = SearchForm(request.GET or None, user=request.user)
    filters = form.filters() if form.is_valid() else {}
    return form, filters, filters.pop("q", "")


@login_required
def entity_list(request):
    """The registry list: paged with a total. Without a name, the total comes from the registry
    tally (division, status, type) or a capped count (industry, grid); with a name, from the
    matches found, counted up to ``SEARCH_CAP``."""
    form, filters, q = _list_filters(request)
    user = request.user
    fuzzy = False
    if q:
        number = page_number(request)
        ids, fuzzy = queries.matching_ids(user, q, want=SEARCH_CAP + 1, **filters)
        total = min(len(ids), SEARCH_CAP)
        number = min(number, max(1, -(-total // PER_PAGE)))
        rows, _more = queries.rows_for(queries.filtered(user, **filters).select_related("grid"), ids, q, fuzzy,
                                       offset=(number - 1) * PER_PAGE, limit=PER_PAGE)
        params = {k: v for k, v in request.GET.items() if k != "page" and v != ""}
        page = Page(rows=rows, number=number, per_page=PER_PAGE, total=total, exact=len(ids) <= SEARCH_CAP, params=params)
    else:
        qs = queries.filtered(user, **filters).select_related("grid")
        if tally.answers(filters, user):
            total = tally.count(user, **filters)
            page = paged(request, _newest_first(qs, total), per_page=PER_PAGE, cap=0, total=lambda: total)
        else:
            counted = capped_count(qs, COUNT_CAP)
            page = paged(request, _newest_first(qs, counted if counted <= COUNT_CAP else SORT_BELOW + 1), per_page=PER_PAGE, cap=COUNT_CAP)
    grid = Grid.objects.scoped(user).filter(pk=filters["grid"]).first() if filters.get("grid") else None
    industries = industry_names({e.industry_code for e in page.rows if e.industry_code})
    for e in page.rows:
        e.industry_name = industries.get(e.industry_code, "")
    return render(request, "entities/list.html", {
        "form": form, "page": page, "fuzzy": fuzzy, "q": q, "grid": grid, "query": request.GET.urlencode(),
        "without_grid": _without(request, "grid"),
    })


def _newest_first(qs, total: int):
    """Newest first. A list of a few thousand (a town, an industry in a county) is read through its
    filter's index and sorted (``id + 0`` keeps the planner from walking the whole primary key
    backwards looking for them, its choice when it underestimates a division prefix); a large one
    walks the primary key, where the first page is found at once."""
    if total <= SORT_BELOW:
        return qs.order_by((F("id") + 0).desc())
    return qs.order_by("-id")


def _without(request, key):
    params = request.GET.copy()
    params.pop(key, None)
    params.pop("page", None)
    return params.urlencode()


@login_required
def entity_export(request):
    """Start a background export of the list as filtered (POST); its page shows progress and the link."""
    if request.method != "POST":
        return redirect(reverse("entities:list") + ("?" + request.GET.urlencode() if request.GET else ""))
    form, filters, q = _list_filters(request)
    params = {**{k: v for k, v in filters.items()}, "q": q}
    job = core_exports.start(user=request.user, kind=exports.KIND, params=params)
    return redirect(core_exports.job_url(job))


@login_required
def entity_detail(request, credit_code):
    entity = MarketEntity.objects.select_related("grid").get_scoped_or_404(request.user, credit_code=credit_code)
    changes = list(entity.changes.select_related("actor")[:50])
    for c in changes:
        c.rows = [(_field_label(k), _field_value(k, v[0]), _field_value(k, v[1])) for k, v in c.changed.items()
                  if isinstance(v, list) and len(v) == 2]
    page = request.GET.get("tl", "1")
    history = timeline.for_entity(entity.pk, page=int(page) if page.isdigit() else 1)
    return render(request, "entities/detail.html", {"entity": entity, "changes": changes, "timeline": history})


def _field_value(name: str, value):
    """A changed value as a person reads it: a choice's label, a code's name (status ``active`` → 存续（在业））."""
    try:
        field = MarketEntity._meta.get_field(name.removesuffix("_id"))
    except Exception:  # a field that no longer exists keeps its stored value
        return value
    if field.choices and value not in (None, ""):
        return dict(field.flatchoices).get(value, value)
    if name in CODE_NAMES and value:
        return name_of(name, value) or value
    return value


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
    header = ["统一社会信用代码", "企业名称", "企业类型", "法定代表人", "注册资本", "成立日期", "登记状态", "注册地址",
              "区划代码", "行业代码", "经度", "纬度", "经营范围"]
    data = core_exports.xlsx_bytes("市场主体", [header])
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
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
