"""Reads, always scoped to the user's jurisdiction."""
from __future__ import annotations

from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.utils import timezone

from zhijian.deadlines.models import Clock

from .choices import OPEN_STATES, PROCEDURE, TaskState
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


def unit_board(user, *, state: str = "", overdue: bool = False, limit: int = 300) -> dict:
    """All tasks of the user's jurisdiction: counts by state and the (filtered) list, overdue first."""
    today = timezone.localdate()
    qs = tasks_for(user)
    counts = dict(qs.order_by().values_list("state").annotate(n=Count("id")))
    open_qs = qs.filter(state__in=OPEN_STATES)
    late = open_qs.filter(Q(overdue=True) | Q(due_on__lt=today)).count()
    total = sum(counts.values())
    done = counts.get(TaskState.ARCHIVED, 0)
    listing = qs
    if state:
        listing = listing.filter(state=state)
    else:
        listing = listing.filter(state__in=OPEN_STATES)
    if overdue:
        listing = listing.filter(Q(overdue=True) | Q(due_on__lt=today), state__in=OPEN_STATES)
    return {
        "counts": [(value, label, counts.get(value, 0)) for value, label in TaskState.choices],
        "total": total,
        "archived": done,
        "overdue": late,
        "progress": round(100 * done / total) if total else 0,
        "tasks": with_clocks(_overdue_first(listing, today)[:limit]),
    }


def templates_for(user):
    return TaskTemplate.objects.scoped(user)
