"""Reads for divisions and grids, always scoped by the user's jurisdiction."""
from __future__ import annotations

import threading

from django.db.models import Count, Q

from zhijian.core.scoping import jurisdiction_of

from .geometry import GeometryError, polygonal_from_geojson
from .models import Division, Grid, GridRevision, GridStaff


def division_roots(user):
    """The top of the division tree a user may browse: their jurisdiction's own divisions."""
    prefixes = jurisdiction_of(user)
    if "" in prefixes:
        return Division.objects.filter(level=1)
    return Division.objects.scoped(user).filter(code__in=prefixes)


def division_children(user, parent: Division):
    return Division.objects.scoped(user).filter(parent=parent)


def division_breadcrumb(user, division: Division) -> list[Division]:
    """Ancestors of ``division`` that the user may see, top first (by code prefix)."""
    codes = [division.code[:n] for n in (2, 4, 6, 9) if n < len(division.code)]
    return list(Division.objects.scoped(user).filter(code__in=codes).order_by("level"))


def with_child_counts(qs):
    return qs.annotate(child_count=Count("children"))


def grids_for(user, *, level=None, bbox=None, division: str = "", q: str = ""):
    qs = Grid.objects.scoped(user)
    if level:
        qs = qs.filter(level=level)
    if division:
        qs = qs.filter(division_code__startswith=division)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    if bbox:
        x0, y0, x1, y1 = bbox
        # Boxes that intersect the view.
        qs = qs.filter(min_lng__lte=x1, max_lng__gte=x0, min_lat__lte=y1, max_lat__gte=y0)
    return qs


def grid_feature_collection(grids, *, include_staff: bool = True) -> dict:
    """GeoJSON FeatureCollection for the map (properties: id, code, name, level, count, staff)."""
    grids = list(grids)
    staff: dict[int, list[dict]] = {}
    if include_staff and grids:
        rows = GridStaff.objects.filter(grid__in=[g.pk for g in grids]).select_related("user").order_by("role", "user__full_name")
        for s in rows:
            staff.setdefault(s.grid_id, []).append({"role": s.get_role_display(), "name": str(s.user)})
    features = []
    for g in grids:
        if not g.geometry:
            continue
        features.append({
            "type": "Feature",
            "id": g.pk,
            "geometry": g.geometry,
            "properties": {
                "id": g.pk, "code": g.code, "name": g.name, "level": g.level, "division_code": g.division_code,
                "entity_count": g.entity_count, "staff": staff.get(g.pk, []), "url": g.get_absolute_url(),
            },
        })
    return {"type": "FeatureCollection", "features": features}


# --- centroids and labels (command centre, grid map) ---------------------------------------------

_centroids: dict = {"revision": None, "grids": {}, "divisions": {}}
_centroid_lock = threading.Lock()
# Division code length per level, and the grid level whose outlines make that division's shape.
_LEVEL_LENGTH = {2: 4, 3: 6, 4: 9, 5: 12}


def _label_point(geom) -> tuple[float, float, float] | None:
    """(lng, lat, area) of a grid outline: its centroid, or a point surely inside it when the
    centroid falls outside (a crescent-shaped grid)."""
    try:
        g, _repaired = polygonal_from_geojson(geom)
    except GeometryError:
        return None
    c = g.centroid
    if not g.contains(c):
        c = g.representative_point()
    return round(c.x, 6), round(c.y, 6), g.area


def _build_centroids() -> tuple[dict, dict]:
    grids: dict[int, tuple[float, float]] = {}
    acc: dict[int, dict[str, list[float]]] = {n: {} for n in _LEVEL_LENGTH}
    rows = Grid.objects.filter(geometry__isnull=False).values_list("pk", "level", "division_code", "geometry").iterator(chunk_size=500)
    for pk, level, code, geom in rows:
        point = _label_point(geom)
        if point is None:
            continue
        x, y, area = point
        grids[pk] = (x, y)
        for dlevel, length in _LEVEL_LENGTH.items():
            # Level-1 grids (towns) shape the city, counties and towns; level-2 grids (villages) the villages.
            if (level == 1 and dlevel <= 4 and len(code) >= length) or (level == 2 and dlevel == 5 and len(code) >= length):
                s = acc[dlevel].setdefault(code[:length], [0.0, 0.0, 0.0])
                s[0] += x * area
                s[1] += y * area
                s[2] += area
    divisions = {lvl: {k: (round(s[0] / s[2], 6), round(s[1] / s[2], 6)) for k, s in d.items() if s[2] > 0} for lvl, d in acc.items()}
    return grids, divisions


def _centroid_tables() -> tuple[dict, dict]:
    revision = GridRevision.current()
    with _centroid_lock:
        if _centroids["revision"] != revision:
            _centroids["grids"], _centroids["divisions"] = _build_centroids()
            _centroids["revision"] = revision
        return _centroids["grids"], _centroids["divisions"]


def grid_centroids() -> dict[int, tuple[float, float]]:
    """{grid id: (lng, lat)} of every grid with an outline (GCJ-02); cached per grid revision."""
    return _centroid_tables()[0]


def division_centroids(level: int) -> dict[str, tuple[float, float]]:
    """{division code: (lng, lat)} for divisions of ``level`` (2 city … 5 village): the
    area-weighted centroid of the grid outlines that make up the division (level-1 grids for
    city, county and town; level-2 grids for villages). Cached per grid revision."""
    return _centroid_tables()[1].get(level, {})


def division_labels(user, level: int, bbox=None) -> list[dict]:
    """Names to draw at the centroids of the user's divisions of ``level`` (inside ``bbox``)."""
    points = division_centroids(level)
    if not points:
        return []
    inside = [c for c, (x, y) in points.items()
              if bbox is None or (bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3])]
    names = dict(Division.objects.scoped(user).filter(code__in=inside).values_list("code", "name")) if len(inside) <= 5000 else \
        {c: n for c, n in Division.objects.scoped(user).filter(level=level).values_list("code", "name") if c in points}
    return [{"code": c, "name": names[c], "lng": points[c][0], "lat": points[c][1]} for c in sorted(names) if c in points]


# --- division picker ------------------------------------------------------------------------------

PATH_SEPARATOR = " › "


def division_paths(codes) -> dict[str, str]:
    """{code: "济南市 › 历下区 › 泉城路街道"}: names from the city down (the province is left out)."""
    codes = [c for c in codes if c]
    wanted = {c[:n] for c in codes for n in (4, 6, 9, 12) if n <= len(c)}
    names = {}
    wanted = sorted(wanted)
    for i in range(0, len(wanted), 900):
        names.update(Division.objects.filter(code__in=wanted[i:i + 900]).values_list("code", "name"))
    out = {}
    for c in codes:
        parts = []
        for n in (4, 6, 9, 12):
            if n <= len(c) and c[:n] in names:
                name = names[c[:n]]
                if not parts or parts[-1] != name:  # 东莞市 › 东莞市 (a city without counties) once
                    parts.append(name)
        out[c] = PATH_SEPARATOR.join(parts) or names.get(c, c)
    return out


def division_search(user, q: str, *, limit: int = 20, max_level: int = 5) -> list[dict]:
    """Divisions in the user's jurisdiction whose name contains ``q`` (or whose code starts with
    it), coarse levels first: [{code, name, level, path}]."""
    q = (q or "").strip()
    qs = Division.objects.scoped(user).filter(level__lte=max_level)
    if not q:
        rows = list(division_roots(user).filter(level__lte=max_level).order_by("level", "code")[:limit])
    elif q.isdigit():
        rows = list(qs.filter(code__startswith=q).order_by("level", "code")[:limit])
    else:
        rows = list(qs.filter(name__icontains=q).order_by("level", "code")[:limit])
    paths = division_paths([d.code for d in rows])
    return [{"code": d.code, "name": d.name, "level": d.level, "level_display": d.get_level_display(), "path": paths[d.code]}
            for d in rows]


def division_choices(user, *, max_level: int = 4, limit: int = 600) -> list[tuple[str, str]]:
    """The picker's choices without JavaScript: the user's divisions down to ``max_level``
    (towns), each named by its path; capped at ``limit`` (the search box reaches the rest)."""
    rows = list(Division.objects.scoped(user).filter(level__lte=max_level).order_by("code").values_list("code", flat=True)[:limit])
    paths = division_paths(rows)
    return [(c, paths[c]) for c in rows]
