"""Placing market entities in grids (网格落位).

Rule (DOMAIN F2): an entity is placed by its coordinates, else by its address's division.

1. Point in polygon: the level-2 grid containing the point (boundary included), else the level-1
   grid containing it. Where polygons overlap, the smallest one wins, then the lowest code.
2. Otherwise the grid whose ``division_code`` is the longest prefix of the entity's division code
   (level 2 before level 1 on equal length, then the lowest code).

Coordinates are GCJ-02 (see ``zhijian.geo.coords`` to convert phone GPS positions).

Each process keeps an in-memory index (a shapely 2 STRtree per grid level plus a division-code
map). It is rebuilt when ``GridRevision`` — a random stamp every grid write replaces — differs from the
revision the index was built from; checking it costs one primary-key query per call/batch.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import shape
from django.db.models import F, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from .models import Grid, GridRevision

BATCH = 2000


@dataclass
class _LevelIndex:
    tree: shapely.STRtree
    ids: np.ndarray
    # Sort key per polygon: smaller area first, then code (stable, deterministic ties).
    rank: np.ndarray


@dataclass
class _Index:
    revision: int
    levels: list[_LevelIndex] = field(default_factory=list)  # level 2 first, then level 1
    # division_code -> grid ids, best first (level 2 before 1, then lowest code)
    by_division: dict[str, list[int]] = field(default_factory=dict)
    division_lengths: tuple[int, ...] = ()
    grid_division: dict[int, str] = field(default_factory=dict)
    regions: dict[str, object] = field(default_factory=dict)  # prefix -> prepared outline (or None), built on demand
    town_geoms: dict[str, list] = field(default_factory=dict)  # town code -> its grids' polygons, built on first use


_lock = threading.Lock()
_index: _Index | None = None


def _build(revision: int) -> _Index:
    rows = list(Grid.objects.order_by("-level", "code").values_list("id", "code", "level", "division_code", "geometry"))
    index = _Index(revision=revision)
    per_level: dict[int, list[tuple[int, str, object]]] = defaultdict(list)
    for gid, code, level, division_code, geometry in rows:
        index.by_division.setdefault(division_code, []).append(gid)
        index.grid_division[gid] = division_code
        if geometry:
            try:
                geom = shape(geometry)
            except Exception:  # a hand-edited bad row must not stop placement of everything else
                continue
            if not geom.is_empty:
                per_level[level].append((gid, code, geom))
    index.division_lengths = tuple(sorted({len(c) for c in index.by_division}, reverse=True))
    for level in sorted(per_level, reverse=True):
        items = per_level[level]
        geoms = np.array([g for _, _, g in items], dtype=object)
        areas = shapely.area(geoms)
        order = np.lexsort((np.array([c for _, c, _ in items]), areas))
        rank = np.empty(len(items), dtype=np.int64)
        rank[order] = np.arange(len(items))
        index.levels.append(_LevelIndex(tree=shapely.STRtree(geoms), ids=np.array([i for i, _, _ in items], dtype=np.int64), rank=rank))
    return index


def _current_index() -> _Index:
    global _index
    revision = GridRevision.current()
    index = _index
    if index is not None and index.revision == revision:
        return index
    with _lock:
        if _index is None or _index.revision != revision:
            _index = _build(revision)
        return _index


def invalidate() -> None:
    """Drop this process's index (the next call rebuilds it)."""
    global _index
    with _lock:
        _index = None


def _by_division(index: _Index, division_code: str | None, exclude: frozenset[int] = frozenset()) -> int | None:
    if not division_code:
        return None
    for n in index.division_lengths:
        if n <= len(division_code):
            for gid in index.by_division.get(division_code[:n], ()):
                if gid not in exclude:
                    return gid
    return None


def _points_in_grids(index: _Index, lngs: np.ndarray, lats: np.ndarray, exclude: frozenset[int] = frozenset()) -> np.ndarray:
    """Grid id (or -1) for each point, level 2 first, vectorised with STRtree.query."""
    result = np.full(len(lngs), -1, dtype=np.int64)
    todo = np.flatnonzero(~(np.isnan(lngs) | np.isnan(lats)))
    for level in index.levels:
        if not len(todo):
            break
        pts = shapely.points(lngs[todo], lats[todo])
        pairs = level.tree.query(pts, predicate="intersects")
        if exclude and pairs.shape[1]:
            pairs = pairs[:, ~np.isin(level.ids[pairs[1]], list(exclude))]
        if pairs.shape[1]:
            # For each point keep the best-ranked polygon: sort by (point, rank), take the first.
            order = np.lexsort((level.rank[pairs[1]], pairs[0]))
            pt, poly = pairs[0][order], pairs[1][order]
            first = np.ones(len(pt), dtype=bool)
            first[1:] = pt[1:] != pt[:-1]
            result[todo[pt[first]]] = level.ids[poly[first]]
        todo = todo[result[todo] < 0]
    return result


def locate_id(lng: float | None, lat: float | None, division_code: str | None) -> int | None:
    """The id of the grid for one position/division (see the module rule), or None."""
    return locate_many([(lng, lat, division_code)])[0]


def locate(lng: float | None, lat: float | None, division_code: str):
    """The Grid for one entity (geometry deferred), or None when no grid matches."""
    gid = locate_id(lng, lat, division_code)
    if gid is None:
        return None
    return Grid.objects.defer("geometry").filter(pk=gid).first()


def locate_many(points: Sequence[tuple[float | None, float | None, str | None]], *,
                exclude: Iterable[int] = ()) -> list[int | None]:
    """Bulk form of :func:`locate_id` for imports: ``[(lng, lat, division_code), …]`` → grid ids.

    One revision check and one vectorised STRtree query per level for the whole batch.
    ``exclude``: grid ids to place as if they did not exist (a grid about to be deleted).
    """
    points = list(points)
    if not points:
        return []
    skip = frozenset(exclude)
    index = _current_index()
    lngs = np.array([np.nan if p[0] is None else float(p[0]) for p in points], dtype=float)
    lats = np.array([np.nan if p[1] is None else float(p[1]) for p in points], dtype=float)
    found = _points_in_grids(index, lngs, lats, skip) if index.levels else np.full(len(points), -1, dtype=np.int64)
    out: list[int | None] = []
    for i, p in enumerate(points):
        gid = int(found[i])
        out.append(gid if gid >= 0 else _by_division(index, p[2], skip))
    return out


# --- is a position inside its division? -------------------------------------------------------------------
# The division's outline is what the bureau imported as grids: the union of the grids whose division
# code starts with the entity's town code (its own code when it is a county or city code). A division
# whose outline is not imported is not checked finer than the rough rectangle of China: the outline of
# a county whose towns are only partly imported would refuse good positions. The tolerance absorbs
# GPS error and a WGS-84/GCJ-02 mix-up.
POSITION_TOLERANCE_M = 1500


def _region(index: _Index, division_code: str):
    """The prepared outline of ``division_code``'s town (or of the code itself, when shorter), or None."""
    prefix = division_code[:9]
    if prefix not in index.regions:
        if not index.town_geoms and index.levels:
            # One pass over the grids, grouped by town code (not one pass per town asked about).
            for level in index.levels:
                for gid, geom in zip(level.ids, level.tree.geometries):
                    index.town_geoms.setdefault(index.grid_division.get(int(gid), "")[:9], []).append(geom)
        if len(prefix) == 9:
            geoms = index.town_geoms.get(prefix, [])
        else:
            geoms = [g for town, found in index.town_geoms.items() if town.startswith(prefix) for g in found]
        region = shapely.union_all(geoms) if geoms else None
        if region is not None:
            shapely.prepare(region)
        index.regions[prefix] = region
    return index.regions[prefix]


def position_problems(points: Sequence[tuple[float | None, float | None, str | None]]) -> list[str | None]:
    """For each ``(lng, lat, division_code)`` None when the position is plausible (or absent), else
    why not (Chinese). Positions are GCJ-02; one index lookup for the whole batch."""
    index = _current_index()
    out: list[str | None] = []
    for lng, lat, code in points:
        if lng is None or lat is None:
            out.append(None)
            continue
        lng, lat = float(lng), float(lat)
        if not (73.0 <= lng <= 136.0 and 3.0 <= lat <= 54.0):
            out.append(_("坐标（经度 %(lng).6f，纬度 %(lat).6f）不在中国境内，请核对经纬度是否填反或填错") % {"lng": lng, "lat": lat})
            continue
        region = _region(index, code) if code else None
        if region is None:
            out.append(None)
            continue
        # Degrees per metre: latitude ~1/111 km; longitude shrinks with cos(lat). Take the larger.
        tolerance = POSITION_TOLERANCE_M / 111_000 / max(0.2, np.cos(np.radians(lat)))
        if shapely.dwithin(region, shapely.Point(lng, lat), tolerance):
            out.append(None)
        else:
            out.append(_("坐标（经度 %(lng).6f，纬度 %(lat).6f）不在所属区划的范围内（允许误差 %(m)d 米），请核对坐标或所属区划") % {
                "lng": lng, "lat": lat, "m": POSITION_TOLERANCE_M})
    return out


def position_problem(lng, lat, division_code: str | None) -> str | None:
    return position_problems([(lng, lat, division_code)])[0]


# --- what entities a grid change may move, and the counts ------------------------------------------
# Geo sits below entities: it never reads or writes entities. ``zhijian.entities.placing`` re-places
# them (recording each move) from the area a change touched, and hands ``recount`` the rows to count.


@dataclass(frozen=True)
class Area:
    """Where a grid change may move entities: those placed in ``grid_ids``, those whose position
    lies in ``bbox`` (min lng, min lat, max lng, max lat), and those whose division code starts with
    one of ``prefixes``. ``everything`` means every entity (e.g. after a whole-registry repair)."""

    grid_ids: tuple[int, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    prefixes: tuple[str, ...] = ()
    everything: bool = False


def covering_prefixes(codes: Iterable[str], limit: int = 64) -> list[str]:
    """A small set of prefixes covering ``codes`` (shortened level by level when there are many)."""
    prefixes = {c for c in codes if c}
    for n in (9, 6, 4, 2, 0):
        kept = sorted(p for p in prefixes if not any(o != p and p.startswith(o) for o in prefixes))
        if len(kept) <= limit:
            return kept
        prefixes = {p[:n] for p in prefixes}
    return [""]


def area_of(rows: Iterable[tuple[int, str, float | None, float | None, float | None, float | None]]) -> Area:
    """The :class:`Area` of grids given as ``(id, division_code, min_lng, min_lat, max_lng, max_lat)``
    rows — read from the database, or from a ``grid.*`` event's payload for a grid already deleted."""
    rows = list(rows)
    boxes = [r[2:] for r in rows if r[2] is not None]
    bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)) if boxes else None
    return Area(grid_ids=tuple(r[0] for r in rows), bbox=bbox, prefixes=tuple(covering_prefixes(r[1] for r in rows)))


def area_of_grids(grid_ids: Iterable[int]) -> Area:
    """The :class:`Area` of existing grids."""
    ids = list(grid_ids)
    rows = Grid.objects.filter(pk__in=ids).values_list("pk", "division_code", "min_lng", "min_lat", "max_lng", "max_lat")
    found = area_of(rows)
    return Area(grid_ids=tuple(ids), bbox=found.bbox, prefixes=found.prefixes)


def recount(counted: QuerySet, *, grid_ids: Iterable[int] | None = None) -> int:
    """Recompute ``Grid.entity_count`` from ``counted``: the rows that count (the registry's
    operating entities), each with a foreign key ``grid`` to :class:`Grid`. A level-1 grid also
    counts the rows placed in its level-2 grids.

    With ``grid_ids``, the parents of those grids are recounted as well.
    """

    def counts(where: Q):
        return (
            counted.filter(where)
            .order_by()
            # COUNT as a plain function, not an aggregate: no GROUP BY, one row per outer grid.
            .annotate(n=Func(F("pk"), function="COUNT"))
            .values("n")
        )

    direct = Coalesce(Subquery(counts(Q(grid_id=OuterRef("pk")))), Value(0))
    with_children = Coalesce(Subquery(counts(Q(grid_id=OuterRef("pk")) | Q(grid__parent_id=OuterRef("pk")))), Value(0))
    qs = Grid.objects.all()
    if grid_ids is None:
        return qs.filter(level=2).update(entity_count=direct) + qs.filter(level=1).update(entity_count=with_children)
    ids = set(grid_ids)
    if not ids:
        return 0
    ids |= set(Grid.objects.filter(pk__in=list(ids), parent__isnull=False).values_list("parent_id", flat=True))
    ids = sorted(ids)
    total = 0
    for i in range(0, len(ids), BATCH):
        chunk = qs.filter(pk__in=ids[i : i + BATCH])
        total += chunk.filter(level=2).update(entity_count=direct) + chunk.filter(level=1).update(entity_count=with_children)
    return total


__all__ = ["Area", "area_of", "area_of_grids", "covering_prefixes", "invalidate", "locate", "locate_id", "locate_many", "recount"]
