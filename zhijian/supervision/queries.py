"""Reads, always scoped to the user's jurisdiction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace

from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.utils import timezone

from zhijian.deadlines.models import Clock
from zhijian.org.models import Bureau

from .choices import OPEN_STATES, PROCEDURE, TaskSource, TaskState
from .models import Task, TaskTemplate


def tasks_for(user):
    return Task.objects.scoped(user).select_related("entity", "bureau", "assignee")


def with_clocks(tasks) -> list:
    """``tasks`` (a list) with their clocks loaded in one query (``task.clock``: due date,
    provisional mark, overdue state) instead of one query per task."""
    tasks = list(tasks)
    ids = [t.pk for t in tasks if t.deadline_rule]
    found = {c.object_id: c for c in Clock.objects.filter(procedure=PROCEDURE, name="main", object_id__in=ids)} if ids else {}
    for t in tasks:
        t.__dict__["clock"] = found.get(t.pk)  # fills the cached property
    return tasks


def _overdue_first(qs, today=None):
    today = today or timezone.localdate()
    late = Case(When(Q(overdue=True) | Q(due_on__lt=today), then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.annotate(late_rank=late).order_by("late_rank", F("due_on").asc(nulls_last=True), "id")


def my_board(user, *, limit: int = 200) -> dict:
    """Tasks assigned to ``user`` that are still open, and their unit's unclaimed tasks; overdue first."""
    base = tasks_for(user).filter(state__in=OPEN_STATES)
    mine = _overdue_first(base.filter(assignee=user).exclude(state=TaskState.APPROVED))
    unclaimed = base.none()
    if user.bureau_id:
        unclaimed = _overdue_first(base.filter(state=TaskState.DISPATCHED, assignee__isnull=True, bureau_id=user.bureau_id))
    return {"mine": with_clocks(mine[:limit]), "unclaimed": with_clocks(unclaimed[:limit])}


# --- the unit board's filters (also what the leader overview's figures link to) ---------------

SOON_DAYS = 3  # "due soon": open, not yet overdue, due within this many calendar days (today included)
DUE_VALUES = ("overdue", "soon")


@dataclass(frozen=True)
class TaskFilter:
    """One vocabulary for the board's query string and the overview's links.

    ``state``: a ``TaskState`` value, "" for every open task, "all" for every task; ``due``:
    "overdue" or "soon"; ``bureau``: the 承办机构 and the units under it (by jurisdiction);
    ``division``: a division code prefix; ``created``/``closed``: tasks registered / archived on or
    after that day.
    """

    state: str = ""
    due: str = ""
    bureau: int | None = None
    division: str = ""
    assignee: int | None = None
    source: str = ""
    created: dt.date | None = None
    closed: dt.date | None = None

    @classmethod
    def from_query(cls, data) -> "TaskFilter":
        def number(raw):
            return int(raw) if str(raw or "").isdigit() else None

        def day(raw):
            try:
                return dt.date.fromisoformat(raw) if raw else None
            except ValueError:
                return None

        state = data.get("state", "")
        division = data.get("division", "")
        return cls(
            state=state if state in TaskState.values or state == "all" else "",
            due=data.get("due", "") if data.get("due", "") in DUE_VALUES else ("overdue" if data.get("overdue") == "1" else ""),
            bureau=number(data.get("bureau")), division=division if division.isdigit() and len(division) <= 12 else "",
            assignee=number(data.get("assignee")), source=data.get("source", "") if data.get("source", "") in TaskSource.values else "",
            created=day(data.get("created")), closed=day(data.get("closed")),
        )

    def query(self, **changes) -> dict:
        """The query-string parameters of this filter (with ``changes``), empty ones left out."""
        values = {**{f.name: getattr(self, f.name) for f in fields(self)}, **changes}
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items() if v not in ("", None)}


def overdue_q(today: dt.date) -> Q:
    """Open and past its due date (or marked overdue by the sweep)."""
    return Q(state__in=OPEN_STATES) & (Q(overdue=True) | Q(due_on__lt=today))


def soon_q(today: dt.date) -> Q:
    """Open, not overdue, due today or within ``SOON_DAYS`` days."""
    return Q(state__in=OPEN_STATES, overdue=False, due_on__gte=today, due_on__lt=today + dt.timedelta(days=SOON_DAYS))


def bureaus_under(user, bureau_id: int) -> list[int]:
    """The bureau and every bureau of the user's jurisdiction whose jurisdiction lies inside it
    (a county bureau and its stations); [] when the bureau is not the user's to see."""
    bureaus = list(Bureau.objects.scoped(user).only("id", "jurisdiction", "level"))
    top = next((b for b in bureaus if b.pk == bureau_id), None)
    if top is None:
        return []
    outer = top.jurisdiction_prefixes()
    return [b.pk for b in bureaus if b.pk == top.pk or (b.jurisdiction_prefixes() and all(
        any(p.startswith(o) for o in outer) for p in b.jurisdiction_prefixes()))]


def filtered_tasks(user, f: TaskFilter, *, today: dt.date | None = None):
    """The user's tasks matching ``f`` (unordered)."""
    today = today or timezone.localdate()
    qs = Task.objects.scoped(user)
    if f.state == "":
        qs = qs.filter(state__in=OPEN_STATES)
    elif f.state != "all":
        qs = qs.filter(state=f.state)
    if f.due == "overdue":
        qs = qs.filter(overdue_q(today))
    elif f.due == "soon":
        qs = qs.filter(soon_q(today))
    if f.bureau is not None:
        qs = qs.filter(bureau_id__in=bureaus_under(user, f.bureau))
    if f.division:
        qs = qs.filter(division_code__startswith=f.division)
    if f.assignee is not None:
        qs = qs.filter(assignee_id=f.assignee)
    if f.source:
        qs = qs.filter(source=f.source)
    if f.created:
        qs = qs.filter(created_at__gte=_midnight(f.created))
    if f.closed:
        qs = qs.filter(closed_at__gte=_midnight(f.closed))
    return qs


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def board_order(qs):
    """Earliest due date first (overdue tasks come first), no date last; the partial index
    ``task_open_due`` serves this order for open tasks."""
    return qs.order_by(F("due_on").asc(nulls_last=True), "id")


# Who can answer the board's header from a maintained rollup instead of counting the tasks table:
# callables (user, filter, today) -> {"state_counts", "overdue", "soon", "as_of"} or None. Filled by a
# higher app (analytics) in its AppConfig.ready(); the first answer wins.
BOARD_COUNTERS: list = []


def register_board_counter(func) -> None:
    if func not in BOARD_COUNTERS:
        BOARD_COUNTERS.append(func)


def unit_board(user, f: TaskFilter | None = None, *, today: dt.date | None = None, live: bool = False) -> dict:
    """The board's header figures for ``f`` without its state: counts by state, overdue and
    archived (from a registered rollup as of its refresh, else one GROUP BY now); and the filtered,
    ordered list (the caller pages it)."""
    f = f or TaskFilter()
    today = today or timezone.localdate()
    rolled = None if live else next((r for r in (c(user, f, today) for c in BOARD_COUNTERS) if r is not None), None)
    if rolled is not None:
        counts, late, soon, as_of = rolled["state_counts"], rolled["overdue"], rolled["soon"], rolled["as_of"]
    else:
        base = filtered_tasks(user, replace(f, state="all", due=""), today=today).order_by()
        counts = dict(base.values_list("state").annotate(n=Count("id")))
        late, soon, as_of = base.filter(overdue_q(today)).count(), None, None
    total = sum(counts.values())
    done = counts.get(TaskState.ARCHIVED, 0)
    return {
        "counts": [(value, label, counts.get(value, 0)) for value, label in TaskState.choices],
        "total": total,
        "open_total": sum(counts.get(s, 0) for s in OPEN_STATES),
        "archived": done,
        "overdue": late,
        "soon": soon,  # known only from the rollup
        "counts_as_of": as_of,  # None: counted now
        "progress": round(100 * done / total) if total else 0,
        "state_counts": counts,
        "listing": board_order(filtered_tasks(user, f, today=today).select_related("entity", "bureau", "assignee")),
    }


def templates_for(user):
    return TaskTemplate.objects.scoped(user)
