"""This app's periodic sweeps (see zhijian/deadlines/scheduling.py)."""
from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from zhijian.deadlines.scheduling import periodic

from . import alerts


@periodic("grid.warnings", every=dt.timedelta(hours=1))
def warnings_sweep() -> str:
    """C3: reminders before and escalations after every open time limit, each raised once."""
    counts = alerts.sweep()
    return _("新增预警 %(n)s 条") % {"n": sum(counts.values())}
