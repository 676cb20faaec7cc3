"""This app's own periodic sweeps (see scheduling.py)."""
from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import anchor

from . import clocks, workdays
from .scheduling import periodic

log = logging.getLogger(__name__)

# The State Council publishes next year's schedule in November or December.
NEXT_YEAR_CHECK_FROM = (11, 15)


def calendar_gaps(today: dt.date) -> list[int]:
    """Years whose holiday schedule is needed by ``today`` but not known."""
    needed = [today.year]
    if (today.month, today.day) >= NEXT_YEAR_CHECK_FROM:
        needed.append(today.year + 1)
    return [y for y in needed if not workdays.is_known_year(y)]


def calendar_gaps_message(today: dt.date) -> str:
    """The warning for the years ``calendar_gaps`` finds ("" when none)."""
    gaps = calendar_gaps(today)
    if not gaps:
        return ""
    return _("缺少以下年度的法定节假日安排：%(years)s。请系统管理员在“系统管理 › 节假日与调休 › 录入全年安排”（/admin/deadlines/holiday/schedule/）录入。") % {
        "years": "、".join(str(y) for y in gaps)
    }


@periodic("deadlines.calendar_coverage", every=dt.timedelta(days=1))
def calendar_coverage() -> str:
    """Warn when this year's (or, from mid-November, next year's) holiday schedule is missing."""
    message = calendar_gaps_message(timezone.localdate())
    if not message:
        return _("节假日安排已覆盖所需年度")
    log.warning(message)
    return message


@periodic("deadlines.clocks", every=dt.timedelta(hours=1))
def clock_sweep() -> str:
    """Reminders, overdue marks and escalations over every running clock (``clocks.sweep``)."""
    counts = clocks.sweep(timezone.localdate())
    escalated = sum(v for k, v in counts.items() if k.startswith("escalated"))
    return _("期限计时：提醒 %(reminder)s，逾期 %(overdue)s，督办 %(escalated)s") % {
        "reminder": counts["reminder"], "overdue": counts["overdue"], "escalated": escalated}


@periodic("trace.checkpoint", every=dt.timedelta(minutes=10))
def trace_checkpoint() -> str:
    """Sign and anchor the trace chain heads when one changed (``core.anchor``; docs/security.md)."""
    return anchor.scheduled_checkpoint()
