"""GeoJSON ⇄ shapely helpers for grid polygons (coordinates are GCJ-02 lng/lat degrees)."""
from __future__ import annotations

import math

import numpy as np
import shapely
from django.utils.translation import gettext as _
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.validation import make_valid

POLYGONAL = {"Polygon", "MultiPolygon"}
# 1e-7 degree is about 1 cm: enough for grid boundaries, and keeps stored GeoJSON small.
PRECISION = 1e-7


class GeometryError(ValueError):
    """A geometry that cannot be used as a grid boundary; ``str()`` is a message for users."""


def _check_coordinates(coords, depth: int) -> None:
    """Walk nested coordinate arrays: every position is [lng, lat] of finite numbers in range."""
    if depth == 0:
        if not isinstance(coords, (list, tuple)) or not 2 <= len(coords) <= 3:
            raise GeometryError("坐标点格式错误，应为 [经度, 纬度]")
        lng, lat = coords[0], coords[1]
        for v in (lng, lat):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise GeometryError("坐标值必须是有限的数字")
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise GeometryError(f"坐标超出经纬度范围：[{lng}, {lat}]")
        return
    if not isinstance(coords, (list, tuple)) or not coords:
        raise GeometryError("坐标数组为空或格式错误")
    if depth == 1:  # a linear ring
        if len(coords) < 4:
            raise GeometryError("坐标无效：多边形的每个环至少需要 4 个坐标点")
    for item in coords:
        _check_coordinates(item, depth - 1)


def polygonal_from_geojson(geom: dict) -> tuple[Polygon | MultiPolygon, bool]:
    """Parse a GeoJSON Polygon/MultiPolygon; repair it with make_valid if needed.

    Returns (geometry, repaired). Raises GeometryError with a Chinese message.
    """
    if not isinstance(geom, dict):
        raise GeometryError("缺少几何（geometry）")
    gtype = geom.get("type")
    if not isinstance(gtype, str) or gtype not in POLYGONAL:
        raise GeometryError(f"几何类型 {str(gtype)[:40]} 不支持，只能是 Polygon 或 MultiPolygon")
    coords = geom.get("coordinates")
    depth = 2 if gtype == "Polygon" else 3
    _check_coordinates(coords, depth)
    try:
        # Longitude and latitude only: a height on some positions (and not others) is dropped, not an error.
        g = shape({"type": gtype, "coordinates": _plane(coords, depth)})
    except Exception as exc:  # GEOS refuses some rings; its reason is English, so it is not shown
        raise GeometryError(_("坐标无效：无法由这些坐标构成多边形")) from exc
    if g.is_empty:
        raise GeometryError("几何为空")
    repaired = False
    if not g.is_valid:
        g = polygonal_part(make_valid(g))
        repaired = True
        if g is None or g.is_empty or g.area == 0:
            raise GeometryError("几何无效且无法修复")
    if g.area == 0:
        raise GeometryError("多边形面积为零")
    with np.errstate(divide="ignore", invalid="ignore"):  # a sliver's snapping divides by ~0: it is refused below
        snapped = shapely.set_precision(g, PRECISION)
    if snapped.is_empty or snapped.area == 0:
        raise GeometryError(_("多边形过小：按 %(p)s 度的精度保存后为空") % {"p": PRECISION})
    return g, repaired


def _plane(coords, depth: int):
    """The coordinate arrays with each position cut to [lng, lat] (checked by _check_coordinates)."""
    if depth == 0:
        return [coords[0], coords[1]]
    return [_plane(c, depth - 1) for c in coords]


def polygonal_part(g):
    """The polygons of any geometry (make_valid may return a collection with lines)."""
    if g is None or g.is_empty:
        return None
    if g.geom_type in POLYGONAL:
        return g
    polys = []
    for part in getattr(g, "geoms", []):
        part = polygonal_part(part)
        if part is not None:
            polys.extend(part.geoms if part.geom_type == "MultiPolygon" else [part])
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def to_geojson(g) -> dict:
    """A GeoJSON dict with coordinates snapped to PRECISION (validity kept by GEOS)."""
    g = shapely.set_precision(g, PRECISION)
    g = polygonal_part(g) if not g.is_empty else g
    return _plain(mapping(g))


def _plain(obj):
    if isinstance(obj, (list, tuple)):
        return [_plain(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, float):
        return round(obj, 7)
    return obj


def bbox_of(geom: dict) -> tuple[float, float, float, float] | None:
    """(min_lng, min_lat, max_lng, max_lat) of a GeoJSON geometry, or None if it has no points."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(c):
        if c and isinstance(c[0], (int, float)):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        else:
            for item in c or ():
                walk(item)

    try:
        walk(geom.get("coordinates"))
    except (TypeError, AttributeError, IndexError):
        return None
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """Parse ``minLng,minLat,maxLng,maxLat``; None when absent or malformed."""
    if not text:
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        return None
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        return None
    x0, y0, x1, y1 = parts
    if x0 > x1 or y0 > y1 or not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        return None
    return x0, y0, x1, y1
