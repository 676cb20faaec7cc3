"""Statistics read the business tables; the only table of their own is the working-day ordinal
calendar that lets one SQL query count working days between two dates (see docs/statistics.md)."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkdayOrdinal(models.Model):
    """One calendar day and the number of working days from the table's first day up to it.

    Working days in (a, b] = ordinal(b) − ordinal(a), the same count as
    ``deadlines.workdays.workdays_between(a, b)``. A derived cache of the holiday schedule:
    filled by ``workcal.ensure`` and dropped from a holiday's date on when that holiday changes.
    """

    date = models.DateField(_("日期"), primary_key=True)
    is_workday = models.BooleanField(_("工作日"))
    ordinal = models.IntegerField(_("工作日序号"))

    class Meta:
        verbose_name = _("工作日序号")
        verbose_name_plural = _("工作日序号")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} #{self.ordinal}"


# --- rollups: figures the leader overview and the statistics page read instead of scanning the
# business tables (refreshed in the background by the ``analytics.rollups`` sweep; see rollups.py).

AREA_LENGTH = 9  # the open-work and trend rollups keep the division code down to the town (乡镇街道)
STATS_AREA_LENGTH = 6  # the statistics' task days down to the county (区县): a year of days × towns is too many rows


class RollupRun(models.Model):
    """When a rollup was last rebuilt, the moment its figures are "as of", and how long it took."""

    name = models.CharField(_("汇总表"), max_length=40, primary_key=True)
    as_of = models.DateTimeField(_("数据时点"))
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    rows = models.IntegerField(_("行数"), default=0)

    class Meta:
        verbose_name = _("汇总刷新记录")
        verbose_name_plural = _("汇总刷新记录")

    def __str__(self):
        return f"{self.name} @ {self.as_of:%Y-%m-%d %H:%M}"


class OpenWork(models.Model):
    """Open work at ``RollupRun('open_work').as_of``: per kind (task, case, push, clue), unit,
    department and town, the counts the overview shows (open, due soon, overdue, …); tasks also
    by state, with every task counted in ``n`` (the unit board's counts by state)."""

    kind = models.CharField(_("类别"), max_length=16)
    bureau_id = models.BigIntegerField(_("机构"), null=True)
    department_id = models.BigIntegerField(_("部门"), null=True)
    area = models.CharField(_("区划（至乡镇）"), max_length=12)
    state = models.CharField(_("状态"), max_length=16, blank=True, default="")  # tasks only (the unit board's counts)
    n = models.IntegerField(default=0)  # every row of the group, open or not (tasks only)
    open_n = models.IntegerField(default=0)
    soon_n = models.IntegerField(default=0)
    overdue_n = models.IntegerField(default=0)
    claim_n = models.IntegerField(default=0)
    feedback_n = models.IntegerField(default=0)
    verifying_n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("在办工作汇总")
        verbose_name_plural = _("在办工作汇总")
        indexes = [models.Index(fields=["kind", "area"], name="openwork_kind_area")]


class DayCount(models.Model):
    """Daily counts of the overview's trends (tasks registered and archived, inspections done,
    visits, warnings) per unit and town; closed days are fixed, so they are filled once."""

    series = models.CharField(_("序列"), max_length=16)
    day = models.DateField(_("日期"))
    bureau_id = models.BigIntegerField(_("机构"), null=True)
    area = models.CharField(_("区划（至乡镇）"), max_length=12)
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("每日计数")
        verbose_name_plural = _("每日计数")
        indexes = [models.Index(fields=["series", "day"], name="daycount_series_day")]


class TaskDay(models.Model):
    """Supervision tasks by the day they were registered, unit, town, state and source, with the
    sums the statistics page needs (late, open and late, durations of the archived); rebuilt by
    the sweep, read for every day before today (today is counted live)."""

    day = models.DateField(_("登记日期"))
    bureau_id = models.BigIntegerField(_("承办机构"), null=True)
    area = models.CharField(_("区划（至区县）"), max_length=12)
    state = models.CharField(_("状态"), max_length=16)
    source = models.CharField(_("来源"), max_length=16)
    n = models.IntegerField(default=0)
    late = models.IntegerField(default=0)
    open_late = models.IntegerField(default=0)
    finish_n = models.IntegerField(default=0)
    finish_seconds = models.FloatField(default=0)
    wd_n = models.IntegerField(default=0)
    wd_sum = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("任务日汇总")
        verbose_name_plural = _("任务日汇总")
        indexes = [models.Index(fields=["day"], name="taskday_day")]


class PushDay(models.Model):
    """Pushed items by the day they were pushed, department, matter, town and state, with the sums
    the statistics page needs (claimed, late as of the refresh, durations); rebuilt by the sweep,
    read for every day before today (today is counted live)."""

    day = models.DateField(_("推送日期"))
    department_id = models.BigIntegerField(_("部门"), null=True)
    matter_id = models.BigIntegerField(_("监管事项"), null=True)
    area = models.CharField(_("区划（至乡镇）"), max_length=12)
    state = models.CharField(_("状态"), max_length=16)
    n = models.IntegerField(default=0)
    claimed = models.IntegerField(default=0)
    late = models.IntegerField(default=0)
    claim_n = models.IntegerField(default=0)
    claim_seconds = models.FloatField(default=0)
    finish_n = models.IntegerField(default=0)
    finish_seconds = models.FloatField(default=0)
    wd_n = models.IntegerField(default=0)
    wd_sum = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("推送日汇总")
        verbose_name_plural = _("推送日汇总")
        indexes = [models.Index(fields=["day"], name="pushday_day")]
