"""Demo geography: **synthetic** grid polygons for a demo city. NOT real boundaries.

Only county outlines exist in the demo-only data (data/geo/city/<code>.json, GCJ-02, no licence,
no map review number). Towns and villages have no outlines, so the demo builds plausible ones:

* level-1 grids: for each county, one seed point per town inside the county outline, spread by a
  few Lloyd iterations; the Voronoi cells (``shapely.voronoi_polygons``) clipped to the outline
  become the town grids. They cover the county exactly, without overlaps.
* level-2 grids: the same inside each town cell, one cell per village of that town.

Everything is deterministic for a given ``seed``. Statistical-only county-level units without
an outline (开发区, e.g. 370176 济南高新技术产业开发区) place their towns inside a host county
listed in ``STATISTICAL_HOSTS`` (370176 → 370112 历城区, where most of its streets came from);
units without an outline and without a host are skipped and reported.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from shapely.geometry import MultiPoint, Point, shape
from shapely.prepared import prep

from zhijian.core import events

from .geometry import polygonal_part, to_geojson
from .models import Division, Grid, GridRevision, update_grids

# Statistical-only unit -> county whose outline hosts its towns in the demo.
STATISTICAL_HOSTS = {"370176": "370112"}
LLOYD_ITERATIONS = 3


@dataclass
class DemoCell:
    code: str  # grid code
    name: str
    level: int
    division_code: str
    geometry: object  # shapely Polygon/MultiPolygon
    parent_code: str = ""


@dataclass
class DemoGeography:
    cells: list[DemoCell] = field(default_factory=list)
    county_outlines: dict[str, object] = field(default_factory=dict)
    skipped_units: list[str] = field(default_factory=list)  # county codes without outline or host
    skipped_villages: int = 0  # villages attached to a county (their 2021 town is gone)


def load_city_outlines(city_code: str) -> dict[str, object]:
    """County code → shapely outline, from data/geo/city/<city_code>.json (demo-only data)."""
    path = Path(settings.DATA_DIR) / "geo" / "city" / f"{city_code}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    outlines = {}
    for feature in doc["features"]:
        code = str(feature["properties"]["adcode"])  # a number in some files, a string in others
        geom = shape(feature["geometry"])
        outlines[code] = geom if geom.is_valid else polygonal_part(shapely.make_valid(geom))
    return outlines


def random_point_in(geometry, rng: random.Random) -> Point:
    """A uniformly random point inside ``geometry`` (rejection sampling in its bounding box)."""
    x0, y0, x1, y1 = geometry.bounds
    prepared = prep(geometry)
    for _ in range(10_000):
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if prepared.contains(p):
            return p
    return geometry.representative_point()


def voronoi_cells(area, n: int, rng: random.Random, *, iterations: int = LLOYD_ITERATIONS) -> list:
    """``n`` cells that partition ``area``: Voronoi of random seeds, relaxed by Lloyd iterations."""
    if n <= 0:
        return []
    if n == 1:
        return [area]
    seeds = [random_point_in(area, rng) for _ in range(n)]
    cells: list = []
    x0, y0, x1, y1 = area.bounds
    frame = shapely.box(x0, y0, x1, y1).buffer(max(x1 - x0, y1 - y0))
    prepared = prep(area)
    for it in range(iterations + 1):
        # Duplicate seeds would merge cells: nudge them apart deterministically.
        coords = np.array([(p.x, p.y) for p in seeds])
        _, first = np.unique(coords.round(12), axis=0, return_index=True)
        for i in sorted(set(range(n)) - set(first.tolist())):
            seeds[i] = random_point_in(area, rng)
        regions = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame, ordered=True)
        cells = [polygonal_part(shapely.intersection(region, area)) for region in regions.geoms]
        if it == iterations:
            break
        # Lloyd step: move each seed to its cell's centroid (kept inside the area).
        new = []
        for seed, cell in zip(seeds, cells):
            c = cell.centroid if cell is not None and not cell.is_empty else seed
            new.append(c if prepared.contains(c) else (cell.representative_point() if cell is not None else seed))
        seeds = new
    return cells


def build_demo_geography(city_code: str = "370100", *, seed: int = 20261121, villages: bool = True) -> DemoGeography:
    """Synthetic level-1 (town) and level-2 (village) cells for a city, from the loaded divisions."""
    result = DemoGeography(county_outlines=load_city_outlines(city_code))
    city_prefix = city_code[:4]
    counties = list(Division.objects.filter(level=3, code__startswith=city_prefix).order_by("code").values_list("code", flat=True))
    towns_by_county: dict[str, list[tuple[str, str]]] = {}
    for code, name, parent in Division.objects.filter(level=4, code__startswith=city_prefix).order_by("code").values_list("code", "name", "parent_id"):
        towns_by_county.setdefault(parent, []).append((code, name))
    villages_by_town: dict[str, list[tuple[str, str]]] = {}
    if villages:
        for code, name, parent in Division.objects.filter(level=5, code__startswith=city_prefix).order_by("code").values_list("code", "name", "parent_id"):
            if parent and len(parent) == 9:
                villages_by_town.setdefault(parent, []).append((code, name))
            else:
                result.skipped_villages += 1
    # Group towns by the outline they are drawn in (statistical units borrow a host's outline).
    by_outline: dict[str, list[tuple[str, str]]] = {}
    for county in counties:
        host = county if county in result.county_outlines else STATISTICAL_HOSTS.get(county)
        if host is None or host not in result.county_outlines:
            if towns_by_county.get(county):
                result.skipped_units.append(county)
            continue
        by_outline.setdefault(host, []).extend(towns_by_county.get(county, []))
    for host in sorted(by_outline):
        towns = sorted(by_outline[host])
        rng = random.Random(f"{seed}:{host}")
        for (town_code, town_name), cell in zip(towns, voronoi_cells(result.county_outlines[host], len(towns), rng)):
            result.cells.append(DemoCell(code=f"G{town_code}", name=town_name, level=1, division_code=town_code, geometry=cell))
            vills = villages_by_town.get(town_code, [])
            vrng = random.Random(f"{seed}:{town_code}")
            for (v_code, v_name), vcell in zip(vills, voronoi_cells(cell, len(vills), vrng)):
                result.cells.append(
                    DemoCell(code=f"G{v_code}", name=v_name, level=2, division_code=v_code, geometry=vcell, parent_code=f"G{town_code}")
                )
    return result


@transaction.atomic
def build_demo_grids(city_code: str = "370100", *, seed: int = 20261121, villages: bool = True) -> int:
    """Create (or refresh) the synthetic demo grids of a city; returns the number of grids.

    Needs the city's divisions loaded (``load_reference --province 37``). Entities already in the
    city are re-placed by the registry, in reaction to the ``grids.imported`` event. Grid codes are
    ``G`` + the division code; re-running updates in place.
    """
    geo = build_demo_geography(city_code, seed=seed, villages=villages)
    cells = [c for c in geo.cells if c.geometry is not None and not c.geometry.is_empty]
    existing = {g.code: g for g in Grid.objects.filter(code__in=[c.code for c in cells])}
    now = timezone.now()
    to_create, to_update = [], []
    for level in (1, 2):
        parents = {g.code: g for g in Grid.objects.filter(level=1, code__in={c.parent_code for c in cells if c.parent_code})} if level == 2 else {}
        for c in (c for c in cells if c.level == level):
            grid = existing.get(c.code) or Grid(code=c.code, level=level)
            grid.name, grid.division_code, grid.geometry = c.name, c.division_code, to_geojson(c.geometry)
            grid.parent = parents.get(c.parent_code) if c.parent_code else None
            grid.set_bbox()
            grid.updated_at = now
            (to_update if grid.pk else to_create).append(grid)
        Grid.objects.bulk_create([g for g in to_create if g.level == level and g.pk is None], batch_size=500)
    update_grids(to_update)
    GridRevision.bump()
    ids = sorted(Grid.objects.filter(code__in=[c.code for c in cells]).values_list("pk", flat=True))
    summary = {"level": None, "created": len(to_create), "updated": len(to_update), "repaired": 0, "demo": True}
    events.emit("grids.imported", payload=summary | {"ids": ids}, division_code=city_code[:4], object_type="geo.grid")
    return len(cells)
