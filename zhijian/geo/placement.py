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
from django.db import transaction
from django.db.models import F, Func, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from .models import Grid, GridRevision

# Entities in these states no longer operate in the area and are not counted in Grid.entity_count.
UNCOUNTED_STATUSES = ("cancelled", "moved_out")
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
    # division_code -> grid id (best per code: level 2 before 1, then lowest code)
    by_division: dict[str, int] = field(default_factory=dict)
    division_lengths: tuple[int, ...] = ()


_lock = threading.Lock()
_index: _Index | None = None


def _build(revision: int) -> _Index:
    rows = list(Grid.objects.order_by("-level", "code").values_list("id", "code", "level", "division_code", "geometry"))
    index = _Index(revision=revision)
    per_level: dict[int, list[tuple[int, str, object]]] = defaultdict(list)
    for gid, code, level, division_code, geometry in rows:
        index.by_division.setdefault(division_code, gid)
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


def _by_division(index: _Index, division_code: str | None) -> int | None:
    if not division_code:
        return None
    for n in index.division_lengths:
        if n <= len(division_code):
            gid = index.by_division.get(division_code[:n])
            if gid is not None:
                return gid
    return None


def _points_in_grids(index: _Index, lngs: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Grid id (or -1) for each point, level 2 first, vectorised with STRtree.query."""
    result = np.full(len(lngs), -1, dtype=np.int64)
    todo = np.flatnonzero(~(np.isnan(lngs) | np.isnan(lats)))
    for level in index.levels:
        if not len(todo):
            break
        pts = shapely.points(lngs[todo], lats[todo])
        pairs = level.tree.query(pts, predicate="intersects")
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


def locate_many(points: Sequence[tuple[float | None, float | None, str | None]]) -> list[int | None]:
    """Bulk form of :func:`locate_id` for imports: ``[(lng, lat, division_code), …]`` → grid ids.

    One revision check and one vectorised STRtree query per level for the whole batch.
    """
    points = list(points)
    if not points:
        return []
    index = _current_index()
    lngs = np.array([np.nan if p[0] is None else float(p[0]) for p in points], dtype=float)
    lats = np.array([np.nan if p[1] is None else float(p[1]) for p in points], dtype=float)
    found = _points_in_grids(index, lngs, lats) if index.levels else np.full(len(points), -1, dtype=np.int64)
    out: list[int | None] = []
    for i, p in enumerate(points):
        gid = int(found[i])
        out.append(gid if gid >= 0 else _by_division(index, p[2]))
    return out


# --- re-placement and counts -----------------------------------------------------------------------
def _entity_model():
    # geo sits below entities in the dependency order: import lazily.
    from zhijian.entities.models import MarketEntity

    return MarketEntity


def _covering_prefixes(codes: Iterable[str], limit: int = 64) -> list[str]:
    """A small set of prefixes covering ``codes`` (shortened level by level when there are many)."""
    prefixes = {c for c in codes if c}
    for n in (9, 6, 4, 2, 0):
        kept = sorted(p for p in prefixes if not any(o != p and p.startswith(o) for o in prefixes))
        if len(kept) <= limit:
            return kept
        prefixes = {p[:n] for p in prefixes}
    return [""]


@dataclass
class ReplaceResult:
    examined: int = 0
    moved: int = 0
    grids_recounted: int = 0


@transaction.atomic
def replace_entities(*, grids=None, entity_ids: Iterable[int] | None = None) -> ReplaceResult:
    """Re-place entities after grids changed and refresh ``Grid.entity_count``.

    ``grids`` (Grid objects or ids) limits the work to entities that may be affected: those now in
    those grids, those whose position lies in their bounding boxes, and those whose division code
    falls under theirs. ``grids=None`` (and no ``entity_ids``) re-places every entity.
    """
    MarketEntity = _entity_model()
    qs = MarketEntity.objects.all()
    touched_grids: set[int] = set()
    if grids is not None:
        grid_ids = [g if isinstance(g, int) else g.pk for g in grids]
        touched_grids.update(grid_ids)
        rows = list(Grid.objects.filter(pk__in=grid_ids).values_list("division_code", "min_lng", "min_lat", "max_lng", "max_lat"))
        cond = Q(grid_id__in=grid_ids)
        boxes = [r[1:] for r in rows if r[1] is not None]
        if boxes:
            cond |= Q(
                lng__gte=min(b[0] for b in boxes), lat__gte=min(b[1] for b in boxes),
                lng__lte=max(b[2] for b in boxes), lat__lte=max(b[3] for b in boxes),
            )
        for prefix in _covering_prefixes(r[0] for r in rows):
            cond |= Q(division_code__startswith=prefix)
        qs = qs.filter(cond)
    if entity_ids is not None:
        qs = qs.filter(pk__in=list(entity_ids))
    result = ReplaceResult()
    moves: dict[int | None, list[int]] = defaultdict(list)
    batch: list[tuple[int, int | None, float | None, float | None, str]] = []

    def flush():
        placed = locate_many([(lng, lat, dc) for _, _, lng, lat, dc in batch])
        for (pk, old, *_), new in zip(batch, placed):
            if old != new:
                moves[new].append(pk)
                touched_grids.update(g for g in (old, new) if g is not None)
        result.examined += len(batch)
        batch.clear()

    for row in qs.order_by("pk").values_list("pk", "grid_id", "lng", "lat", "division_code").iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    for new, pks in moves.items():
        for i in range(0, len(pks), BATCH):
            MarketEntity.objects.filter(pk__in=pks[i : i + BATCH]).update(grid_id=new)
        result.moved += len(pks)
    result.grids_recounted = recount(grid_ids=None if grids is None and entity_ids is None else touched_grids)
    return result


def recount(*, grid_ids: Iterable[int] | None = None) -> int:
    """Recompute ``Grid.entity_count``: entities placed in the grid, and for a level-1 grid also
    those placed in its level-2 grids; 注销 and 迁出 entities are not counted.

    With ``grid_ids``, the parents of those grids are recounted as well.
    """
    MarketEntity = _entity_model()

    def counts(where: Q):
        return (
            MarketEntity.objects.filter(where)
            .exclude(status__in=UNCOUNTED_STATUSES)
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


__all__ = ["locate", "locate_id", "locate_many", "replace_entities", "recount", "invalidate"]
