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
