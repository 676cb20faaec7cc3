"""Recusal and inspector assignment of a large draw on one process per core, with the same result
as the sequential rule.

The assignment is sequential by definition (each drawn entity takes the least-loaded eligible
inspectors, loads counted over the whole draw), but entities whose eligible inspectors can never
overlap do not interact: the draw splits into connected components (inspectors linked through
the divisions they cover together, and through a cert listed twice), and each component is
assigned by the plain rule on its own. A county-level unit per county gives one component per
county; a city-wide pool of inspectors gives one component and the sequential path.
"""
from __future__ import annotations

import gc
import multiprocessing
from contextlib import contextmanager

from . import algorithm

PARALLEL_MIN = 20_000  # drawn entities below this are assigned in process

_job: dict = {}  # what the forked workers read (set before the fork: nothing is pickled to them)


@contextmanager
def no_gc():
    """Hundreds of thousands of short-lived lists and tuples, no cycles: in a forked worker the
    collector would walk the whole inherited heap again and again."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def components(selected: list[tuple[str, str]], cover: algorithm.Coverage) -> list[list[tuple[str, str]]]:
    """The drawn entities grouped so that no two groups share an eligible inspector."""
    parent = list(range(len(cover.certs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[str, int] = {}
    for pos, cert in enumerate(cover.certs):  # one cert, one load: its positions go together
        if cert in first:
            parent[find(pos)] = find(first[cert])
        else:
            first[cert] = pos
    for division in {d for _c, d in selected}:
        positions = cover.positions(division)
        for p in positions[1:]:
            a, b = find(p), find(positions[0])
            if a != b:
                parent[a] = b
    groups: dict[object, list] = {}
    for row in selected:
        positions = cover.positions(row[1])
        groups.setdefault(find(positions[0]) if positions else ("none", row[1]), []).append(row)
    return list(groups.values())


@no_gc()
def _run(index: int):
    j = _job
    rows = j["bins"][index]
    try:
        excluded = algorithm.exclusions(rows, j["inspectors"], j["recusal"], j["cover"])
        chosen = algorithm.assign(j["seed"], rows, j["inspectors"], excluded, j["per_entity"], j["cover"])
        # Lists in the bin's order (the parent has the bins): half the pickling of two dicts.
        return [excluded[c] for c, _d in rows], [chosen[c] for c, _d in rows], None
    except algorithm.PoolTooSmall as exc:
        return None, None, (exc.credit_code, exc.eligible, exc.needed)


def exclusions_and_assign(seed: bytes, selected: list[tuple[str, str]], inspectors, recusal: dict, per_entity: int,
                          cover: algorithm.Coverage, workers: int) -> tuple[dict, dict]:
    """(excluded, chosen) as :func:`algorithm.exclusions` and :func:`algorithm.assign` give them."""
    groups = components(selected, cover) if workers > 1 and len(selected) >= PARALLEL_MIN else [selected]
    if len(groups) < 2:
        excluded = algorithm.exclusions(selected, inspectors, recusal, cover)
        return excluded, algorithm.assign(seed, selected, inspectors, excluded, per_entity, cover)
    bins: list[list] = [[] for _ in range(min(workers, len(groups)))]
    for g in sorted(groups, key=len, reverse=True):  # largest first into the lightest bin
        min(bins, key=len).extend(g)
    _job.update(seed=seed, bins=bins, inspectors=inspectors, recusal=recusal, per_entity=per_entity, cover=cover)
    try:
        with multiprocessing.get_context("fork").Pool(len(bins)) as pool:
            results = pool.map(_run, range(len(bins)))
    finally:
        _job.clear()
    failed = [r[2] for r in results if r[2]]
    if failed:  # the sequential rule stops at the first such entity in credit-code order
        raise algorithm.PoolTooSmall(*min(failed))
    excluded, chosen = {}, {}
    for rows, (ex, ch, _err) in zip(bins, results):
        codes = [c for c, _d in rows]
        excluded.update(zip(codes, ex))
        chosen.update(zip(codes, ch))
    return excluded, chosen
