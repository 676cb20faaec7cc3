"""Periodic sweeps of the grid (registered with ``deadlines.scheduling.periodic``)."""
from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from zhijian.deadlines.scheduling import periodic

from . import alerts


@periodic("grid.receipt_warnings", every=dt.timedelta(hours=1))
def receipt_warnings() -> str:
    """签收时限: warnings on unclaimed pushed items' receipt limits in hours (``alerts.receipt_warnings``)."""
    counts = alerts.receipt_warnings()
    return _("签收时限预警：新增 %(n)s 条") % {"n": sum(counts.values())}
