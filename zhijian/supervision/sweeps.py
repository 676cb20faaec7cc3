"""This app's periodic sweeps (see zhijian/deadlines/scheduling.py)."""
from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from zhijian.deadlines.scheduling import periodic

from .services import mark_overdue


@periodic("supervision.overdue", every=dt.timedelta(hours=1))
def overdue_tasks() -> str:
    """Mark tasks past their due date and emit ``task.overdue`` once per task."""
    return _("新标记逾期任务 %(n)s 个") % {"n": mark_overdue()}
