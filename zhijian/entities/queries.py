"""Reads of the registry, always scoped by jurisdiction."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from django.db import connection
from django.db.models.expressions import RawSQL
from django.urls import reverse
from rapidfuzz import fuzz

from . import creditcode
from .models import MarketEntity
from .text import bigrams, normalise_name

WINDOW = 20_000        # most candidates fetched from the name index in one round
SMALL_SPAN = 65_536    # PostgreSQL: id ranges up to this size are scanned in place
MAX_ROUNDS = 25        # then fall back to one plain query
FTS_TABLE = "entities_name_fts"
MAP_POINT_LIMIT = 2000  # entity points the map asks for by default…
MAP_POINT_MAX = 5000    # …and at most


def _phrase(grams: list[str]) -> str:
    return " ".join(grams)


def _index_ids(grams: list[str], *, mode: str, below: int | None, limit: int) -> list[int]:
    """Ids whose name contains the grams, newest first. mode: phrase | all | half."""
    if connection.vendor == "postgresql":
        return _pg_index_ids(grams, mode=mode, below=below, limit=limit)
    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
    params = [_fts_match(grams, mode)]
    if below is not None:
        sql += " AND rowid < %s"
        params.append(below)
    sql += " ORDER BY rowid DESC LIMIT %s"
    params.append(limit)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [r[0] for r in cur.fetchall()]


def _pg_condition(grams: list[str], mode: str) -> tuple[str, list]:
    if mode == "phrase":
        return "name_tsv @@ phraseto_tsquery('simple', %s)", [_phrase(grams)]
    return "name_tsv @@ to_tsquery('simple', %s)", [_tsquery(grams, mode)]


def _pg_index_ids(grams: list[str], *, mode: str, below: int | None, limit: int) -> list[int]:
    """GIN cannot return ids in order, and a word like 有限 matches most rows. So walk id ranges
    downward from the newest, growing the range while it yields little: a common word is answered
    from the first few thousand rows, a rare one after a handful of index-only range probes."""
    table = MarketEntity._meta.db_table
    cond, params = _pg_condition(grams, mode)
    with connection.cursor() as cur:
        if below is None:
            cur.execute(f"SELECT max(id) FROM {table}")
            below = (cur.fetchone()[0] or 0) + 1
        hi, span, out = below - 1, 4096, []
        while hi > 0 and len(out) < limit:
            lo = max(0, hi - span)
            if span <= SMALL_SPAN:
                # OFFSET 0 fences the range scan: the planner must not trade it for a GIN bitmap over
                # every row holding a common word; a few thousand rows are checked in place.
                sql = (f"SELECT id FROM (SELECT id, name_tsv FROM {table} WHERE id > %s AND id <= %s ORDER BY id DESC OFFSET 0) r "
                       f"WHERE {cond} LIMIT %s")
            else:
                sql = f"SELECT id FROM {table} WHERE id > %s AND id <= %s AND {cond} ORDER BY id DESC LIMIT %s"
            cur.execute(sql, [lo, hi, *params, limit - len(out)])
            got = [r[0] for r in cur.fetchall()]
            out.extend(got)
            hi = lo
            if len(got) < 64:
                span *= 8
        return out


def _quote(g: str) -> str:
    return '"' + g.replace('"', '""') + '"'


def _fts_match(grams: list[str], mode: str) -> str:
    if mode == "phrase":
        return '"' + " ".join(g.replace('"', '""') for g in grams) + '"'
    if mode == "all":
        return " AND ".join(_quote(g) for g in grams)
    return " OR ".join("(" + " AND ".join(_quote(g) for g in combo) + ")" for combo in _combos(grams))


def _tsquery(grams: list[str], mode: str) -> str:
    q = lambda g: "'" + g.replace("'", "''").replace("\\", "") + "'"  # noqa: E731
    if mode == "all":
        return " & ".join(q(g) for g in grams)
    return " | ".join("(" + " & ".join(q(g) for g in combo) + ")" for combo in _combos(grams))


def _combos(grams: list[str]):
    """Fuzzy match: names sharing about half of the query's bigrams (at most 8 considered)."""
    grams = list(dict.fromkeys(grams))[:8]
    k = max(2, len(grams) // 2) if len(grams) > 2 else 1
    return combinations(grams, k)


@dataclass
class SearchResult:
    entities: list
    more: bool
    fuzzy: bool = False


def looks_like_code(q: str) -> str | None:
    c = creditcode.normalise(q)
    return c if len(c) == 18 and all(ch in creditcode.ALPHABET for ch in c) else None


def filtered(user, *, division: str = "", grid=None, industry: str = "", entity_type: str = "", status: str = ""):
    qs = MarketEntity.objects.scoped(user)
    if division:
        qs = qs.filter(division_code__startswith=division)
    if grid:
        qs = qs.filter(grid_id=grid)
    if industry:
        qs = qs.filter(industry_code__startswith=industry)
    if entity_type:
        qs = qs.filter(entity_type=entity_type)
    if status:
        qs = qs.filter(status=status)
    return qs


def search(user, q: str = "", *, limit: int = 50, offset: int = 0, **filters) -> SearchResult:
    """Exact code, or names containing ``q`` (fuzzy when nothing contains it), newest first."""
    qs = filtered(user, **filters).select_related("grid")
    q = (q or "").strip()
    if not q:
        rows = list(qs.order_by("-id")[offset : offset + limit + 1])
        return SearchResult(rows[:limit], len(rows) > limit)
    ids, fuzzy = matching_ids(user, q, want=offset + limit + 1, **filters)
    return SearchResult(*rows_for(qs, ids, q, fuzzy, offset=offset, limit=limit), fuzzy)


def rows_for(qs, ids: list[int], q: str, fuzzy: bool, *, offset: int, limit: int) -> tuple[list, bool]:
    """The entities of ``ids[offset:offset + limit]`` in that order (an exact name first), and
    whether more follow."""
    page_ids = ids[offset : offset + limit + 1]
    by_id = qs.in_bulk(page_ids)
    rows = [by_id[i] for i in page_ids if i in by_id]
    if not fuzzy:
        rows.sort(key=lambda e: (normalise_name(e.name) != normalise_name(q)))
    return rows[:limit], len(ids) > offset + limit


def matching_ids(user, q: str, *, want: int, **filters) -> tuple[list[int], bool]:
    """Ids of the entities ``q`` finds in ``user``'s scope under ``filters``, in display order, at
    most ``want`` (newest first; by similarity when fuzzy). Returns (ids, fuzzy)."""
    qs = filtered(user, **filters)
    q = (q or "").strip()
    code = looks_like_code(q)
    if code:
        return list(qs.filter(credit_code=code).values_list("id", flat=True)), False
    grams = bigrams(q)
    if not grams:
        return [], False
    if len(grams) == 1 and len(grams[0]) == 1:
        return list(qs.filter(name__contains=grams[0]).order_by("-id").values_list("id", flat=True)[:want]), False
    ids = _collect(qs, grams, "phrase", want)
    if ids or len(grams) < 2:
        return ids, False
    ids = _collect(qs, grams, "all", want) or _collect(qs, grams, "half", 200)
    target = normalise_name(q)
    names = dict(qs.filter(id__in=ids).values_list("id", "name"))
    ranked = sorted(names, key=lambda i: (-fuzz.partial_ratio(target, normalise_name(names[i])), -i))
    return ranked[:want], True


def _collect(qs, grams, mode, want) -> list[int]:
    """Walk the name index newest-first in windows, keeping ids that pass scope and filters."""
    found: list[int] = []
    below = None
    window = max(64, want * 2)
    for _round in range(MAX_ROUNDS):
        cand = _index_ids(grams, mode=mode, below=below, limit=window)
        if not cand:
            return found
        ok = set(qs.filter(id__in=cand).values_list("id", flat=True))
        found.extend(i for i in cand if i in ok)
        if len(found) >= want or len(cand) < window:
            return found[:want] if len(found) >= want else found
        below = cand[-1]
        window = min(window * 4, WINDOW)  # a narrow scope filters out much: take bigger bites
    # Very common words in a narrow scope: let the database intersect in one query.
    rest = list(qs.filter(id__lt=below).filter(id__in=_all_ids_sql(grams, mode)).order_by("-id").values_list("id", flat=True)[: want - len(found)])
    return found + rest


def _all_ids_sql(grams, mode):
    if connection.vendor == "postgresql":
        cond, params = _pg_condition(grams, mode)
        return RawSQL(f"SELECT id FROM {MarketEntity._meta.db_table} WHERE {cond}", params)
    return RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [_fts_match(grams, mode)])


def in_grid(user, grid_id: int, *, limit: int = 20) -> list[MarketEntity]:
    """The first ``limit`` entities placed in a grid, by name, as ``user`` may see them."""
    return list(MarketEntity.objects.scoped(user).filter(grid_id=grid_id).order_by("name")[:limit])


def map_points(user, bbox, *, limit: int = MAP_POINT_LIMIT) -> dict:
    """Scoped entities with coordinates inside ``bbox`` as a GeoJSON FeatureCollection (the grid
    map's point layer). ``truncated`` tells the map that more entities lie in the view than were sent."""
    x0, y0, x1, y1 = bbox
    limit = max(1, min(int(limit), MAP_POINT_MAX))
    qs = (
        MarketEntity.objects.scoped(user)
        .filter(lng__gte=x0, lng__lte=x1, lat__gte=y0, lat__lte=y1)
        .order_by("pk")
        .values_list("pk", "credit_code", "name", "status", "lng", "lat", "grid_id")[: limit + 1]
    )
    rows = list(qs)
    url = reverse("entities:detail", args=["__CC__"])
    truncated = len(rows) > limit
    features = [
        {
            "type": "Feature",
            "id": pk,
            "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "properties": {"credit_code": cc, "name": name, "status": status, "grid": grid_id, "url": url.replace("__CC__", cc)},
        }
        for pk, cc, name, status, lng, lat, grid_id in rows[:limit]
    ]
    return {"type": "FeatureCollection", "features": features, "truncated": truncated, "limit": limit}
