"""Working days (工作日) by the statutory holiday schedule, and natural-day arithmetic.

Sources, in order of precedence for a given date:

1. the ``Holiday`` table (seeded from data/holidays/*.json, extended by an administrator);
2. the ``chinese-calendar`` library, for the years it knows;
3. the plain Monday–Friday week, for a year the table has rows for but the library does not;
4. for a year neither knows (next year's State Council schedule not yet entered): a **provisional**
   calendar — weekends plus the statutory days off of 《全国年节及纪念日放假办法》 (2025 revision),
   the lunar ones computed for the year (``provisional_days_off``). No 调休 is guessed.

Nothing is refused for want of a calendar. A computation that used a provisional day is marked
provisional by whoever runs it inside :func:`tracking` (``rules.due`` does; ``Deadline.provisional``),
and the clock registry recomputes such due dates when the schedule is entered. ``strict=True``
(``is_workday(d, strict=True)``) raises :class:`CalendarUnknownYear` instead, for callers that must
not store a provisional answer (the analytics ordinal calendar).

Counting follows 行政处罚法 art. 85 and the general rule on periods: the day on which a period
starts is not counted, so ``add_workdays(start, 1)`` is the first working day after ``start``.

The table is cached per process; saving or deleting a ``Holiday`` clears the cache of the process
that saved it at once, and other processes (workers, other app servers) reload it after
``CACHE_SECONDS``.
"""
from __future__ import annotations

import calendar
import contextlib
import contextvars
import datetime as dt
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
from django.utils.translation import gettext as _
from lunardate import LunarDate

from zhijian.core.errors import ApplicationError

CACHE_SECONDS = 300
# A natural-day period that rolls forward over a long holiday never needs more than this.
_MAX_ROLL = 60


class CalendarUnknownYear(ApplicationError):
    """The holiday schedule of ``year`` is not known yet: add it before computing working days."""

    def __init__(self, year: int):
        super().__init__(
            _("%(year)s 年的法定节假日安排尚未录入，无法计算工作日。请系统管理员按国务院办公厅通知在“节假日与调休”中录入 %(year)s 年的安排。")
            % {"year": year},
            code="calendar_unknown_year",
            extra={"year": year},
        )
        self.year = year


@dataclass(frozen=True)
class _Table:
    days: dict[dt.date, bool]  # date -> is_off_day
    years: frozenset[int]
    loaded_at: float


_cache: _Table | None = None
_lock = threading.Lock()


def invalidate_cache() -> None:
    """Forget the cached holiday table (called on every Holiday save/delete)."""
    global _cache
    _cache = None


def _table() -> _Table:
    global _cache
    table = _cache
    if table is None or time.monotonic() - table.loaded_at > CACHE_SECONDS:
        from .models import Holiday  # here, not at the top: models imports this module

        with _lock:
            rows = list(Holiday.objects.values_list("date", "is_off_day", "year"))
            table = _Table(
                days={d: off for d, off, _y in rows},
                years=frozenset(y for _d, _off, y in rows),
                loaded_at=time.monotonic(),
            )
            _cache = table
    return table


@lru_cache(maxsize=None)
def library_knows(year: int) -> bool:
    """Whether the installed chinese-calendar release has the schedule of ``year``."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_known_year(year: int) -> bool:
    return year in _table().years or library_knows(year)


# --- the provisional calendar of a year whose schedule is unknown ------------------------------

# 《全国年节及纪念日放假办法》（2024年11月修订，2025年1月1日起施行）第二条：全体公民放假的节日。
STATUTORY_BASIS = "《全国年节及纪念日放假办法》（国务院令第795号修订，2025年1月1日起施行）第二条"


def _qingming(year: int) -> dt.date:
    """清明 (the solar term at 15° of solar longitude), by the usual 21st-century formula
    ``[Y·0.2422 + C] − [Y/4]`` (Y = year mod 100; C = 4.81 for 2000–2099, 5.59 for 1900–1999).
    Exact for 1900–2099 against the published tables; outside that range it is an estimate."""
    y = year % 100
    c = 4.81 if year >= 2000 else 5.59
    return dt.date(year, 4, int(y * 0.2422 + c) - y // 4)


@lru_cache(maxsize=None)
def provisional_days_off(year: int) -> dict[dt.date, str]:
    """The statutory days off of ``year`` (2025 revision of 《全国年节及纪念日放假办法》): 元旦 1 day,
    春节 4 (除夕 and 正月初一 to 初三), 清明 1, 劳动节 2 (1–2 May), 端午 1 (五月初五), 中秋 1
    (八月十五), 国庆 3 (1–3 October). Lunar dates by ``lunardate`` (1900–2099; outside that range
    only the solar-date holidays are known). No 调休 (make-up working weekends) and no 补假
    (make-up days for a holiday on a weekend): their placement is the State Council's to decide."""
    days = {dt.date(year, 1, 1): "元旦", dt.date(year, 5, 1): "劳动节", dt.date(year, 5, 2): "劳动节"}
    for d in (1, 2, 3):
        days[dt.date(year, 10, d)] = "国庆节"
    days[_qingming(year)] = "清明节"
    try:
        new_year = LunarDate(year, 1, 1).to_solar_date()
        days[new_year - dt.timedelta(days=1)] = "春节"  # 除夕: the last day of the twelfth month
        for i in range(3):
            days[new_year + dt.timedelta(days=i)] = "春节"
        days[LunarDate(year, 5, 5).to_solar_date()] = "端午节"
        days[LunarDate(year, 8, 15).to_solar_date()] = "中秋节"
    except ValueError:  # outside lunardate's range
        pass
    return days


def _provisional_is_workday(d: dt.date) -> bool:
    if d in provisional_days_off(d.year):
        return False
    return d.weekday() < 5


_provisional_years: contextvars.ContextVar[set | None] = contextvars.ContextVar("zhijian_provisional_years", default=None)


@contextlib.contextmanager
def tracking():
    """Collect the years whose provisional calendar a computation used::

        with workdays.tracking() as used:
            d = add_workdays(start, 20)
        provisional = bool(used)
    """
    used: set[int] = set()
    token = _provisional_years.set(used)
    try:
        yield used
    finally:
        _provisional_years.reset(token)


def is_workday(d: dt.date, *, strict: bool = False) -> bool:
    """True on a working day: Monday–Friday that is not a statutory day off, or an adjusted working weekend.

    In a year whose schedule is unknown the provisional calendar answers (and the year is noted
    for :func:`tracking`); with ``strict`` such a year raises :class:`CalendarUnknownYear`.
    """
    table = _table()
    off = table.days.get(d)
    if off is not None:
        return not off
    if library_knows(d.year):
        return chinese_calendar.is_workday(d)
    if d.year in table.years:
        return d.weekday() < 5
    if strict:
        raise CalendarUnknownYear(d.year)
    used = _provisional_years.get()
    if used is not None:
        used.add(d.year)
    return _provisional_is_workday(d)


def add_workdays(start: dt.date, n: int) -> dt.date:
    """The n-th working day after ``start`` (``start`` itself is not counted); n < 0 counts back."""
    step = dt.timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    d = start
    while remaining:
        d += step
        if is_workday(d):
            remaining -= 1
    return d


def workdays_between(a: dt.date, b: dt.date) -> int:
    """Working days in (a, b] — so ``add_workdays(a, workdays_between(a, b)) == b`` on a working day b.

    Negative when b is before a (the working days in (b, a], negated); 0 when equal.
    """
    if b == a:
        return 0
    sign, lo, hi = (1, a, b) if b > a else (-1, b, a)
    count = 0
    d = lo
    while d < hi:
        d += dt.timedelta(days=1)
        if is_workday(d):
            count += 1
    return sign * count


def next_workday(d: dt.date) -> dt.date:
    """``d`` itself when it is a working day, else the first working day after it."""
    for _i in range(_MAX_ROLL):
        if is_workday(d):
            return d
        d += dt.timedelta(days=1)
    raise AssertionError(f"no working day within {_MAX_ROLL} days of {d}")  # pragma: no cover


def add_days(start: dt.date, n: int, *, roll_forward: bool = False) -> dt.date:
    """``start`` + n natural days (``start`` not counted).

    With ``roll_forward`` a last day that falls on a day off moves to the next working day
    (期间届满的最后一日是法定节假日的，以节假日后的第一日为期间届满的日期).
    """
    d = start + dt.timedelta(days=n)
    return next_workday(d) if roll_forward else d


def add_months(start: dt.date, n: int, *, roll_forward: bool = False) -> dt.date:
    """Same day n months later; the 31st of a shorter month becomes its last day."""
    month0 = start.month - 1 + n
    year, month = start.year + month0 // 12, month0 % 12 + 1
    d = dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
    return next_workday(d) if roll_forward else d


def add_years(start: dt.date, n: int, *, roll_forward: bool = False) -> dt.date:
    return add_months(start, 12 * n, roll_forward=roll_forward)
