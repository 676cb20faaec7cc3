"""“My work” on the phone: the officer's assigned open tasks, one row per entity (one visit covers
every task of the entity, 进一次门查多项事), by due date, or nearest first when the phone gives its
position; overdue rows marked."""
from __future__ import annotations

import math

from django.utils import timezone

from zhijian.supervision.choices import TaskState
from zhijian.supervision.models import Task

# The states in which the task waits for the officer's visit (review and after are someone else's).
WORK_STATES = (TaskState.DISPATCHED, TaskState.ACCEPTED, TaskState.EXECUTING)
LIMIT = 200  # tasks read (the assignee/state index); a phone list longer than this is not a day's work


def distance_m(lng1, lat1, lng2, lat2) -> float:
    """Great-circle distance in metres (haversine; GCJ-02 both sides, so the offset cancels)."""
    rad = math.radians
    dlat, dlng = rad(lat2 - lat1), rad(lng2 - lng1)
    a = math.sin(dlat / 2) ** 2 + math.cos(rad(lat1)) * math.cos(rad(lat2)) * math.sin(dlng / 2) ** 2
    return 6371000 * 2 * math.asin(math.sqrt(a))


def position(params) -> tuple[float, float] | None:
    """``lng``/``lat`` from the query string, when both are sane numbers inside China's box."""
    try:
        lng, lat = float(params.get("lng", "")), float(params.get("lat", ""))
    except ValueError:
        return None
    if 73 <= lng <= 136 and 3 <= lat <= 54:
        return lng, lat
    return None


def my_work(user, *, at: tuple[float, float] | None = None, lines: dict | None = None) -> dict:
    lines = lines or {}
    today = timezone.localdate()
    tasks = list(Task.objects.scoped(user).filter(assignee=user, state__in=WORK_STATES).select_related("entity")
                 .order_by("due_on", "id")[:LIMIT])
    rows: dict[int, dict] = {}
    for t in tasks:
        if t.entity_id is None:
            continue  # a place without a registry entry is not inspected from the phone
        e = t.entity
        row = rows.get(e.pk)
        if row is None:
            row = rows[e.pk] = {
                "entity": {"credit_code": e.credit_code, "name": e.name, "address": e.address, "lng": e.lng, "lat": e.lat},
                "tasks": [], "due_on": None, "overdue": False, "distance_m": None,
            }
            if at is not None and e.lng is not None and e.lat is not None:
                row["distance_m"] = round(distance_m(at[0], at[1], e.lng, e.lat))
        overdue = bool(t.overdue or (t.due_on and t.due_on < today))
        row["tasks"].append({
            "id": t.pk, "number": t.number, "title": t.title, "business_line": t.business_line,
            "business_line_label": lines.get(t.business_line, ""), "state": t.state, "state_label": t.get_state_display(),
            "due_on": t.due_on.isoformat() if t.due_on else None, "overdue": overdue,
        })
        if t.due_on and (row["due_on"] is None or t.due_on.isoformat() < row["due_on"]):
            row["due_on"] = t.due_on.isoformat()
        row["overdue"] = row["overdue"] or overdue
    out = list(rows.values())
    by_due = lambda r: (r["due_on"] is None, r["due_on"] or "")  # noqa: E731
    if at is not None:
        out.sort(key=lambda r: (r["distance_m"] is None, r["distance_m"] or 0, *by_due(r)))
    else:
        out.sort(key=by_due)
    return {"today": today.isoformat(), "nearby": at is not None, "rows": out,
            "overdue": sum(1 for r in out if r["overdue"]), "tasks": sum(len(r["tasks"]) for r in out)}
