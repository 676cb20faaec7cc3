"""The registry tally: entities per (division, status, type), kept exact by every write path.

A list of 7,300,000 entities cannot ``COUNT(*)`` its scope on every page, but a total a person
cannot trust is worse than none. So each registry write adds its delta here in its own
transaction (``n = n + delta``, one upsert per key: concurrent writers never lose a count), and a
page sums the few thousand rows under its scope's division prefixes.

Write paths that keep it: ``services`` (create, address move, status change), the importer's
chunked inserts and updates, and deletion (a ``post_delete`` handler, so admin and cascades count
too). ``recount()`` (``zhijian recount-entities``, nightly) rebuilds it from the table.
"""
from __future__ import annotations

from collections import Counter

from django.db import connection, transaction
from django.db.models import Count, Sum

from zhijian.core.scoping import jurisdiction_of, scope_q

from .models import EntityTally, MarketEntity

Key = tuple[str, str, str]  # (division_code up to the town, status, entity_type)
# Keyed by town (9 digits), not village: a province is ~15,000 rows and a city ~1,300, so a total is a
# sum over a few hundred index entries. A village-level filter or jurisdiction counts the table
# instead (a village holds hundreds of entities, not millions).
KEY_LENGTH = 9


def key(division_code: str, status: str, entity_type: str) -> Key:
    return ((division_code or "")[:KEY_LENGTH], status, entity_type)


def key_of(entity) -> Key:
    if isinstance(entity, dict):
        return key(entity["division_code"], entity["status"], entity["entity_type"])
    return key(entity.division_code, entity.status, entity.entity_type)


def adjust(deltas: Counter | dict) -> None:
    """Add ``deltas`` ({key: +n/−n}) to the tally, atomically per key."""
    rows = [(d, s, t, n) for (d, s, t), n in deltas.items() if n]
    if not rows:
        return
    table = EntityTally._meta.db_table
    with connection.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} (division_code, status, entity_type, n) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (division_code, status, entity_type) DO UPDATE SET n = {table}.n + excluded.n",
            rows,
        )


def moved(before: Key, after: Key) -> None:
    """One entity's key changed (status, division)."""
    if before != after:
        adjust({before: -1, after: 1})


def count(user=None, *, division: str = "", status: str = "", entity_type: str = "") -> int:
    """Entities in ``user``'s jurisdiction (all, without a user) matching the filters the tally keys
    (check ``answers`` first: a division or jurisdiction finer than a town is not kept)."""
    qs = EntityTally.objects.all()
    if user is not None:
        qs = qs.filter(scope_q("division_code", jurisdiction_of(user)))
    if division:
        qs = qs.filter(division_code__startswith=division)
    if status:
        qs = qs.filter(status=status)
    if entity_type:
        qs = qs.filter(entity_type=entity_type)
    return qs.aggregate(s=Sum("n"))["s"] or 0


# Filters the tally can answer; any other (name, industry, grid) needs the table.
KEYED = frozenset({"division", "status", "entity_type"})


def answers(filters: dict, user=None) -> bool:
    """Whether ``count`` gives the exact total of a list with these filters (for this user)."""
    if set(k for k, v in filters.items() if v not in (None, "")) - KEYED:
        return False
    if len(filters.get("division") or "") > KEY_LENGTH:
        return False
    return user is None or all(len(p) <= KEY_LENGTH for p in jurisdiction_of(user))


RECOUNT_SQL = ("INSERT INTO {table} (division_code, status, entity_type, n) SELECT substr(division_code, 1, {n}), status, entity_type, "
               "count(*) FROM {src} GROUP BY substr(division_code, 1, {n}), status, entity_type")


@transaction.atomic
def recount() -> int:
    """Rebuild the tally from the table; returns the number of keys."""
    table, src = EntityTally._meta.db_table, MarketEntity._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cur.execute(f"DELETE FROM {table}")
        cur.execute(RECOUNT_SQL.format(table=table, src=src, n=KEY_LENGTH))
        return cur.rowcount


def differences() -> dict[Key, tuple[int, int]]:
    """Keys where the tally and ``COUNT(*)`` disagree: {key: (tally, counted)} (empty when right)."""
    counted: Counter = Counter()
    for d, s, t, n in (MarketEntity.objects.order_by().values("division_code", "status", "entity_type")
                       .annotate(n=Count("id")).values_list("division_code", "status", "entity_type", "n")):
        counted[key(d, s, t)] += n
    kept = {(d, s, t): n for d, s, t, n in EntityTally.objects.exclude(n=0).values_list("division_code", "status", "entity_type", "n")}
    return {k: (kept.get(k, 0), counted.get(k, 0)) for k in set(counted) | set(kept) if kept.get(k, 0) != counted.get(k, 0)}



def on_delete(sender, instance, **kwargs) -> None:
    """``post_delete`` of an entity (admin, cascades, tests): one fewer under its key, in the
    deleting transaction."""
    adjust({key_of(instance): -1})
