"""Pages and GeoJSON endpoints for divisions and grids. Thin: parse, query (scoped), render."""
from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_GET

from zhijian.core.scoping import jurisdiction_of

from . import queries
from .basemap import tile_config
from .geometry import parse_bbox
from .models import Division, Grid, GridLevel, GridRole, GridStaff
from .widgets import DivisionField


def _geojson(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})
    response["Content-Type"] = "application/geo+json; charset=utf-8"
    return response


def _level(value) -> int | None:
    return int(value) if value in ("1", "2") else None


@login_required
@require_GET
def grid_map(request):
    config = {
        "gridsUrl": reverse("geo:grids_geojson"),
        "entitiesUrl": reverse("entities:map_points"),
        "labelsUrl": reverse("geo:division_labels"),
        **tile_config(),
        "level": _level(request.GET.get("level")) or 1,
        "labels": {
            "entities": _("主体数"), "staff": _("网格人员"), "none": _("暂无"), "detail": _("网格详情"),
            "legend": _("主体数（图例）"), "truncated": _("当前视野主体过多，仅显示部分，请放大地图"),
            "level1": _("一级网格"), "level2": _("二级网格"), "points": _("主体点位"), "noGrids": _("辖区内暂无网格边界"),
        },
    }
    return render(request, "geo/map.html", {"config": config})


@login_required
@require_GET
def grids_geojson(request):
    """Grids of the user's jurisdiction. ``level`` (1|2), ``bbox`` and ``division`` narrow it."""
    bbox = parse_bbox(request.GET.get("bbox"))
    if request.GET.get("bbox") and bbox is None:
        return JsonResponse({"error": {"code": "bad_bbox", "message": _("bbox 应为 最小经度,最小纬度,最大经度,最大纬度")}}, status=400)
    grids = queries.grids_for(
        request.user, level=_level(request.GET.get("level")), bbox=bbox, division=request.GET.get("division", "").strip()
    ).order_by("level", "code")
    return _geojson(queries.grid_feature_collection(grids))


@login_required
@require_GET
def grid_geojson(request, pk: int):
    grid = Grid.objects.get_scoped_or_404(request.user, pk=pk)
    return _geojson(queries.grid_feature_collection([grid]))


@login_required
@require_GET
def entities_geojson(request):
    """The map's entity points are the registry's (``entities:map_points``; geo sits below
    entities). This name stays as a redirect while other apps' pages still reverse it."""
    target = reverse("entities:map_points")
    return redirect(f"{target}?{request.GET.urlencode()}" if request.GET else target)


@login_required
@require_GET
def division_labels(request):
    """Division names at the centroids of their grid outlines, for maps without a base map:
    ``level`` 2 city … 5 village, ``bbox`` narrows it; only the user's divisions."""
    bbox = parse_bbox(request.GET.get("bbox"))
    if request.GET.get("bbox") and bbox is None:
        return JsonResponse({"error": {"code": "bad_bbox", "message": _("bbox 应为 最小经度,最小纬度,最大经度,最大纬度")}}, status=400)
    level = request.GET.get("level", "3")
    level = int(level) if level in ("2", "3", "4", "5") else 3
    return JsonResponse({"level": level, "labels": queries.division_labels(request.user, level, bbox)},
                        json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def division_search(request):
    """The division picker's search (``q``: part of a name, or a code prefix): at most 20 of the
    user's divisions with their path, e.g. 济南市 › 历下区 › 泉城路街道."""
    try:
        max_level = min(5, max(1, int(request.GET.get("max_level", "5"))))
    except ValueError:
        max_level = 5
    return JsonResponse({"results": queries.division_search(request.user, request.GET.get("q", "")[:50], max_level=max_level)},
                        json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def divisions(request):
    """Browse the division tree inside the user's jurisdiction, or search it by name/code."""
    q = request.GET.get("q", "").strip()
    parent = None
    breadcrumb = []
    if q:
        rows = Division.objects.scoped(request.user).filter(name__icontains=q) if not q.isdigit() else Division.objects.scoped(request.user).filter(code__startswith=q)
        rows = rows.order_by("level", "code")
    elif request.GET.get("parent"):
        parent = Division.objects.get_scoped_or_404(request.user, code=request.GET["parent"])
        breadcrumb = queries.division_breadcrumb(request.user, parent)
        rows = queries.division_children(request.user, parent)
    else:
        rows = queries.division_roots(request.user)
    page = Paginator(queries.with_child_counts(rows).order_by("level", "code"), 100).get_page(request.GET.get("page"))
    return render(request, "geo/divisions.html", {"page": page, "parent": parent, "breadcrumb": breadcrumb, "q": q,
                                                  "has_scope": bool(jurisdiction_of(request.user))})


@login_required
@require_GET
def grid_list(request):
    level = _level(request.GET.get("level"))
    division = request.GET.get("division", "").strip()
    q = request.GET.get("q", "").strip()
    grids = queries.grids_for(request.user, level=level, division=division, q=q).defer("geometry").order_by("division_code", "code")
    page = Paginator(grids, 50).get_page(request.GET.get("page"))
    supervisors: dict[int, list[str]] = {}
    for s in GridStaff.objects.filter(grid__in=[g.pk for g in page.object_list], role=GridRole.SUPERVISOR).select_related("user"):
        supervisors.setdefault(s.grid_id, []).append(str(s.user))
    rows = [(g, "、".join(supervisors.get(g.pk, []))) for g in page.object_list]
    picker = DivisionFilter({"division": division}, user=request.user)
    return render(request, "geo/grid_list.html", {"page": page, "rows": rows, "level": level, "division": division, "q": q,
                                                  "levels": GridLevel.choices, "picker": picker})


class DivisionFilter(forms.Form):
    """A list's division filter, picked by name (the search box, or a plain select without JS)."""

    division = DivisionField(label=gettext_lazy("区划"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division"].set_user(user, self.data.get("division") or "")


@login_required
@require_GET
def grid_detail(request, pk: int):
    grid = Grid.objects.get_scoped_or_404(request.user, pk=pk)
    staff = grid.staff.select_related("user").order_by("role")
    children = Grid.objects.scoped(request.user).filter(parent=grid).defer("geometry").order_by("code")
    division = Division.objects.filter(code=grid.division_code).first()
    return render(request, "geo/grid_detail.html", {
        "grid": grid, "staff": staff, "children": children, "division": division,
        "map_config": {"geojsonUrl": reverse("geo:grid_geojson", args=[grid.pk]), **tile_config()},
    })
