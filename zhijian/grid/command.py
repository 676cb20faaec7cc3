"""Reads for the command centre (/grid/command/): true totals, counts per area from GROUP BY, the
open items of a small area, and the changes since a cursor. Always scoped to the person's
jurisdiction; nothing here is capped silently (a capped answer says so and carries the total)."""
from __future__ import annotations

import datetime as dt
import hashlib

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone

from zhijian.core.scoping import jurisdiction_of
from zhijian.geo import queries as geo_queries
from zhijian.geo.models import Division, Grid

from .choices import OPEN_STATES
from .duty import live_positions
from .models import GridCase

# Area levels of the counts layer: division levels by code length, or the grids themselves.
AREA_LEVELS = {"city": (2, 4), "county": (3, 6), "town": (4, 9), "village": (5, 12)}
ITEM_LIMIT = 500      # individual items in one bbox at most; beyond it the answer says so
CHANGE_LIMIT = 500    # changes in one feed answer at most; beyond it the client reloads


def open_cases(user):
    return GridCase.objects.scoped(user).filter(state__in=OPEN_STATES)


def _overdue_q(today):
    return Q(step_due_on__lt=today)


def totals(user, today=None) -> dict:
    """Every open item in the jurisdiction (one aggregate query): open, overdue, with a position."""
    today = today or timezone.localdate()
    row = open_cases(user).aggregate(open=Count("id"), overdue=Count("id", filter=_overdue_q(today)),
                                     located=Count("id", filter=Q(lng__isnull=False, lat__isnull=False)))
    row["unlocated"] = row["open"] - row["located"]
    return row


def stamp(user, today=None) -> str:
    """A fingerprint of the open items a user sees: changes with any case write (updated_at, a new
    or ended case), with the day (overdue flags) and at least every 5 minutes (writes through
    ``QuerySet.update`` do not touch updated_at)."""
    today = today or timezone.localdate()
    row = GridCase.objects.scoped(user).aggregate(last=Max("updated_at"), top=Max("id"), n=Count("id", filter=Q(state__in=OPEN_STATES)))
    bucket = int(timezone.now().timestamp() // 300)
    raw = f"{sorted(jurisdiction_of(user))}|{row['last']}|{row['top']}|{row['n']}|{today}|{bucket}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def area_counts(user, level: str, bbox=None, today=None) -> list[dict]:
    """Open and overdue items per area (GROUP BY division-code prefix, or grid), with the area's
    name and label point (centroid of its grid outlines). Areas without an outline come with
    lng/lat null: they are counted, just not placed on the map. ``bbox`` keeps areas whose point
    lies inside it (and those without a point)."""
    today = today or timezone.localdate()
    qs = open_cases(user)
    if level == "grid":
        rows = qs.values("grid_id").annotate(open=Count("id"), overdue=Count("id", filter=_overdue_q(today)))
        points = geo_queries.grid_centroids()
        names = {}
        keys = [r["grid_id"] for r in rows if r["grid_id"]]
        for i in range(0, len(keys), 900):
            names.update(Grid.objects.filter(pk__in=keys[i:i + 900]).values_list("pk", "name"))
        out = [{"key": str(r["grid_id"] or ""), "name": names.get(r["grid_id"], ""), "point": points.get(r["grid_id"]),
                "open": r["open"], "overdue": r["overdue"]} for r in rows]
    else:
        dlevel, length = AREA_LEVELS[level]
        rows = (qs.annotate(area=Substr("division_code", 1, length)).values("area")
                .annotate(open=Count("id"), overdue=Count("id", filter=_overdue_q(today))))
        points = geo_queries.division_centroids(dlevel)
        rows = list(rows)
        names = {}
        keys = [r["area"] for r in rows]
        for i in range(0, len(keys), 900):
            names.update(Division.objects.filter(code__in=keys[i:i + 900]).values_list("code", "name"))
        out = [{"key": r["area"], "name": names.get(r["area"], ""), "point": points.get(r["area"]), "open": r["open"],
                "overdue": r["overdue"]} for r in rows]
    result = []
    for a in out:
        p = a.pop("point")
        a["lng"], a["lat"] = (p if p else (None, None))
        if bbox and p and not (bbox[0] <= p[0] <= bbox[2] and bbox[1] <= p[1] <= bbox[3]):
            continue
        result.append(a)
    result.sort(key=lambda a: (-a["open"], a["key"]))
    return result


def case_row(c, today) -> dict:
    return {"id": c.pk, "number": c.number, "label": c.label, "state": c.get_state_display(), "lng": c.lng, "lat": c.lat,
            "due": c.step_due_on.isoformat() if c.step_due_on else "", "overdue": c.is_overdue(today), "open": c.is_open,
            "url": reverse("grid:case_detail", args=[c.pk])}


def items_in(user, bbox, limit=ITEM_LIMIT, today=None) -> dict:
    """Open items with a position inside ``bbox``: all of them when at most ``limit``, otherwise
    none and the total (the map then keeps the counts and asks to zoom in)."""
    today = today or timezone.localdate()
    x0, y0, x1, y1 = bbox
    qs = open_cases(user).filter(lng__gte=x0, lng__lte=x1, lat__gte=y0, lat__lte=y1)
    rows = list(qs.select_related("entity").order_by("step_due_on", "id")[:limit + 1])
    if len(rows) > limit:
        return {"total": qs.count(), "limit": limit, "truncated": True, "items": []}
    return {"total": len(rows), "limit": limit, "truncated": False, "items": [case_row(c, today) for c in rows]}


def parse_cursor(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.timezone.utc)


def changes(user, since: dt.datetime | None, today=None) -> dict:
    """The cases written after ``since`` (opened, moved, ended), at most CHANGE_LIMIT, and the
    cursor for the next call (the latest write seen). Without ``since``: only the cursor."""
    today = today or timezone.localdate()
    scoped = GridCase.objects.scoped(user)
    if since is None:
        last = scoped.aggregate(last=Max("updated_at"))["last"]
        return {"cursor": (last or timezone.now()).isoformat(), "changes": [], "more": False}
    rows = list(scoped.filter(updated_at__gt=since).select_related("entity").order_by("updated_at", "id")[:CHANGE_LIMIT + 1])
    more = len(rows) > CHANGE_LIMIT
    rows = rows[:CHANGE_LIMIT]
    cursor = max([since] + [c.updated_at for c in rows])
    return {"cursor": cursor.isoformat(), "changes": [case_row(c, today) for c in rows], "more": more}


def officers(user) -> list[dict]:
    return [{"id": s.user_id, "name": str(s.user), "lng": s.lng, "lat": s.lat, "at": timezone.localtime(s.reported_at).isoformat()}
            for s in live_positions(user).order_by("user_id")]


def bounds(user) -> list[float] | None:
    """[min lng, min lat, max lng, max lat] of the user's grids (else of their open items): the
    map opens on it at once, before any data arrives."""
    row = Grid.objects.scoped(user).filter(level=1).aggregate(a=Min("min_lng"), b=Min("min_lat"), c=Max("max_lng"), d=Max("max_lat"))
    if row["a"] is None:
        row = open_cases(user).filter(lng__isnull=False).aggregate(a=Min("lng"), b=Min("lat"), c=Max("lng"), d=Max("lat"))
    if row["a"] is None:
        return None
    return [row["a"], row["b"], row["c"], row["d"]]
