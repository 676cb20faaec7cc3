"""Placing the registry's entities in grids (网格落位) when the grids change.

Geo owns the grids and the pure placement rule (``zhijian.geo.placement``: which grid holds a
point or a division code); the registry owns ``MarketEntity.grid``. Every change of an entity's
grid is written here (or by the registry's own create/update/import services), never by geo:
each moved entity gets an ``EntityChange`` (kind 网格落位) and a higher version, each batch of moves
one trace entry and one ``entity.placed`` event, in the caller's transaction.

Grid writes reach this module through their events (``handlers.py``): ``grid.created``,
``grid.updated``, ``grid.deleted`` and ``grids.imported`` name the grids and their areas.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.scoping import common_division
from zhijian.geo import placement

from .choices import ChangeKind, EntityStatus
from .models import EntityChange, MarketEntity

BATCH = 2000
# Entities in these states no longer operate in the area and are not counted in Grid.entity_count.
UNCOUNTED_STATUSES = (EntityStatus.CANCELLED, EntityStatus.MOVED_OUT)
PLACED_EVENT = "entity.placed"


@dataclass
class PlaceResult:
    examined: int = 0
    moved: int = 0
    grids_recounted: int = 0


def counted_entities():
    """The entities ``Grid.entity_count`` counts: placed and still operating."""
    return MarketEntity.objects.exclude(status__in=UNCOUNTED_STATUSES)


def grids_recount(grid_ids=None) -> int:
    """Refresh ``Grid.entity_count`` of ``grid_ids`` (and their parents), or of every grid."""
    return placement.recount(counted_entities(), grid_ids=grid_ids)


def _candidates(area: placement.Area, *, unplaced_only: bool = False):
    """Entities a change of ``area`` may move (``unplaced_only``: of those, the ones without a grid)."""
    qs = MarketEntity.objects.all()
    if area.everything:
        return qs
    cond = Q(grid_id__in=list(area.grid_ids)) if area.grid_ids else Q(pk__in=[])
    spatial = Q(pk__in=[])
    if area.bbox is not None:
        x0, y0, x1, y1 = area.bbox
        spatial |= Q(lng__gte=x0, lat__gte=y0, lng__lte=x1, lat__lte=y1)
    for prefix in area.prefixes:
        spatial |= Q(division_code__startswith=prefix)
    if unplaced_only:
        return qs.filter(cond | (Q(grid__isnull=True) & spatial))
    return qs.filter(cond | spatial)


@transaction.atomic
def entities_place(*, actor, area: placement.Area, exclude_grids=(), unplaced_only: bool = False, cause: dict | None = None,
                   note: str = "") -> PlaceResult:
    """Re-place the entities a grid change may move (see :func:`_candidates`) and refresh the
    counts of every grid that lost or gained one. The bulk placement service.

    ``exclude_grids``: place as if these grids did not exist (a grid being deleted).
    ``unplaced_only``: besides the entities of ``area.grid_ids``, only consider entities that have
    no grid (after a deletion, when the database already cleared their grid).
    ``cause`` (e.g. ``{"event": "grid.updated", "grid": 12}``) goes into the trace entry and event.
    Each moved entity gets an ``EntityChange``; each batch of moves a trace entry and an
    ``entity.placed`` event. Idempotent: a second run moves nothing.
    """
    result = PlaceResult()
    touched: set[int] = set(area.grid_ids) | set(exclude_grids)
    rows = _candidates(area, unplaced_only=unplaced_only).order_by("pk").values_list(
        "pk", "grid_id", "lng", "lat", "division_code", "credit_code")
    last = 0
    # Pages by primary key, each written before the next is read: no cursor stays open over rows
    # being updated, and a moved entity is never read twice.
    while batch := list(rows.filter(pk__gt=last)[:BATCH]):
        last = batch[-1][0]
        placed = placement.locate_many([(lng, lat, dc) for _pk, _g, lng, lat, dc, _cc in batch], exclude=exclude_grids)
        moves = [(pk, old, new, dc, cc) for (pk, old, _x, _y, dc, cc), new in zip(batch, placed) if old != new]
        result.examined += len(batch)
        if moves:
            _record_moves(actor, moves, cause or {}, note)
            result.moved += len(moves)
            touched.update(g for _pk, old, new, _dc, _cc in moves for g in (old, new) if g is not None)
    result.grids_recounted = grids_recount(None if area.everything else touched)
    return result


def _record_moves(actor, moves: list[tuple[int, int | None, int | None, str, str]], cause: dict, note: str) -> None:
    """Write one batch of moves ``(pk, old grid, new grid, division code, credit code)``: the rows,
    their history, one trace entry and one event."""
    by_target: dict[int | None, list[int]] = {}
    for pk, _old, new, _dc, _cc in moves:
        by_target.setdefault(new, []).append(pk)
    for new, pks in by_target.items():
        MarketEntity.objects.filter(pk__in=pks).update(grid_id=new, version=F("version") + 1)
    note = (note or _("网格调整后重新落位"))[:200]
    EntityChange.objects.bulk_create([
        EntityChange(entity_id=pk, kind=ChangeKind.PLACED, changed={"grid_id": [old, new]}, actor=actor, note=note)
        for pk, old, new, _dc, _cc in moves
    ])
    listed = [[cc, old, new] for _pk, old, new, _dc, cc in moves]
    digest = hashlib.sha256("\n".join(f"{cc}|{old}|{new}" for cc, old, new in sorted(listed, key=lambda m: m[0])).encode()).hexdigest()
    division = common_division([dc for _pk, _o, _n, dc, _cc in moves])
    trace.record(actor=actor, action=PLACED_EVENT, object_type="entities.marketentity", object_id="", division_code=division,
                 after={"moved": len(moves), "moves_sha256": digest, "cause": cause})
    events.emit(PLACED_EVENT, payload={"moves": listed, "cause": cause}, division_code=division,
                object_type="entities.marketentity")


def place_for_grid_event(event) -> PlaceResult:
    """React to a grid write (its event): re-place the entities of the grids and areas it names."""
    payload = event.payload or {}
    cause = {"event": event.type, "event_id": event.pk}
    if event.type == "grids.imported":
        ids = [int(i) for i in payload.get("ids") or []]
        if not ids:
            return PlaceResult()
        return entities_place(actor=None, area=placement.area_of_grids(ids), cause=cause | {"grids": len(ids)},
                              note=_("网格导入后重新落位"))
    grid_id = int(payload["id"])
    if event.type == "grid.deleted":
        # Emitted before the row goes (inline): the grid's entities still name it. Run later, by the
        # dispatcher, the database has already cleared their grid: take the unplaced ones of its area.
        bbox = payload.get("bbox") or [None] * 4
        area = placement.area_of([(grid_id, payload.get("division_code") or "", *bbox)])
        return entities_place(actor=None, area=area, exclude_grids=(grid_id,), unplaced_only=True,
                              cause=cause | {"grid": grid_id, "code": payload.get("code", "")},
                              note=_("网格 %(code)s 删除后重新落位") % {"code": payload.get("code", "")})
    return entities_place(actor=None, area=placement.area_of_grids([grid_id]), cause=cause | {"grid": grid_id},
                          note=_("网格 %(code)s 调整后重新落位") % {"code": payload.get("code", "")})


def entities_replace_all(*, actor) -> PlaceResult:
    """Re-place every entity and recount every grid (a repair after a bulk change)."""
    return entities_place(actor=actor, area=placement.Area(everything=True), cause={"repair": True},
                          note=_("全部主体重新落位"))
