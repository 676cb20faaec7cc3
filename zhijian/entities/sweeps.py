"""Periodic sweeps of the registry (registered with ``deadlines.scheduling.periodic``)."""
from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from zhijian.deadlines.scheduling import periodic

from . import tally


@periodic("entities.recount", every=dt.timedelta(days=1), lease=dt.timedelta(hours=1))
def recount() -> str:
    """Nightly: the registry tally rebuilt from the table (a write outside the services is corrected)."""
    return _("市场主体计数已重新统计：%(n)s 个组合") % {"n": tally.recount()}
