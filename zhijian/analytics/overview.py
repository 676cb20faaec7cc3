"""The leader overview (领导驾驶舱): pure, scoped read functions behind the home page of leaders and
dispatchers.

Every figure is the size of a list a person can open: ``figure(...)`` carries the count and the
link to the list behind it (the unit task board for tasks, ``/stats/overview/<kind>/`` for the
rest), and both are computed from the same filter functions here, so a figure always equals the
rows its link shows. Each section is one aggregate query (``values(...).annotate(...)``: GROUP BY in
the database); the open-work figures and the trends' closed days are read from the rollups
(rollups.py, refreshed every minute in the background; the page says as of when), the entity total
from the registry's tally. What each figure means is in docs/statistics.md ("领导首页").
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Substr, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.clues import queries as clue_queries
from zhijian.clues.choices import CLOSED_STATES as CLUE_CLOSED_STATES, PROCEDURE as CLUE_PROCEDURE, ClueState
from zhijian.clues.workflow import VERIFY_CLOCK
from zhijian.coordination import queries as coordination_queries
from zhijian.coordination.choices import OPEN_PUSH_STATES, PushState
from zhijian.core.scoping import jurisdiction_of
from zhijian.deadlines.choices import ClockState
from zhijian.deadlines.models import Clock
from zhijian.entities import tally
from zhijian.geo.models import Division
from zhijian.grid.choices import OPEN_STATES as OPEN_CASE_STATES
from zhijian.grid.models import GridCase, Visit, Warning
from zhijian.inspections.choices import Conclusion, InspectionState
from zhijian.inspections.models import Inspection
from zhijian.org.models import Bureau
from zhijian.supervision import queries as task_queries
from zhijian.supervision.choices import OPEN_STATES as OPEN_TASK_STATES

from . import rollups
from .models import AREA_LENGTH, DayCount, OpenWork

SOON_DAYS = task_queries.SOON_DAYS
TREND_DAYS = 30
OVERVIEW_ROLES = ("leader", "dispatcher")
PERIODS = ("today", "week")
LIST_KINDS = ("case", "push", "clue", "inspection", "visit", "warning")
DONE_INSPECTIONS = (InspectionState.SIGNED, InspectionState.SEALED)
PROBLEM_CONCLUSIONS = (Conclusion.CORRECT, Conclusion.CASE)
OPEN_CLUE_STATES = tuple(s for s in ClueState.values if s not in CLUE_CLOSED_STATES)


# --- time window ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Today and this week (Monday to today), local time."""

    now: dt.datetime
    today: dt.date
    live: bool = False  # count everything now, ignoring the rollups

    @property
    def week_start(self) -> dt.date:
        return self.today - dt.timedelta(days=self.today.weekday())

    def start(self, period: str) -> dt.date:
        return self.today if period == "today" else self.week_start

    def since(self, period: str) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.start(period), dt.time.min))


def window(now: dt.datetime | None = None, *, live: bool = False) -> Window:
    now = now or timezone.now()
    return Window(now=now, today=timezone.localdate(now), live=live)


# --- scope: the user's jurisdiction, narrowed to a unit and/or a division -------------------------


@dataclass(frozen=True)
class Scope:
    user: object
    bureau: Bureau | None = None
    division: Division | None = None
    bureau_ids: tuple[int, ...] = ()

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Division prefixes the unit covers (its jurisdiction), for records without a unit field."""
        return tuple(self.bureau.jurisdiction_prefixes()) if self.bureau else ()

    def params(self, **extra) -> dict:
        out = {}
        if self.bureau:
            out["bureau"] = self.bureau.pk
        if self.division:
            out["division"] = self.division.code
        out.update({k: v for k, v in extra.items() if v not in ("", None)})
        return out


def scope_for(user, *, bureau=None, division=None) -> Scope:
    """The scope a query string asks for; a unit or division outside the user's jurisdiction is ignored."""
    b = Bureau.objects.scoped(user).filter(pk=int(bureau)).first() if str(bureau or "").isdigit() else None
    d = Division.objects.scoped(user).filter(code=division).first() if str(division or "").isdigit() else None
    return Scope(user=user, bureau=b, division=d, bureau_ids=tuple(task_queries.bureaus_under(user, b.pk)) if b else ())


def _unit_q(scope: Scope, field: str) -> Q:
    return Q(**{f"{field}__in": scope.bureau_ids}) if scope.bureau else Q()


def _area_q(scope: Scope, field: str) -> Q:
    """Records without a unit field (pushed items) follow the unit's jurisdiction."""
    if not scope.bureau:
        return Q()
    q = Q(pk__in=[])
    for p in scope.prefixes:
        q |= Q(**{f"{field}__startswith": p})
    return q


def _division_q(scope: Scope, field: str) -> Q:
    return Q(**{f"{field}__startswith": scope.division.code}) if scope.division else Q()


# --- rollups: the open-work figures as of the last background refresh ------------------------------


def _uses_rollup(scope: Scope, w: Window) -> bool:
    """The open-work rollup answers this scope: refreshed today, and every division prefix involved
    (jurisdiction, unit, division) no finer than a town. Otherwise the figures are counted live."""
    if w.live:
        return False
    if rollups.run(rollups.OPEN_WORK, today=w.today) is None:
        return False
    return rollups.answers(scope.user, division=scope.division.code if scope.division else "") and all(
        len(p) <= AREA_LENGTH for p in scope.prefixes)


def _rollup_rows(scope: Scope):
    """OpenWork rows in the scope: the jurisdiction and division by town code; tasks, cases and
    clues by their unit, pushed items by the unit's jurisdiction; pushes and clues of the user's
    department only (as their lists)."""
    qs = rollups.scoped(OpenWork.objects.order_by(), scope.user, division=scope.division.code if scope.division else "")
    if scope.bureau:
        area = Q(pk__in=[])
        for p in scope.prefixes:
            area |= Q(area__startswith=p)
        qs = qs.filter((Q(kind="push") & area) | (~Q(kind="push") & Q(bureau_id__in=scope.bureau_ids)))
    department = getattr(scope.user, "department_id", None)
    if department:
        qs = qs.filter(~Q(kind__in=("push", "clue")) | Q(department_id=department))
    return qs


# --- the base lists (one per kind); figures and drill-down lists both start here -------------------


def tasks(scope: Scope):
    return task_queries.filtered_tasks(scope.user, task_queries.TaskFilter(
        state="all", bureau=scope.bureau.pk if scope.bureau else None, division=scope.division.code if scope.division else ""))


def cases(scope: Scope):
    return GridCase.objects.scoped(scope.user).filter(_unit_q(scope, "bureau_id"), _division_q(scope, "division_code"))


def pushes(scope: Scope):
    return coordination_queries.push_items(scope.user).filter(_area_q(scope, "division_code"), _division_q(scope, "division_code"))


def clues(scope: Scope):
    return clue_queries.clues(scope.user).filter(_unit_q(scope, "bureau_id"), _division_q(scope, "division_code"))


def inspections(scope: Scope):
    return Inspection.objects.scoped(scope.user).filter(_unit_q(scope, "bureau_id"), _division_q(scope, "division_code"))


def visits(scope: Scope):
    return Visit.objects.scoped(scope.user).filter(_unit_q(scope, "case__bureau_id"), _division_q(scope, "case__division_code"))


def warnings(scope: Scope):
    return Warning.objects.scoped(scope.user).filter(_unit_q(scope, "bureau_id"), _division_q(scope, "division_code"))


def _verify_clock(today: dt.date, *, overdue: bool):
    clocks = Clock.objects.filter(procedure=CLUE_PROCEDURE, name=VERIFY_CLOCK, object_id=OuterRef("pk"), state=ClockState.RUNNING)
    if overdue:
        return Exists(clocks.filter(due_on__lt=today))
    return Exists(clocks.filter(due_on__gte=today, due_on__lt=today + dt.timedelta(days=SOON_DAYS)))


def kind_q(kind: str, w: Window, *, state: str = "", due: str = "", period: str = "", problems: bool = False) -> Q:
    """The condition of one drill-down list (and of the figure that links to it)."""
    today, now = w.today, w.now
    soon_until = today + dt.timedelta(days=SOON_DAYS)
    q = Q()
    if kind == "case":
        q &= Q(state=state) if state else Q(state__in=OPEN_CASE_STATES)
        if due == "overdue":
            q &= Q(state__in=OPEN_CASE_STATES, step_due_on__lt=today)
        elif due == "soon":
            q &= Q(state__in=OPEN_CASE_STATES, step_due_on__gte=today, step_due_on__lt=soon_until)
    elif kind == "push":
        stages = {"claim": [PushState.PUSHED], "feedback": [PushState.CLAIMED, PushState.ACCEPTED]}
        if period:  # claimed in the period (whatever the item's state now)
            q &= Q(claimed_at__gte=w.since(period))
        else:
            q &= Q(state__in=stages.get(state, OPEN_PUSH_STATES))
        if due == "overdue":
            q &= Q(state__in=OPEN_PUSH_STATES, due_at__lt=now)
        elif due == "soon":
            q &= Q(state__in=OPEN_PUSH_STATES, due_at__gte=now, due_at__lt=now + dt.timedelta(days=SOON_DAYS))
    elif kind == "clue":
        q &= Q(state=state) if state in ClueState.values else Q(state__in=OPEN_CLUE_STATES)
        if due in ("overdue", "soon"):
            q &= Q(_verify_clock(today, overdue=due == "overdue"))
    elif kind == "inspection":
        q &= Q(state__in=DONE_INSPECTIONS, finished_at__gte=w.since(period or "week"))
        if problems:
            q &= Q(conclusion__in=PROBLEM_CONCLUSIONS)
    elif kind == "visit":
        q &= Q(visited_on__gte=w.start(period or "week"))
        if problems:
            q &= Q(problem_found=True)
    elif kind == "warning":
        q &= Q(raised_at__gte=w.since(period or "week"))
    else:
        raise ValueError(kind)
    return q


BASES = {"case": cases, "push": pushes, "clue": clues, "inspection": inspections, "visit": visits, "warning": warnings}


def drill_list(scope: Scope, kind: str, w: Window, **filters):
    """The rows behind one figure of kind ``kind`` (not a task: tasks are the unit board's)."""
    qs = BASES[kind](scope).filter(kind_q(kind, w, **filters))
    related = {"case": ("entity", "bureau", "assignee"), "push": ("entity", "department", "matter"), "clue": ("department", "bureau", "entity"),
               "inspection": ("entity", "bureau"), "visit": ("case", "officer"), "warning": ("recipient", "bureau")}[kind]
    order = {"case": ("step_due_on", "id"), "push": ("due_at", "id"), "clue": ("-id",), "inspection": ("-finished_at", "-id"),
             "visit": ("-visited_on", "-id"), "warning": ("-raised_at", "-id")}[kind]
    return qs.select_related(*related).order_by(*order)


# --- figures and links ----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _path(name: str, *args) -> str:
    """``reverse`` once per name (a page builds hundreds of figure links)."""
    return reverse(name, args=args or None)


def board_link(scope: Scope, **filters) -> str:
    f = task_queries.TaskFilter(bureau=scope.bureau.pk if scope.bureau else None, division=scope.division.code if scope.division else "",
                                **filters)
    return _path("supervision:unit_board") + "?" + urlencode(f.query())


def list_link(scope: Scope, kind: str, **filters) -> str:
    return _path("analytics:overview_list", kind) + "?" + urlencode(scope.params(**filters))


def overview_link(scope: Scope, *, bureau=None, division=None) -> str:
    """The overview one level further down (a unit and/or a division), keeping the other choice."""
    params = scope.params()
    if bureau is not None:
        params["bureau"] = bureau
    if division is not None:
        params["division"] = division
    return reverse("home") + ("?" + urlencode(params) if params else "")


def figure(n: int, url: str) -> dict:
    return {"n": n, "url": url}


def _task_counts(w: Window) -> dict:
    today = w.today
    return {
        "open": Count("id", filter=Q(state__in=OPEN_TASK_STATES)),
        "soon": Count("id", filter=task_queries.soon_q(today)),
        "overdue": Count("id", filter=task_queries.overdue_q(today)),
    }


def _case_counts(w: Window) -> dict:
    return {key: Count("id", filter=kind_q("case", w, due=due)) for key, due in (("open", ""), ("soon", "soon"), ("overdue", "overdue"))}


def work_by_kind(scope: Scope, w: Window) -> list[dict]:
    """Open, due-soon and overdue work of each kind, each figure a link."""
    rows = []
    if _uses_rollup(scope, w):
        sums = {key: Sum(key) for key in rollups.MEASURES}
        got = {r["kind"]: r for r in _rollup_rows(scope).values("kind").annotate(**sums)}

        def pick(kind, **names):
            r = got.get(kind, {})
            return {key: r.get(col) or 0 for key, col in names.items()}

        t = pick("task", open="open_n", soon="soon_n", overdue="overdue_n")
        c = pick("case", open="open_n", soon="soon_n", overdue="overdue_n")
        p = pick("push", claim="claim_n", feedback="feedback_n", soon="soon_n", overdue="overdue_n")
        cl = pick("clue", open="open_n", verifying="verifying_n", soon="soon_n", overdue="overdue_n")
    else:
        t = c = p = cl = None
    t = t or tasks(scope).order_by().aggregate(**_task_counts(w))
    rows.append({"kind": "task", "label": _("监管任务"), **{
        key: figure(t[key], board_link(scope, due=due)) for key, due in (("open", ""), ("soon", "soon"), ("overdue", "overdue"))}})
    c = c or cases(scope).order_by().aggregate(**_case_counts(w))
    rows.append({"kind": "case", "label": _("网格事项"), **{
        key: figure(c[key], list_link(scope, "case", due=due)) for key, due in (("open", ""), ("soon", "soon"), ("overdue", "overdue"))}})
    push_metrics = {"claim": Count("id", filter=kind_q("push", w, state="claim")),
                    "feedback": Count("id", filter=kind_q("push", w, state="feedback")),
                    "soon": Count("id", filter=kind_q("push", w, due="soon")),
                    "overdue": Count("id", filter=kind_q("push", w, due="overdue"))}
    p = p or pushes(scope).order_by().aggregate(**push_metrics)
    rows.append({"kind": "push", "label": _("推送事项"), "open": None,
                 "claim": figure(p["claim"], list_link(scope, "push", state="claim")),
                 "feedback": figure(p["feedback"], list_link(scope, "push", state="feedback")),
                 "soon": figure(p["soon"], list_link(scope, "push", due="soon")),
                 "overdue": figure(p["overdue"], list_link(scope, "push", due="overdue"))})
    cl = cl or clues(scope).order_by().aggregate(
        open=Count("id", filter=kind_q("clue", w)),
        verifying=Count("id", filter=Q(state=ClueState.VERIFYING)),
        soon=Count("id", filter=kind_q("clue", w, due="soon")),
        overdue=Count("id", filter=kind_q("clue", w, due="overdue")))
    rows.append({"kind": "clue", "label": _("线索"),
                 "open": figure(cl["open"], list_link(scope, "clue")),
                 "verifying": figure(cl["verifying"], list_link(scope, "clue", state=ClueState.VERIFYING)),
                 "soon": figure(cl["soon"], list_link(scope, "clue", due="soon")),
                 "overdue": figure(cl["overdue"], list_link(scope, "clue", due="overdue"))})
    return rows


def activity(scope: Scope, w: Window) -> list[dict]:
    """Today's and this week's work done: inspections and problems, pushes claimed, visits, warnings,
    tasks registered and archived."""
    since_week, since_today = w.since("week"), w.since("today")
    # Two range scans (each on its own index: task_created, task_closed) rather than one OR.
    t = tasks(scope).filter(created_at__gte=since_week).order_by().aggregate(
        new_today=Count("id", filter=Q(created_at__gte=since_today)), new_week=Count("id"))
    t.update(tasks(scope).filter(closed_at__gte=since_week).order_by().aggregate(
        closed_today=Count("id", filter=Q(closed_at__gte=since_today)), closed_week=Count("id")))
    i = inspections(scope).filter(kind_q("inspection", w, period="week")).order_by().aggregate(
        today=Count("id", filter=Q(finished_at__gte=since_today)), week=Count("id"),
        p_today=Count("id", filter=Q(finished_at__gte=since_today, conclusion__in=PROBLEM_CONCLUSIONS)),
        p_week=Count("id", filter=Q(conclusion__in=PROBLEM_CONCLUSIONS)))
    p = pushes(scope).filter(claimed_at__gte=since_week).order_by().aggregate(today=Count("id", filter=Q(claimed_at__gte=since_today)), week=Count("id"))
    v = visits(scope).filter(visited_on__gte=w.week_start).order_by().aggregate(
        today=Count("id", filter=Q(visited_on__gte=w.today)), week=Count("id"),
        p_today=Count("id", filter=Q(visited_on__gte=w.today, problem_found=True)), p_week=Count("id", filter=Q(problem_found=True)))
    wr = warnings(scope).filter(raised_at__gte=since_week).order_by().aggregate(today=Count("id", filter=Q(raised_at__gte=since_today)), week=Count("id"))

    def pair(label, key, today_n, week_n, link):
        return {"key": key, "label": label, "today": figure(today_n, link("today")), "week": figure(week_n, link("week"))}

    return [
        pair(_("新登记任务"), "task_new", t["new_today"], t["new_week"], lambda per: board_link(scope, state="all", created=w.start(per))),
        pair(_("办结任务"), "task_closed", t["closed_today"], t["closed_week"], lambda per: board_link(scope, state="all", closed=w.start(per))),
        pair(_("完成检查"), "inspections", i["today"], i["week"], lambda per: list_link(scope, "inspection", period=per)),
        pair(_("检查发现问题"), "problems", i["p_today"], i["p_week"], lambda per: list_link(scope, "inspection", period=per, problems=1)),
        pair(_("推送事项签收"), "claimed", p["today"], p["week"], lambda per: list_link(scope, "push", period=per)),
        pair(_("网格走访"), "visits", v["today"], v["week"], lambda per: list_link(scope, "visit", period=per)),
        pair(_("走访发现问题"), "visit_problems", v["p_today"], v["p_week"], lambda per: list_link(scope, "visit", period=per, problems=1)),
        pair(_("时限预警"), "warnings", wr["today"], wr["week"], lambda per: list_link(scope, "warning", period=per)),
    ]


# --- by unit and by area --------------------------------------------------------------------------


def child_units(scope: Scope) -> list[Bureau]:
    """The units directly under the current one (or under the user's jurisdiction): bureaus inside
    it that no other such bureau contains (a city's county bureaus, or its stations where there is no
    county level)."""
    outer = list(scope.prefixes) if scope.bureau else list(jurisdiction_of(scope.user))
    if not outer:
        return []
    bureaus = list(Bureau.objects.scoped(scope.user).order_by("division_code", "name"))
    prefixes = {b.pk: tuple(b.jurisdiction_prefixes()) for b in bureaus}  # parsed once, compared many times

    def inside(b_prefixes, o_prefixes):
        return bool(b_prefixes) and all(any(p.startswith(o) for o in o_prefixes) for p in b_prefixes)

    candidates = [b for b in bureaus if (scope.bureau is None or b.pk != scope.bureau.pk)
                  and inside(prefixes[b.pk], outer) and not inside(outer, prefixes[b.pk])]
    if scope.division:
        candidates = [b for b in candidates if any(p.startswith(scope.division.code) or scope.division.code.startswith(p)
                                                   for p in prefixes[b.pk])]
    # Keep the outermost: drop a candidate lying strictly inside another (only a candidate with a
    # shorter prefix can contain it, so compare against those).
    shortest = {b.pk: min(len(p) for p in prefixes[b.pk]) for b in candidates}
    kept = []
    for b in candidates:
        mine = prefixes[b.pk]
        outer_ones = [prefixes[o.pk] for o in candidates if shortest[o.pk] < shortest[b.pk] or (
            shortest[o.pk] == shortest[b.pk] and o.pk != b.pk)]
        if not any(inside(mine, o) and not inside(o, mine) for o in outer_ones):
            kept.append(b)
    return kept


def _members(scope: Scope, units: list[Bureau]) -> dict[int, set[int]]:
    """Each unit and the units of the user's jurisdiction inside it (``task_queries.bureaus_under``
    for every unit, from one read of the bureaus)."""
    bureaus = [(b.pk, tuple(b.jurisdiction_prefixes())) for b in Bureau.objects.scoped(scope.user).only("id", "jurisdiction", "level")]
    out = {}
    for u in units:
        outer = u.jurisdiction_prefixes()
        out[u.pk] = {pk for pk, ps in bureaus if pk == u.pk or (ps and all(any(p.startswith(o) for o in outer) for p in ps))}
    return out


def by_unit(scope: Scope, w: Window) -> list[dict]:
    """Per child unit: tasks open / due soon / overdue (承办机构 and the units under it), grid cases
    open / overdue (责任机构), inspections this week — one GROUP BY per kind over bureau ids."""
    units = child_units(scope)
    if not units:
        return []
    members = _members(scope, units)
    every = set().union(*members.values())
    if _uses_rollup(scope, w):
        t_rows, c_rows = (_rollup_rows(scope).filter(kind=kind, bureau_id__in=every).values("bureau_id").annotate(
            open=Sum("open_n"), soon=Sum("soon_n"), overdue=Sum("overdue_n")) for kind in ("task", "case"))
    else:
        t_rows = (tasks(scope).filter(bureau_id__in=every, state__in=OPEN_TASK_STATES).order_by().values("bureau_id")
                  .annotate(**_task_counts(w)))
        c_rows = (cases(scope).filter(bureau_id__in=every, state__in=OPEN_CASE_STATES).order_by().values("bureau_id")
                  .annotate(open=Count("id"), overdue=Count("id", filter=kind_q("case", w, due="overdue"))))
    i_rows = (inspections(scope).filter(kind_q("inspection", w, period="week"), bureau_id__in=every).order_by().values("bureau_id")
              .annotate(week=Count("id"), problems=Count("id", filter=Q(conclusion__in=PROBLEM_CONCLUSIONS))))
    t_by, c_by, i_by = ({r["bureau_id"]: r for r in rows} for rows in (t_rows, c_rows, i_rows))

    def total(by, ids, key):
        return sum(by[b][key] for b in ids if b in by)

    out = []
    for u in units:
        ids = members[u.pk]
        sub = Scope(user=scope.user, bureau=u, division=scope.division, bureau_ids=tuple(ids))
        out.append({
            "id": u.pk, "name": u.name, "level": u.get_level_display(), "drill": overview_link(scope, bureau=u.pk),
            "tasks_open": figure(total(t_by, ids, "open"), board_link(sub)),
            "tasks_soon": figure(total(t_by, ids, "soon"), board_link(sub, due="soon")),
            "tasks_overdue": figure(total(t_by, ids, "overdue"), board_link(sub, due="overdue")),
            "cases_open": figure(total(c_by, ids, "open"), list_link(sub, "case")),
            "cases_overdue": figure(total(c_by, ids, "overdue"), list_link(sub, "case", due="overdue")),
            "inspections_week": figure(total(i_by, ids, "week"), list_link(sub, "inspection", period="week")),
            "problems_week": figure(total(i_by, ids, "problems"), list_link(sub, "inspection", period="week", problems=1)),
        })
    return out


def child_divisions(scope: Scope) -> list[Division]:
    """The divisions one level below the current one (or the user's / unit's jurisdiction)."""
    if scope.division:
        return list(Division.objects.scoped(scope.user).filter(parent_id=scope.division.code).order_by("code")[:400])
    prefixes = [p for p in (scope.prefixes or jurisdiction_of(scope.user)) if p]
    if len(prefixes) == 1:
        kids = list(Division.objects.scoped(scope.user).filter(parent_id=prefixes[0]).order_by("code")[:400])
        # A city without counties (东莞, 中山) has its towns under one pseudo-county of the same name.
        if len(kids) == 1:
            kids = list(Division.objects.scoped(scope.user).filter(parent_id=kids[0].code).order_by("code")[:400]) or kids
        return kids
    return list(Division.objects.scoped(scope.user).filter(code__in=prefixes).order_by("code"))


def by_area(scope: Scope, w: Window) -> list[dict]:
    """Per child division: tasks open / overdue and grid cases open / overdue, one GROUP BY on a prefix
    of the division code per kind."""
    divisions = child_divisions(scope)
    if not divisions:
        return []
    today = w.today
    t_by, c_by = {}, {}

    def add(rows, by, codes):
        for r in rows:
            code = next((c for c in codes if r["area"].startswith(c)), None)
            if code:
                agg = by.setdefault(code, {"open": 0, "overdue": 0})
                agg["open"] += r["open"] or 0
                agg["overdue"] += r["overdue"] or 0

    def live(codes):
        length = max(len(c) for c in codes)
        # Full 12-digit codes (villages filed straight under a city) by equality on the indexed code.
        where = Q(division_code__in=codes) if all(len(c) == 12 for c in codes) else Q()
        add(tasks(scope).filter(where, state__in=OPEN_TASK_STATES).order_by().annotate(area=Substr("division_code", 1, length))
            .values("area").annotate(open=Count("id"), overdue=Count("id", filter=task_queries.overdue_q(today))), t_by, codes)
        add(cases(scope).filter(where, state__in=OPEN_CASE_STATES).order_by().annotate(area=Substr("division_code", 1, length))
            .values("area").annotate(open=Count("id"), overdue=Count("id", filter=kind_q("case", w, due="overdue"))), c_by, codes)

    codes = [d.code for d in divisions]
    if _uses_rollup(scope, w):
        short = [c for c in codes if len(c) <= AREA_LENGTH]
        for length in sorted({len(c) for c in short}):
            same = [c for c in short if len(c) == length]
            for kind, by in (("task", t_by), ("case", c_by)):
                add(_rollup_rows(scope).filter(kind=kind).annotate(part=Substr("area", 1, length)).values("part")
                    .annotate(open=Sum("open_n"), overdue=Sum("overdue_n")).values("open", "overdue", area=F("part")), by, same)
        longer = [c for c in codes if len(c) > AREA_LENGTH]
        if longer:
            live(longer)
    else:
        live(codes)
    out = []
    top = min(d.level for d in divisions)
    for d in divisions:
        sub = Scope(user=scope.user, bureau=scope.bureau, division=d, bureau_ids=scope.bureau_ids)
        t, c = t_by.get(d.code, {}), c_by.get(d.code, {})
        if d.level > top and not (t.get("open") or c.get("open")):
            # Villages filed straight under a city or county (a quirk of the reference data, e.g.
            # 济南高新区's) show only when they hold open work: not as a page of empty rows.
            continue
        out.append({
            "code": d.code, "name": d.name, "drill": overview_link(scope, division=d.code),
            "tasks_open": figure(t.get("open", 0), board_link(sub)),
            "tasks_overdue": figure(t.get("overdue", 0), board_link(sub, due="overdue")),
            "cases_open": figure(c.get("open", 0), list_link(sub, "case")),
            "cases_overdue": figure(c.get("overdue", 0), list_link(sub, "case", due="overdue")),
        })
    return out


# --- trends ---------------------------------------------------------------------------------------


def trends(scope: Scope, w: Window, *, days: int = TREND_DAYS) -> dict:
    """Daily series over the last ``days`` days: tasks registered and archived, inspections done,
    grid visits, warnings raised (one GROUP BY per series on an indexed date)."""
    first = w.today - dt.timedelta(days=days - 1)
    since = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    dates = [first + dt.timedelta(days=i) for i in range(days)]

    # Closed days from the daily rollup (when it is current and answers the scope), today live.
    stored = None
    if _uses_rollup(scope, w) and rollups.run(rollups.DAY_COUNTS, today=w.today) is not None:
        stored = {}
        rows = DayCount.objects.filter(day__gte=first, day__lt=w.today)
        rows = rollups.scoped(rows, scope.user, bureau_ids=scope.bureau_ids if scope.bureau else (),
                              division=scope.division.code if scope.division else "")
        for r in rows.order_by().values("series", "day").annotate(n=Sum("n")):
            stored.setdefault(r["series"], {})[r["day"]] = r["n"]
        since = timezone.make_aware(dt.datetime.combine(w.today, dt.time.min))

    def series(qs, field, *, is_date=False, key=""):
        day = F(field) if is_date else TruncDate(field, tzinfo=timezone.get_current_timezone())
        got = dict(stored.get(key, {})) if stored is not None else {}
        start = (w.today if stored is not None else first) if is_date else since
        for r in qs.filter(**{f"{field}__gte": start}).order_by().annotate(day=day).values("day").annotate(n=Count("id")):
            key = r["day"]
            if isinstance(key, dt.datetime):
                key = key.date()
            if isinstance(key, str):
                key = dt.date.fromisoformat(key[:10])
            got[key] = got.get(key, 0) + r["n"]
        return [got.get(d, 0) for d in dates]

    return {
        "dates": [d.isoformat() for d in dates],
        "series": [
            {"key": "task_new", "name": _("新登记任务"), "data": series(tasks(scope), "created_at", key="task_new")},
            {"key": "task_closed", "name": _("办结任务"), "data": series(tasks(scope), "closed_at", key="task_closed")},
            {"key": "inspections", "name": _("完成检查"), "data": series(inspections(scope).filter(state__in=DONE_INSPECTIONS), "finished_at", key="inspections")},
            {"key": "visits", "name": _("网格走访"), "data": series(visits(scope), "visited_on", is_date=True, key="visits")},
            {"key": "warnings", "name": _("时限预警"), "data": series(warnings(scope), "raised_at", key="warnings")},
        ],
    }


# --- the registry ---------------------------------------------------------------------------------


def entity_count(user) -> int:
    """Market entities in the user's jurisdiction: the registry's exact tally (kept by every
    registry write), a sum over a few thousand rows instead of a COUNT over millions."""
    return tally.count(user)


# --- the page's data ------------------------------------------------------------------------------


def breadcrumbs(scope: Scope) -> list[dict]:
    """City → unit → division, each a link back to that level of the overview."""
    crumbs = [{"name": _("全辖区"), "url": reverse("home")}]
    if scope.bureau:
        crumbs.append({"name": scope.bureau.name, "url": reverse("home") + "?" + urlencode({"bureau": scope.bureau.pk})})
    if scope.division:
        crumbs.append({"name": scope.division.name, "url": None})
    return crumbs


def overview(user, *, bureau=None, division=None, now: dt.datetime | None = None, live: bool = False) -> dict:
    """Everything the leader overview shows, for the user's jurisdiction narrowed to a unit and/or a
    division. Open work and the trends' closed days come from the rollups (as of their last
    refresh, which the page states); ``live=True`` (or no rollup from today) counts everything now."""
    return _compute(user, bureau=bureau, division=division, now=now, live=live)


def _compute(user, *, bureau=None, division=None, now=None, live=False) -> dict:
    scope = scope_for(user, bureau=bureau, division=division)
    w = window(now, live=live)
    units = by_unit(scope, w)
    stamp = rollups.run(rollups.OPEN_WORK, today=w.today) if _uses_rollup(scope, w) else None
    return {
        "scope": scope, "window": w, "soon_days": SOON_DAYS,
        "computed_at": timezone.localtime(stamp.as_of if stamp else w.now), "from_rollup": stamp is not None,
        "breadcrumbs": breadcrumbs(scope),
        "work": work_by_kind(scope, w),
        "activity": activity(scope, w),
        "units": units,
        "areas": by_area(scope, w),
        "trends": trends(scope, w),
        "entities": entity_count(user),
        "units_chart": {
            "names": [u["name"] for u in units],
            "links": [u["drill"] for u in units],
            "series": [
                {"key": "overdue", "name": _("逾期任务"), "data": [u["tasks_overdue"]["n"] for u in units]},
                {"key": "soon", "name": _("%(n)s日内到期任务") % {"n": SOON_DAYS}, "data": [u["tasks_soon"]["n"] for u in units]},
                {"key": "cases_overdue", "name": _("逾期网格事项"), "data": [u["cases_overdue"]["n"] for u in units]},
            ],
        },
    }


def list_title(kind: str, *, state: str = "", due: str = "", period: str = "", problems: bool = False) -> str:
    """The Chinese heading of a drill-down list, saying which figure it is behind."""
    names = {"case": _("网格事项"), "push": _("推送事项"), "clue": _("线索"), "inspection": _("完成的检查"), "visit": _("网格走访"),
             "warning": _("时限预警")}
    parts = [str(names[kind])]
    if kind == "push" and state == "claim":
        parts.append(_("待签收"))
    elif kind == "push" and state == "feedback":
        parts.append(_("待反馈"))
    elif kind == "clue" and state in ClueState.values:
        parts.append(str(ClueState(state).label))
    elif kind in ("case", "clue", "push") and not period:
        parts.append(_("在办"))
    if due == "overdue":
        parts.append(_("已逾期"))
    elif due == "soon":
        parts.append(_("%(n)s日内到期") % {"n": SOON_DAYS})
    if problems:
        parts.append(_("发现问题"))
    if period == "today":
        parts.append(_("今日签收") if kind == "push" else _("今日"))
    elif period == "week":
        parts.append(_("本周签收") if kind == "push" else _("本周"))
    return " · ".join(str(p) for p in parts)
