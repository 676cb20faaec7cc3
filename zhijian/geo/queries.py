"""Reads for divisions and grids, always scoped by the user's jurisdiction."""
from __future__ import annotations

from django.db.models import Count, Q

from zhijian.core.scoping import jurisdiction_of

from .models import Division, Grid, GridStaff


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
