"""The working-day ordinal calendar (``WorkdayOrdinal``): working days between two dates in SQL.

Each day carries the count of working days from an anchor day, so the working days in (a, b] are
``ordinal(b) − ordinal(a)`` — one indexed lookup per date inside the aggregate query, instead of
a Python loop per row. Days come from ``deadlines.workdays.is_workday`` (holiday table, then
chinese-calendar): a year neither knows is left out, never guessed, so figures in working days
skip the items whose dates fall in it.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Max, Min
from django.utils import timezone

from zhijian.deadlines.workdays import CalendarUnknownYear, is_workday

from .models import WorkdayOrdinal

ONE = dt.timedelta(days=1)
EARLIEST = dt.date(2000, 1, 1)


def _workday(d: dt.date) -> bool | None:
    try:
        return is_workday(d)
    except CalendarUnknownYear:
        return None


def ensure(first: dt.date, last: dt.date) -> int:
    """Fill the calendar so it covers [first, last] (as far as the schedule is known); rows added."""
    first = max(first, EARLIEST)
    last = max(last, first)
    bounds = WorkdayOrdinal.objects.aggregate(lo=Min("date"), hi=Max("date"))
    rows: list[WorkdayOrdinal] = []
    if bounds["lo"] is None:
        anchor = min(last, timezone.localdate())
        wd = _workday(anchor)
        if wd is None:
            return 0
        rows.append(WorkdayOrdinal(date=anchor, is_workday=wd, ordinal=0))
        lo = hi = rows[0]
    else:
        if bounds["lo"] <= first and bounds["hi"] >= last:
            return 0
        lo = WorkdayOrdinal.objects.get(date=bounds["lo"])
        hi = WorkdayOrdinal.objects.get(date=bounds["hi"])
    # Forward: ordinal(d) = ordinal(d − 1) + [d is a working day].
    d, o = hi.date, hi.ordinal
    while d < last:
        d += ONE
        wd = _workday(d)
        if wd is None:
            break
        o += wd
        rows.append(WorkdayOrdinal(date=d, is_workday=wd, ordinal=o))
    # Backward: ordinal(d − 1) = ordinal(d) − [d is a working day].
    d, o, wd = lo.date, lo.ordinal, lo.is_workday
    while d > first:
        o -= wd
        d -= ONE
        wd = _workday(d)
        if wd is None:
            break
        rows.append(WorkdayOrdinal(date=d, is_workday=wd, ordinal=o))
    # Values are a pure function of the schedule: a concurrent filler writes the same rows.
    WorkdayOrdinal.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def on_holiday_change(sender, instance, **kwargs):
    """A holiday changed: every ordinal from its date on may be wrong; ``ensure`` refills them."""
    WorkdayOrdinal.objects.filter(date__gte=instance.date).delete()
