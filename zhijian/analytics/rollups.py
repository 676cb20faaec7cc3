"""Rollups: small tables of figures the leader overview and the statistics page read instead of
scanning millions of business rows per page view.

Each rollup is rebuilt by one set-based ``INSERT … SELECT … GROUP BY`` per kind, inside one
transaction that first deletes the old rows, so a reader sees either the old figures or the new
ones, never half (PostgreSQL's MVCC; SQLite serialises writers). The SELECT is the very queryset
the live figures use (same filters, unscoped), so a rollup row sums to the live count for any
scope the rollup can answer: the user's jurisdiction, a unit (by its bureau ids) and a division,
as long as every division prefix is at most ``AREA_LENGTH`` digits (a town); anything finer is
small and is counted live.

The ``analytics.rollups`` sweep (sweeps.py) runs :func:`refresh` every minute; the demo build runs
it once at its end. What the pages say about freshness is in docs/statistics.md ("汇总与时效").
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Func, Q, Sum
from django.db.models.functions import Coalesce, Substr, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.clues.choices import ClueState
from zhijian.clues.models import Clue
from zhijian.coordination.choices import PushState
from zhijian.coordination.models import PushItem
from zhijian.core.scoping import jurisdiction_of, scope_q
from zhijian.grid.models import GridCase, Visit, Warning
from zhijian.inspections.models import Inspection
from zhijian.supervision import queries as task_queries
from zhijian.supervision.choices import OPEN_STATES as OPEN_TASK_STATES, TaskState
from zhijian.supervision.models import Task

from . import workcal
from .models import AREA_LENGTH, STATS_AREA_LENGTH, DayCount, OpenWork, PushDay, RollupRun, TaskDay

log = logging.getLogger(__name__)

OPEN_WORK = "open_work"
TASK_DAYS = "task_days"
PUSH_DAYS = "push_days"
DAY_COUNTS = "day_counts"
MEASURES = ("open_n", "soon_n", "overdue_n", "claim_n", "feedback_n", "verifying_n")
TREND_SERIES = ("task_new", "task_closed", "inspections", "visits", "warnings")
REFILL_DAYS = 2  # trend days recounted on every run (yesterday may still gain rows written at midnight)
TREND_KEEP_DAYS = 120


class Seconds(Func):
    """Seconds from the second expression to the first (a float on every backend)."""

    arg_joiner = " - "
    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        (a, pa), (b, pb) = (compiler.compile(e) for e in self.get_source_expressions())
        return f"((julianday({a}) - julianday({b})) * 86400.0)", [*pa, *pb]


def area(field: str = "division_code", length: int = AREA_LENGTH):
    return Substr(field, 1, length)


# --- writing --------------------------------------------------------------------------------------


def _insert(model, columns: dict, qs) -> int:
    """INSERT INTO model (columns) SELECT … FROM (qs) — ``columns`` maps a model column to a
    constant (a tuple ``(value,)``) or to the name of a column of ``qs``."""
    sql, params = qs.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    names, exprs, consts = [], [], []
    for col, src in columns.items():
        names.append(connection.ops.quote_name(col))
        if isinstance(src, tuple):
            exprs.append("%s")
            consts.append(src[0])
        else:
            exprs.append("s." + connection.ops.quote_name(src))
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(exprs)} FROM ({sql}) s", [*consts, *params])
        return cur.rowcount


def _mark(name: str, as_of: dt.datetime, started: float, rows: int) -> float:
    seconds = round(time.perf_counter() - started, 3)
    RollupRun.objects.update_or_create(name=name, defaults={"as_of": as_of, "seconds": seconds, "rows": rows})
    log.info("rollup %s: %s rows in %.3f s", name, rows, seconds)
    return seconds


def open_work_querysets(now: dt.datetime) -> dict:
    """Per kind, the unscoped grouped queryset whose rows are the rollup's rows (the same
    conditions as the overview's live figures: ``overview.kind_q`` and the board's filters)."""
    # overview imports this module's readers; the conditions live there (one definition each).
    from .overview import OPEN_CLUE_STATES, Window, kind_q

    w = Window(now=now, today=timezone.localdate(now))
    today = w.today
    tasks = (Task.objects.order_by().annotate(area=area()).values("bureau_id", "area", "state")
             .annotate(n=Count("id"), open_n=Count("id", filter=Q(state__in=OPEN_TASK_STATES)), soon_n=Count("id", filter=task_queries.soon_q(today)),
                       overdue_n=Count("id", filter=task_queries.overdue_q(today))))
    cases = (GridCase.objects.filter(kind_q("case", w)).order_by().annotate(area=area()).values("bureau_id", "area")
             .annotate(open_n=Count("id"), soon_n=Count("id", filter=kind_q("case", w, due="soon")),
                       overdue_n=Count("id", filter=kind_q("case", w, due="overdue"))))
    pushes = (PushItem.objects.order_by().annotate(area=area()).values("department_id", "area")
              .annotate(claim_n=Count("id", filter=kind_q("push", w, state="claim")),
                        feedback_n=Count("id", filter=kind_q("push", w, state="feedback")),
                        soon_n=Count("id", filter=kind_q("push", w, due="soon")),
                        overdue_n=Count("id", filter=kind_q("push", w, due="overdue"))))
    clues = (Clue.objects.filter(state__in=OPEN_CLUE_STATES).order_by().annotate(area=area())
             .values("bureau_id", "department_id", "area")
             .annotate(open_n=Count("id"), verifying_n=Count("id", filter=Q(state=ClueState.VERIFYING)),
                       soon_n=Count("id", filter=kind_q("clue", w, due="soon")),
                       overdue_n=Count("id", filter=kind_q("clue", w, due="overdue"))))
    return {"task": tasks, "case": cases, "push": pushes, "clue": clues}


def refresh_open_work(now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    started = time.perf_counter()
    rows = 0
    with transaction.atomic():
        OpenWork.objects.all().delete()
        for kind, qs in open_work_querysets(now).items():
            fields = set(qs.query.values_select) | set(qs.query.annotation_select)
            cols = {"kind": (kind,), "area": "area"}
            for key in ("bureau_id", "department_id", "state", "n", *MEASURES):
                cols[key] = key if key in fields else ((None,) if key.endswith("_id") else ("",) if key == "state" else (0,))
            rows += _insert(OpenWork, cols, qs)
        _mark(OPEN_WORK, now, started, rows)
    return rows


def task_day_queryset(today: dt.date, *, since: dt.datetime | None = None, until: dt.datetime | None = None, base=None):
    """Tasks (``base``, default all) grouped by registration day, unit, town, state and source,
    with the statistics sums."""
    # queries imports this module's readers; the metric definitions live there (one definition).
    from .queries import task_metrics, workdays_between

    m = task_metrics(today)
    archived = Q(state=TaskState.ARCHIVED)
    qs = (Task.objects.all() if base is None else base).order_by()
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return (qs.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()), area=area(length=STATS_AREA_LENGTH))
            .values("day", "bureau_id", "area", "state", "source")
            .annotate(n=Count("id"), late=m["overdue"], open_late=m["open_overdue"],
                      finish_n=Count("id", filter=archived), finish_seconds=Coalesce(Sum(Seconds(F("closed_at"), F("created_at")), filter=archived), 0.0),
                      wd_n=Count(workdays_between("closed_at", "created_at"), filter=archived),
                      wd_sum=Coalesce(Sum(workdays_between("closed_at", "created_at"), filter=archived), 0)))


def refresh_task_days(now: dt.datetime | None = None) -> int:
    """Every day before today, rebuilt (a task registered long ago still changes state)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    started = time.perf_counter()
    first = Task.objects.order_by("created_at").values_list("created_at", flat=True).first()
    if first is not None:
        workcal.ensure(timezone.localdate(first), today)
    midnight = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    with transaction.atomic():
        TaskDay.objects.all().delete()
        qs = task_day_queryset(today, until=midnight)
        cols = {k: k for k in ("day", "bureau_id", "area", "state", "source", "n", "late", "open_late", "finish_n", "wd_n")}
        rows = _insert(TaskDay, cols | {"finish_seconds": "finish_seconds", "wd_sum": "wd_sum"}, qs)
        _mark(TASK_DAYS, now, started, rows)
    return rows


def push_day_queryset(now: dt.datetime, *, until: dt.datetime | None = None, base=None):
    """Pushed items (``base``, default all) grouped by push day, department, matter, town and state,
    with the statistics sums (late as of ``now``)."""
    # queries imports this module's readers; the metric definitions live there (one definition).
    from .queries import push_overdue_q, workdays_between

    finished = Q(state=PushState.FINISHED)
    claimed = Q(claimed_at__isnull=False)
    qs = (PushItem.objects.all() if base is None else base).order_by()
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return (qs.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()), area=area())
            .values("day", "department_id", "matter_id", "area", "state")
            .annotate(n=Count("id"), claimed=Count("id", filter=claimed), late=Count("id", filter=push_overdue_q(now)),
                      claim_n=Count("id", filter=claimed),
                      claim_seconds=Coalesce(Sum(Seconds(F("claimed_at"), F("created_at")), filter=claimed), 0.0),
                      finish_n=Count("id", filter=finished),
                      finish_seconds=Coalesce(Sum(Seconds(F("finished_at"), F("created_at")), filter=finished), 0.0),
                      wd_n=Count(workdays_between("finished_at", "created_at"), filter=finished),
                      wd_sum=Coalesce(Sum(workdays_between("finished_at", "created_at"), filter=finished), 0)))


def refresh_push_days(now: dt.datetime | None = None) -> int:
    """Every day before today, rebuilt (an item pushed long ago is still claimed and finished)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    started = time.perf_counter()
    first = PushItem.objects.order_by("created_at").values_list("created_at", flat=True).first()
    if first is not None:
        workcal.ensure(timezone.localdate(first), today)
    midnight = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    with transaction.atomic():
        PushDay.objects.all().delete()
        cols = ("day", "department_id", "matter_id", "area", "state", "n", "claimed", "late", "claim_n", "claim_seconds",
                "finish_n", "finish_seconds", "wd_n", "wd_sum")
        rows = _insert(PushDay, {k: k for k in cols}, push_day_queryset(now, until=midnight))
        _mark(PUSH_DAYS, now, started, rows)
    return rows


def trend_querysets(first: dt.date, until: dt.date) -> dict:
    """Per trend series, rows (day, bureau_id, area, n) for local days first … until-1."""
    from .overview import DONE_INSPECTIONS  # the overview defines which inspections count as done

    tz = timezone.get_current_timezone()
    lo = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    hi = timezone.make_aware(dt.datetime.combine(until, dt.time.min))

    def by_day(qs, field, bureau="bureau_id", division="division_code"):
        return (qs.filter(**{f"{field}__gte": lo, f"{field}__lt": hi}).order_by()
                .annotate(day=TruncDate(field, tzinfo=tz), unit=F(bureau), area=area(division))
                .values("day", "unit", "area").annotate(n=Count("id")))

    visits = (Visit.objects.filter(visited_on__gte=first, visited_on__lt=until).order_by()
              .annotate(day=F("visited_on"), unit=F("case__bureau_id"), area=area("case__division_code"))
              .values("day", "unit", "area").annotate(n=Count("id")))
    return {
        "task_new": by_day(Task.objects.all(), "created_at"),
        "task_closed": by_day(Task.objects.all(), "closed_at"),
        "inspections": by_day(Inspection.objects.filter(state__in=DONE_INSPECTIONS), "finished_at"),
        "visits": visits,
        "warnings": by_day(Warning.objects.all(), "raised_at"),
    }


def refresh_day_counts(now: dt.datetime | None = None, *, days: int = 31) -> int:
    """Closed days are fixed: the first run fills ``days`` days, later runs only the last
    ``REFILL_DAYS`` closed days (and any gap since the last run)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    started = time.perf_counter()
    last = RollupRun.objects.filter(name=DAY_COUNTS).first()
    first = today - dt.timedelta(days=days)
    if last is not None:
        first = max(first, min(timezone.localdate(last.as_of), today) - dt.timedelta(days=REFILL_DAYS))
    rows = 0
    with transaction.atomic():
        DayCount.objects.filter(Q(day__gte=first) | Q(day__lt=today - dt.timedelta(days=TREND_KEEP_DAYS))).delete()
        for series, qs in trend_querysets(first, today).items():
            rows += _insert(DayCount, {"series": (series,), "day": "day", "bureau_id": "unit", "area": "area", "n": "n"}, qs)
        _mark(DAY_COUNTS, now, started, rows)
    return rows


FAST = (OPEN_WORK, DAY_COUNTS)  # every minute
SLOW = (TASK_DAYS, PUSH_DAYS)  # every ten minutes (a pass over every task and pushed item)


def refresh(now: dt.datetime | None = None, *, names=FAST + SLOW) -> str:
    """The named rollups, each in its own transaction; returns a one-line summary with durations."""
    now = now or timezone.now()
    out = []
    funcs = {OPEN_WORK: refresh_open_work, DAY_COUNTS: refresh_day_counts, TASK_DAYS: refresh_task_days,
             PUSH_DAYS: refresh_push_days}
    labels = {OPEN_WORK: _("在办工作汇总"), DAY_COUNTS: _("每日趋势汇总"), TASK_DAYS: _("任务日汇总"), PUSH_DAYS: _("推送日汇总")}
    for name, func in ((n, funcs[n]) for n in names):
        t = time.perf_counter()
        rows = func(now)
        out.append(_("%(name)s %(rows)s 行，用时 %(seconds)s 秒") % {"name": labels[name], "rows": rows,
                                                           "seconds": f"{time.perf_counter() - t:.2f}"})
    return "；".join(str(x) for x in out)


# --- reading --------------------------------------------------------------------------------------


def run(name: str, *, today: dt.date | None = None) -> RollupRun | None:
    """The last run of rollup ``name`` if it is from today (local), else None (read live)."""
    r = RollupRun.objects.filter(name=name).first()
    if r is None or timezone.localdate(r.as_of) != (today or timezone.localdate()):
        return None
    return r


def answers(user, *, division: str = "", length: int = AREA_LENGTH) -> bool:
    """Can a rollup keyed by the first ``length`` digits of the division code answer this scope exactly?"""
    prefixes = jurisdiction_of(user)
    return bool(prefixes) and all(len(p) <= length for p in prefixes) and len(division or "") <= length


def scoped(qs, user, *, bureau_ids=(), division: str = "", department: bool = False, unit_field: str = "bureau_id"):
    """Rollup rows inside the user's jurisdiction, narrowed to units and a division prefix."""
    qs = qs.filter(scope_q("area", jurisdiction_of(user)))
    if bureau_ids:
        qs = qs.filter(**{f"{unit_field}__in": bureau_ids})
    if division:
        qs = qs.filter(area__startswith=division)
    if department and getattr(user, "department_id", None):
        qs = qs.filter(department_id=user.department_id)
    return qs


def board_counts(user, f, today: dt.date) -> dict | None:
    """The unit board's header for filter ``f`` (its state and due ignored) from the open-work
    rollup: tasks by state and the overdue count, as of the last refresh; None when the rollup
    cannot answer (not refreshed today, a filter it does not key, a scope finer than a town)."""
    if f.assignee is not None or f.source or f.created or f.closed:
        return None
    stamp = run(OPEN_WORK, today=today)
    if stamp is None or not answers(user, division=f.division):
        return None
    bureau_ids = ()
    if f.bureau is not None:
        bureau_ids = tuple(task_queries.bureaus_under(user, f.bureau))
        if not bureau_ids:
            return {"state_counts": {}, "overdue": 0, "soon": 0, "as_of": stamp.as_of}
    rows = scoped(OpenWork.objects.filter(kind="task"), user, bureau_ids=bureau_ids, division=f.division).order_by()
    counts, overdue, soon = {}, 0, 0
    for r in rows.values("state").annotate(n=Sum("n"), overdue=Sum("overdue_n"), soon=Sum("soon_n")):
        counts[r["state"]] = r["n"]
        overdue += r["overdue"] or 0
        soon += r["soon"] or 0
    return {"state_counts": counts, "overdue": overdue, "soon": soon, "as_of": stamp.as_of}
