"""Reads of the registry, always scoped by jurisdiction."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from django.db import connection
from django.db.models.expressions import RawSQL
from django.urls import reverse
from rapidfuzz import fuzz

from zhijian.core.scoping import jurisdiction_of

from . import creditcode
from .models import MarketEntity
from .text import bigrams, normalise_name

WINDOW = 20_000        # most candidates fetched from the name index in one round
SMALL_SPAN = 32_768    # PostgreSQL: the newest rows checked in place before asking the GIN index
MAX_FENCED = 262_144   # …and at most this many more for a word found often enough
MAX_ROUNDS = 25        # then fall back to one plain query
FTS_TABLE = "entities_name_fts"
MAP_POINT_LIMIT = 2000  # entity points the map asks for by default…
MAP_POINT_MAX = 5000    # …and at most


def _phrase(grams: list[str]) -> str:
    return " ".join(grams)


def _index_ids(grams: list[str], *, mode: str, below: int | None, limit: int, prefixes: tuple[str, ...] = ()) -> list[int]:
    """Ids whose name contains the grams, newest first. mode: phrase | all | half. On PostgreSQL
    ``prefixes`` (the viewer's jurisdiction) is applied inside the probes."""
    if connection.vendor == "postgresql":
        return _pg_index_ids(grams, mode=mode, below=below, limit=limit, prefixes=prefixes)
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


def _scope_sql(prefixes: tuple[str, ...]) -> tuple[str, list]:
    kept = [p for p in prefixes if p]
    if not kept or len(kept) != len(prefixes):  # no prefix, or a national one: no condition
        return "", []
    return " AND (" + " OR ".join(["division_code LIKE %s"] * len(kept)) + ")", [p + "%" for p in kept]


def _pg_index_ids(grams: list[str], *, mode: str, below: int | None, limit: int, prefixes: tuple[str, ...] = ()) -> list[int]:
    """GIN cannot return ids in order, and a word like 有限 matches most rows. So first check the
    newest rows in place (two fenced range scans of 4,096 and 32,768 rows: a common word is answered
    there), then ask the GIN index once for the rest (a rarer word: its few thousand matches are
    fetched and the newest kept). An id range is never intersected with the GIN bitmap: building a
    bitmap of 262,144 primary keys cost more than the heap visits of a rare word's matches."""
    table = MarketEntity._meta.db_table
    cond, params = _pg_condition(grams, mode)
    scope, scope_params = _scope_sql(prefixes)
    with connection.cursor() as cur:
        if below is None:
            cur.execute(f"SELECT max(id) FROM {table}")
            below = (cur.fetchone()[0] or 0) + 1
        hi, span, out, scanned = below - 1, 4096, [], 0
        fenced = (f"SELECT id FROM (SELECT id, name_tsv, division_code FROM {table} WHERE id > %s AND id <= %s "
                  f"ORDER BY id DESC OFFSET 0) r WHERE {cond}{scope} LIMIT %s")
        while hi > 0 and len(out) < limit and span <= SMALL_SPAN:
            lo = max(0, hi - span)
            # OFFSET 0 fences the range scan: the planner must not trade it for a GIN bitmap over
            # every row holding a common word; a few thousand rows are checked in place.
            cur.execute(fenced, [lo, hi, *params, *scope_params, limit - len(out)])
            out.extend(r[0] for r in cur.fetchall())
            scanned += hi - lo
            hi = lo
            span *= 8
        if hi > 0 and len(out) * 4 >= limit > len(out):
            # A word found often enough that the rest lies within a few times the rows already checked
            # (a trade word in a city's scope): keep checking in place rather than visit every one of
            # its matches in the table through the GIN index.
            lo = max(0, hi - min(MAX_FENCED, scanned * limit // max(1, len(out))))
            cur.execute(fenced, [lo, hi, *params, *scope_params, limit - len(out)])
            out.extend(r[0] for r in cur.fetchall())
            hi = lo
        if hi > 0 and len(out) < limit:
            # ``id + 0``: the range is a filter on the GIN bitmap's rows, not a second bitmap.
            sql = f"SELECT id FROM {table} WHERE {cond} AND id + 0 <= %s{scope} ORDER BY id DESC LIMIT %s"
            cur.execute(sql, [*params, hi, *scope_params, limit - len(out)])
            out.extend(r[0] for r in cur.fetchall())
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
    prefixes = jurisdiction_of(user)
    if division and any(division.startswith(p) for p in prefixes):
        # A division inside the jurisdiction implies it: one prefix condition, not two (the planner
        # multiplies the two selectivities and then picks a plan for 84 rows when there are 21,000).
        qs = MarketEntity.objects.filter(division_code__startswith=division)
    else:
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
    prefixes = jurisdiction_of(user)
    ids = _collect(qs, grams, "phrase", want, prefixes)
    if ids or len(grams) < 2:
        return ids, False
    ids = _fuzzy_ids(qs, q, prefixes)
    target = normalise_name(q)
    names = dict(qs.filter(id__in=ids).values_list("id", "name"))
    ranked = sorted(names, key=lambda i: (-fuzz.partial_ratio(target, normalise_name(names[i])), -i))
    return ranked[:want], True


# Words most names end with: a fuzzy piece made only of them would find everything.
COMMON_TAILS = ("股份有限公司", "有限责任公司", "有限公司", "专业合作社", "合作社", "分公司", "公司", "经营部", "门市部", "商行",
                "工作室", "服务部", "店")
FUZZY_POOL = 100  # candidates taken per piece of the name


def _fuzzy_ids(qs, q: str, prefixes) -> list[int]:
    """Names close to ``q`` when none contains it (a mistyped character or two). A typo spoils at
    most two neighbouring bigrams, so ``q`` (without its legal form) is cut into three pieces (two
    when short) and each piece is looked up as a phrase: one of them is intact. The candidates are
    then ranked by similarity (``matching_ids``)."""
    core = "".join(ch for ch in normalise_name(q) if ch.isalnum())
    for tail in COMMON_TAILS:
        if core.endswith(tail) and len(core) - len(tail) >= 3:
            core = core[: -len(tail)]
            break
    grams = bigrams(core)
    if len(grams) < 2:
        return []
    found: dict[int, None] = {}
    # Longer pieces first; when none of them is found (several typos, an inserted word), pieces of
    # three characters.
    for size in dict.fromkeys((-(-len(grams) // (3 if len(grams) >= 6 else 2)), 2)):
        for i in range(0, len(grams), size):
            piece = grams[i : i + size]
            if len(piece) == 1 and len(grams) > 2:
                continue  # one bigram is any name with those two characters
            found.update(dict.fromkeys(_collect(qs, piece, "phrase", FUZZY_POOL, prefixes)))
        if found:
            break
    return list(found)


def _collect(qs, grams, mode, want, prefixes=()) -> list[int]:
    """Walk the name index newest-first in windows, keeping ids that pass scope and filters."""
    found: list[int] = []
    below = None
    window = max(64, want * 2)
    for _round in range(MAX_ROUNDS):
        cand = _index_ids(grams, mode=mode, below=below, limit=window, prefixes=prefixes)
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
