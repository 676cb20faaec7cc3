"""C5 statistics and C7 efficiency watch: pure, scoped read functions returning rows.

Every figure comes from one aggregate query per table (``values(...).annotate(...)``: GROUP BY in
the database); Python only turns the few grouped rows into rates, hours and labels. What each
figure means is in docs/statistics.md.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Avg, Sum, Count, DateTimeField, DurationField, Exists, ExpressionWrapper, F, IntegerField, OuterRef, Q, Subquery,
)
from django.db.models.functions import Substr, TruncDate, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.coordination import queries as coordination_queries
from zhijian.coordination.choices import OPEN_PUSH_STATES, PushState
from zhijian.geo.models import Division
from zhijian.coordination.models import SupervisionMatter
from zhijian.org.models import Bureau, Department
from zhijian.grid.choices import OPEN_STATES as OPEN_CASE_STATES, CaseState, ItemType, WarningLevel
from zhijian.grid.models import GridCase, Warning
from zhijian.supervision.choices import OPEN_STATES as OPEN_TASK_STATES, TaskSource, TaskState
from zhijian.supervision.models import Task

from . import rollups, workcal
from .models import STATS_AREA_LENGTH, PushDay, TaskDay, WorkdayOrdinal

PUSH_GROUPS = ("department", "town", "matter", "period")
PERIODS = ("day", "week", "month")
DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3
# Who may read statistics: leaders and dispatchers (the supervision commission's view), legal
# reviewers, and department staff (their own department's push figures only).
STATS_ROLES = ("leader", "dispatcher", "legal_reviewer", "department_staff")
TOWN_CODE_LENGTH = 9  # division level 4 (乡镇街道): 2+2+2+3 digits


@dataclass(frozen=True)
class DateRange:
    """Local calendar days ``start`` … ``end``, both included."""

    start: dt.date
    end: dt.date

    @property
    def since(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))

    @property
    def until(self) -> dt.datetime:
        """Exclusive upper bound: midnight after ``end``."""
        return timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))

    def q(self, field: str = "created_at") -> Q:
        return Q(**{f"{field}__gte": self.since, f"{field}__lt": self.until})


def parse_range(start: str | None, end: str | None, *, today: dt.date | None = None) -> DateRange:
    """The range a user asked for (ISO dates); default the last 30 days; at most three years."""
    today = today or timezone.localdate()

    def parse(raw):
        try:
            return dt.date.fromisoformat((raw or "").strip()) if raw else None
        except ValueError:
            return None

    to = parse(end) or today
    since = parse(start) or (to - dt.timedelta(days=DEFAULT_DAYS - 1))
    if since > to:
        since, to = to, since
    if (to - since).days > MAX_DAYS:
        since = to - dt.timedelta(days=MAX_DAYS)
    return DateRange(since, to)


def is_department_user(user) -> bool:
    """Department staff without a bureau: they see their own department's push items only."""
    return bool(getattr(user, "department_id", None)) and not getattr(user, "bureau_id", None)


# --- shared pieces -------------------------------------------------------------------------------


def _duration(end: str, start: str):
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _ordinal(field: str):
    """The working-day ordinal of the local date of ``field`` (NULL outside the known calendar)."""
    outer = ExpressionWrapper(OuterRef(field), output_field=DateTimeField())
    return Subquery(WorkdayOrdinal.objects.filter(date=TruncDate(outer)).values("ordinal")[:1],
                    output_field=IntegerField())


def workdays_between(end: str, start: str):
    """Working days from ``start`` to ``end`` (local dates), by the ordinal calendar."""
    return ExpressionWrapper(_ordinal(end) - _ordinal(start), output_field=IntegerField())


def _hours(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds() / 3600, 1)
    return round(float(value) / 3_600_000_000, 1)  # microseconds (a backend without intervals)


def _days(value) -> float | None:
    return None if value is None else round(float(value), 1)


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _ensure_calendar(rng: DateRange) -> None:
    workcal.ensure(rng.start, max(rng.end, timezone.localdate()))


def _period_trunc(period: str, field: str = "created_at"):
    return {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}[period](field)


def _period_label(value, period: str) -> tuple[str, str]:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if period == "month":
        return value.strftime("%Y-%m"), value.strftime("%Y-%m")
    if period == "week":
        year, week, _wd = value.isocalendar()
        return value.isoformat(), _("%(year)s 年第 %(week)s 周（%(monday)s 起）") % {"year": year, "week": week, "monday": value.isoformat()}
    return value.isoformat(), value.isoformat()


# --- C5: push items ------------------------------------------------------------------------------


def push_items(user, rng: DateRange):
    """The push items the user may see, pushed inside the range (department staff: their own)."""
    return coordination_queries.push_items(user).filter(rng.q("created_at"))


def push_overdue_q(now: dt.datetime) -> Q:
    """Open past its due time, or finished after it."""
    return Q(state__in=OPEN_PUSH_STATES, due_at__lt=now) | Q(state=PushState.FINISHED, finished_at__gt=F("due_at"))


def _push_metrics(now: dt.datetime) -> dict:
    finished = Q(state=PushState.FINISHED)
    overdue = push_overdue_q(now)
    return {
        "pushed": Count("id"),
        "claimed": Count("id", filter=Q(claimed_at__isnull=False)),
        "done": Count("id", filter=finished),
        "open": Count("id", filter=Q(state__in=OPEN_PUSH_STATES)),
        "returned": Count("id", filter=Q(state=PushState.RETURNED)),
        "reassigned": Count("id", filter=Q(state=PushState.REASSIGNED)),
        "overdue": Count("id", filter=overdue),
        "claim_avg": Avg(_duration("claimed_at", "created_at"), filter=Q(claimed_at__isnull=False)),
        "finish_avg": Avg(_duration("finished_at", "created_at"), filter=finished),
        "finish_wd_avg": Avg(workdays_between("finished_at", "created_at"), filter=finished),
    }


def _push_row(key, label, agg: dict) -> dict:
    handled = agg["pushed"] - agg["returned"] - agg["reassigned"]
    return {
        "key": key, "label": label,
        "pushed": agg["pushed"], "claimed": agg["claimed"], "done": agg["done"], "open": agg["open"],
        "returned": agg["returned"], "reassigned": agg["reassigned"], "handled": handled, "overdue": agg["overdue"],
        "completion_rate": _rate(agg["done"], handled), "overdue_rate": _rate(agg["overdue"], handled),
        "claim_hours": _hours(agg["claim_avg"]), "finish_hours": _hours(agg["finish_avg"]),
        "finish_workdays": _days(agg["finish_wd_avg"]),
    }


PUSH_SUMS = ("n", "claimed", "late", "claim_n", "claim_seconds", "finish_n", "finish_seconds", "wd_n", "wd_sum")
PUSH_KEYS = ("day", "department_id", "matter_id", "area", "state")


def push_day_rows(user, rng: DateRange, now: dt.datetime, keys=PUSH_KEYS) -> list[dict] | None:
    """Rows (``keys`` — of day, department, matter, town, state — and the sums of ``PushDay``) for
    the range: the rollup for the days before today, today's items counted live (with every key);
    None when the rollup cannot answer."""
    today = timezone.localdate(now)
    if rollups.run(rollups.PUSH_DAYS, today=today) is None or not rollups.answers(user):
        return None
    rows = []
    last_closed = min(rng.end, today - dt.timedelta(days=1))
    if rng.start <= last_closed:
        stored = rollups.scoped(PushDay.objects.filter(day__gte=rng.start, day__lte=last_closed), user, department=True)
        rows += list(stored.order_by().values(*keys).annotate(**{k: Sum(k) for k in PUSH_SUMS}))
    if rng.start <= today <= rng.end:
        rows += list(rollups.push_day_queryset(now, base=push_items(user, DateRange(today, today))))
    return rows


def _push_fold(rows: list[dict]) -> dict:
    def avg(seconds, n):
        return dt.timedelta(seconds=sum(float(r[seconds]) for r in rows) / n) if n else None

    claim_n, finish_n, wd_n = (sum(r[k] for r in rows) for k in ("claim_n", "finish_n", "wd_n"))
    by_state = {}
    for r in rows:
        by_state[r["state"]] = by_state.get(r["state"], 0) + r["n"]
    return {
        "pushed": sum(by_state.values()), "claimed": sum(r["claimed"] for r in rows),
        "done": by_state.get(PushState.FINISHED, 0), "open": sum(by_state.get(s, 0) for s in OPEN_PUSH_STATES),
        "returned": by_state.get(PushState.RETURNED, 0), "reassigned": by_state.get(PushState.REASSIGNED, 0),
        "overdue": sum(r["late"] for r in rows),
        "claim_avg": avg("claim_seconds", claim_n), "finish_avg": avg("finish_seconds", finish_n),
        "finish_wd_avg": sum(r["wd_sum"] for r in rows) / wd_n if wd_n else None,
    }


def _push_stats_rolled(rows: list[dict], group: str, period: str) -> dict:
    by: dict = {}
    out = []
    if group in ("department", "matter"):
        field = f"{group}_id"
        for r in rows:
            by.setdefault(r[field], []).append(r)
        model = Department if group == "department" else SupervisionMatter
        names = dict(model.objects.filter(pk__in=[k for k in by if k is not None]).values_list("pk", "name"))
        nulls_first = connection.features.nulls_order_largest is False

        def order(pk):
            name = names.get(pk)
            return ((name is None) != nulls_first, name or "", pk or 0)

        out = [_push_row(pk, names.get(pk), _push_fold(by[pk])) for pk in sorted(by, key=order)]
    elif group == "town":
        for r in rows:
            by.setdefault(r["area"][:TOWN_CODE_LENGTH], []).append(r)
        names = dict(Division.objects.filter(code__in=list(by)).values_list("code", "name"))
        out = [_push_row(town, names.get(town) or town, _push_fold(by[town])) for town in sorted(by)]
    else:
        if period not in PERIODS:
            raise ValueError(period)
        for r in rows:
            day = r["day"]
            key = day - dt.timedelta(days=day.weekday()) if period == "week" else day.replace(day=1) if period == "month" else day
            by.setdefault(key, []).append(r)
        for key in sorted(by):
            k, label = _period_label(key, period)
            out.append(_push_row(k, label, _push_fold(by[key])))
    return {"group": group, "period": period, "rows": out, "total": _push_row("", _("合计"), _push_fold(rows))}


def push_stats(user, rng: DateRange, *, group: str, period: str = "day", now: dt.datetime | None = None,
               live: bool = False, memo: dict | None = None) -> dict:
    """Push figures grouped by department, town, matter or period: ``{"rows": [...], "total": {...}}``;
    from the daily rollup plus today's items live (``live=True``, or a rollup that cannot answer:
    counted from the table)."""
    if group not in PUSH_GROUPS:
        raise ValueError(group)
    now = now or timezone.now()
    if live:
        rows = None
    else:  # grouped in the database by the one key this table needs (and the state)
        keys = ({"department": "department_id", "matter": "matter_id", "town": "area", "period": "day"}[group], "state")
        memo = {} if memo is None else memo
        key = ("push", rng, now, keys)
        if key not in memo:
            memo[key] = push_day_rows(user, rng, now, keys)
        rows = memo[key]
    if rows is not None:
        return _push_stats_rolled(rows, group, period)
    _ensure_calendar(rng)
    qs = push_items(user, rng).order_by()
    metrics = _push_metrics(now)
    rows = []
    if group == "department":
        for r in qs.values("department_id", "department__name").annotate(**metrics).order_by("department__name", "department_id"):
            rows.append(_push_row(r["department_id"], r["department__name"], r))
    elif group == "matter":
        for r in qs.values("matter_id", "matter__name").annotate(**metrics).order_by("matter__name", "matter_id"):
            rows.append(_push_row(r["matter_id"], r["matter__name"], r))
    elif group == "town":
        grouped = list(qs.annotate(town=Substr("division_code", 1, TOWN_CODE_LENGTH)).values("town").annotate(**metrics).order_by("town"))
        names = dict(Division.objects.filter(code__in=[r["town"] for r in grouped]).values_list("code", "name"))
        for r in grouped:
            rows.append(_push_row(r["town"], names.get(r["town"]) or r["town"], r))
    else:
        if period not in PERIODS:
            raise ValueError(period)
        for r in qs.annotate(p=_period_trunc(period)).values("p").annotate(**metrics).order_by("p"):
            key, label = _period_label(r["p"], period)
            rows.append(_push_row(key, label, r))
    total = _push_row("", _("合计"), qs.aggregate(**metrics))
    return {"group": group, "period": period, "rows": rows, "total": total}


# --- C5: supervision tasks ----------------------------------------------------------------------


def tasks(user, rng: DateRange):
    """Tasks registered inside the range and the user's jurisdiction (none for department staff)."""
    if is_department_user(user):
        return Task.objects.none()
    return Task.objects.scoped(user).filter(rng.q("created_at"))


def task_metrics(today: dt.date) -> dict:
    archived = Q(state=TaskState.ARCHIVED)
    late = (Q(overdue=True) | Q(state__in=OPEN_TASK_STATES, due_on__lt=today)
            | Q(archived, due_on__isnull=False, closed_at__date__gt=F("due_on")))
    return {
        "total": Count("id"),
        "done": Count("id", filter=archived),
        "open": Count("id", filter=Q(state__in=OPEN_TASK_STATES)),
        "cancelled": Count("id", filter=Q(state=TaskState.CANCELLED)),
        "overdue": Count("id", filter=late & ~Q(state=TaskState.CANCELLED)),
        "open_overdue": Count("id", filter=Q(state__in=OPEN_TASK_STATES, due_on__lt=today)),
        "finish_avg": Avg(_duration("closed_at", "created_at"), filter=archived),
        "finish_wd_avg": Avg(workdays_between("closed_at", "created_at"), filter=archived),
    }


def _task_row(key, label, agg: dict) -> dict:
    handled = agg["total"] - agg["cancelled"]
    return {
        "key": key, "label": label, "total": agg["total"], "done": agg["done"], "open": agg["open"],
        "cancelled": agg["cancelled"], "handled": handled, "overdue": agg["overdue"], "open_overdue": agg["open_overdue"],
        "completion_rate": _rate(agg["done"], handled), "overdue_rate": _rate(agg["overdue"], handled),
        "finish_hours": _hours(agg["finish_avg"]), "finish_workdays": _days(agg["finish_wd_avg"]),
    }


TASK_SUMS = ("n", "late", "open_late", "finish_n", "finish_seconds", "wd_n", "wd_sum")


def task_day_rows(user, rng: DateRange, today: dt.date) -> list[dict] | None:
    """Rows (bureau_id, state, source and the sums of ``TaskDay``) for the range: the rollup for
    the days before today, today's tasks counted live. None when the rollup cannot answer (never
    refreshed, not refreshed today, a jurisdiction finer than a town, department staff)."""
    if is_department_user(user) or rollups.run(rollups.TASK_DAYS, today=today) is None or not rollups.answers(user, length=STATS_AREA_LENGTH):
        return None
    keys = ("bureau_id", "state", "source")
    rows = []
    last_closed = min(rng.end, today - dt.timedelta(days=1))
    if rng.start <= last_closed:
        stored = TaskDay.objects.filter(day__gte=rng.start, day__lte=last_closed)
        rows += list(rollups.scoped(stored, user).order_by().values(*keys).annotate(**{k: Sum(k) for k in TASK_SUMS}))
    if rng.start <= today <= rng.end:
        live = rollups.task_day_queryset(today, base=tasks(user, DateRange(today, today)))
        rows += _regroup(list(live), keys)
    return rows


def _regroup(rows: list[dict], keys) -> list[dict]:
    out: dict[tuple, dict] = {}
    for r in rows:
        agg = out.setdefault(tuple(r[k] for k in keys), {**{k: r[k] for k in keys}, **{s: 0 for s in TASK_SUMS}})
        for s in TASK_SUMS:
            agg[s] += r[s] or 0
    return list(out.values())


def _fold(rows: list[dict]) -> dict:
    """The task metrics (as ``task_metrics`` aggregates them) from rollup rows."""
    total = sum(r["n"] for r in rows)
    finish_n = sum(r["finish_n"] for r in rows)
    wd_n = sum(r["wd_n"] for r in rows)
    return {
        "total": total,
        "done": sum(r["n"] for r in rows if r["state"] == TaskState.ARCHIVED),
        "open": sum(r["n"] for r in rows if r["state"] in OPEN_TASK_STATES),
        "cancelled": sum(r["n"] for r in rows if r["state"] == TaskState.CANCELLED),
        "overdue": sum(r["late"] for r in rows),
        "open_overdue": sum(r["open_late"] for r in rows),
        "finish_avg": dt.timedelta(seconds=sum(float(r["finish_seconds"]) for r in rows) / finish_n) if finish_n else None,
        "finish_wd_avg": sum(r["wd_sum"] for r in rows) / wd_n if wd_n else None,
    }


def _task_stats_rolled(rows: list[dict], group: str) -> dict:
    by: dict = {}
    field = {"state": "state", "source": "source", "unit": "bureau_id"}[group]
    for r in rows:
        by.setdefault(r[field], []).append(r)
    out = []
    if group == "state":
        labels = dict(TaskState.choices)
        out = [_task_row(v, str(labels[v]), _fold(by[v])) for v in TaskState.values if v in by]
    elif group == "source":
        labels = dict(TaskSource.choices)
        order = [*TaskSource.values, *sorted(set(by) - set(TaskSource.values))]
        out = [_task_row(v, str(labels.get(v, v)), _fold(by[v])) for v in order if v in by]
    else:
        names = dict(Bureau.objects.filter(pk__in=[k for k in by if k is not None]).values_list("pk", "name"))
        nulls_first = connection.features.nulls_order_largest is False  # SQLite sorts NULL first, PostgreSQL last

        def order(pk):
            name = names.get(pk)
            return ((name is None) != nulls_first, name or "", pk or 0)

        out = [_task_row(pk, names.get(pk) or _("未派发"), _fold(by[pk])) for pk in sorted(by, key=order)]
    return {"group": group, "rows": out, "total": _task_row("", _("合计"), _fold(rows))}


def task_stats(user, rng: DateRange, *, group: str, today: dt.date | None = None, live: bool = False,
               memo: dict | None = None) -> dict:
    """Supervision tasks grouped by ``state``, ``source`` or ``unit`` (the 承办机构): from the
    daily rollup for the days before today plus today's tasks live; ``live=True`` (or a rollup
    that cannot answer) counts the range from the tasks table."""
    today = today or timezone.localdate()
    if group not in ("state", "source", "unit"):
        raise ValueError(group)
    if live:
        rows = None
    elif memo is not None:  # one read of the rollup for the page's three task tables
        key = ("task", rng, today)
        if key not in memo:
            memo[key] = task_day_rows(user, rng, today)
        rows = memo[key]
    else:
        rows = task_day_rows(user, rng, today)
    if rows is not None:
        return _task_stats_rolled(rows, group)
    _ensure_calendar(rng)
    qs = tasks(user, rng).order_by()
    metrics = task_metrics(today)
    rows = []
    if group == "state":
        labels = dict(TaskState.choices)
        counted = {r["state"]: r for r in qs.values("state").annotate(**metrics)}
        rows = [_task_row(value, str(labels[value]), counted[value]) for value in TaskState.values if value in counted]
    elif group == "source":
        labels = dict(TaskSource.choices)
        counted = {r["source"]: r for r in qs.values("source").annotate(**metrics)}
        order = [*TaskSource.values, *sorted(set(counted) - set(TaskSource.values))]
        rows = [_task_row(value, str(labels.get(value, value)), counted[value]) for value in order if value in counted]
    elif group == "unit":
        for r in qs.values("bureau_id", "bureau__name").annotate(**metrics).order_by("bureau__name", "bureau_id"):
            rows.append(_task_row(r["bureau_id"], r["bureau__name"] or _("未派发"), r))
    else:
        raise ValueError(group)
    return {"group": group, "rows": rows, "total": _task_row("", _("合计"), qs.aggregate(**metrics))}


# --- C5: grid cases -----------------------------------------------------------------------------


def grid_cases(user, rng: DateRange):
    if is_department_user(user):
        return GridCase.objects.none()
    return GridCase.objects.scoped(user).filter(rng.q("created_at"))


def grid_stats(user, rng: DateRange, *, today: dt.date | None = None) -> dict:
    """Grid cases by step (state): count, overdue now (open past the step's due date) and ever warned overdue."""
    today = today or timezone.localdate()
    warned = Exists(Warning.objects.filter(item_type=ItemType.GRID_CASE, item_id=OuterRef("pk"), level__gte=WarningLevel.OVERDUE))
    metrics = {
        "total": Count("id"),
        "overdue": Count("id", filter=Q(state__in=OPEN_CASE_STATES, step_due_on__lt=today)),
        "warned": Count("id", filter=Q(warned)),
        "finish_avg": Avg(_duration("closed_at", "created_at"), filter=Q(state=CaseState.CLOSED)),
    }
    qs = grid_cases(user, rng).order_by()
    labels = dict(CaseState.choices)
    counted = {r["state"]: r for r in qs.values("state").annotate(**metrics)}

    def row(key, label, agg):
        return {"key": key, "label": label, "total": agg["total"], "overdue": agg["overdue"], "warned": agg["warned"],
                "overdue_rate": _rate(agg["overdue"], agg["total"]), "finish_hours": _hours(agg["finish_avg"])}

    rows = [row(v, str(labels[v]), counted[v]) for v in CaseState.values if v in counted]
    # The total from the grouped rows (no second pass): the average is over closed cases only, all
    # in the closed group.
    closed = counted.get(CaseState.CLOSED, {}).get("finish_avg")
    total = {k: sum(r[k] for r in counted.values()) for k in ("total", "overdue", "warned")} | {"finish_avg": closed}
    return {"group": "state", "rows": rows, "total": row("", _("合计"), total)}


# --- C7: efficiency watch -----------------------------------------------------------------------


def _mondays(rng: DateRange) -> list[dt.date]:
    d = rng.start - dt.timedelta(days=rng.start.weekday())
    out = []
    while d <= rng.end:
        out.append(d)
        d += dt.timedelta(days=7)
    return out


def _week_key(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def efficiency(user, rng: DateRange, *, now: dt.datetime | None = None, chart_units: int = 10) -> dict:
    """Completion and overdue rates per unit (department: push items; bureau/station: tasks), as a
    weekly series by the week the work arrived, and a ranking over the whole range, worst first."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    push_metrics = _push_metrics(now)
    t_metrics = task_metrics(today)
    units: dict[tuple[str, int], dict] = {}

    def unit(kind, pk, name):
        return units.setdefault((kind, pk), {"kind": kind, "id": pk, "name": name, "weeks": {}})

    push_qs = push_items(user, rng).order_by()
    for r in (push_qs.annotate(week=TruncWeek("created_at")).values("department_id", "department__name", "week")
              .annotate(pushed=push_metrics["pushed"], done=push_metrics["done"], overdue=push_metrics["overdue"],
                        returned=push_metrics["returned"], reassigned=push_metrics["reassigned"])):
        u = unit("department", r["department_id"], r["department__name"])
        u["weeks"][_week_key(r["week"])] = (r["pushed"] - r["returned"] - r["reassigned"], r["done"], r["overdue"])
    task_qs = tasks(user, rng).filter(bureau__isnull=False).order_by()
    for r in (task_qs.annotate(week=TruncWeek("created_at")).values("bureau_id", "bureau__name", "week")
              .annotate(total=t_metrics["total"], done=t_metrics["done"], overdue=t_metrics["overdue"],
                        cancelled=t_metrics["cancelled"])):
        u = unit("bureau", r["bureau_id"], r["bureau__name"])
        u["weeks"][_week_key(r["week"])] = (r["total"] - r["cancelled"], r["done"], r["overdue"])

    weeks = _mondays(rng)
    kind_labels = {"department": _("部门"), "bureau": _("监管机构")}
    ranking = []
    for u in units.values():
        handled = sum(v[0] for v in u["weeks"].values())
        done = sum(v[1] for v in u["weeks"].values())
        overdue = sum(v[2] for v in u["weeks"].values())
        if not handled:
            continue
        ranking.append({
            "kind": u["kind"], "kind_label": str(kind_labels[u["kind"]]), "id": u["id"], "name": u["name"],
            "handled": handled, "done": done, "overdue": overdue,
            "completion_rate": _rate(done, handled), "overdue_rate": _rate(overdue, handled),
            "completion": [_rate(u["weeks"][w][1], u["weeks"][w][0]) if w in u["weeks"] else None for w in weeks],
            "overdue_series": [_rate(u["weeks"][w][2], u["weeks"][w][0]) if w in u["weeks"] else None for w in weeks],
        })
    # Worst first: highest overdue rate, then lowest completion rate, then the most work.
    ranking.sort(key=lambda r: (-r["overdue_rate"], r["completion_rate"], -r["handled"], r["name"] or ""))
    for i, r in enumerate(ranking, 1):
        r["rank"] = i
    chart = {
        "weeks": [w.isoformat() for w in weeks],
        "series": [{"name": r["name"], "kind": r["kind"], "overdue": r["overdue_series"], "completion": r["completion"]}
                   for r in ranking[:chart_units]],
        "units": [r["name"] for r in ranking[:chart_units]],
        "overdue_rate": [r["overdue_rate"] for r in ranking[:chart_units]],
        "completion_rate": [r["completion_rate"] for r in ranking[:chart_units]],
    }
    return {"weeks": weeks, "ranking": ranking, "chart": chart}
