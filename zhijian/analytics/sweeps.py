"""Periodic sweeps of statistics (registered with ``deadlines.scheduling.periodic``)."""
from __future__ import annotations

import datetime as dt

from zhijian.deadlines.scheduling import periodic

from . import rollups


@periodic("analytics.rollups", every=dt.timedelta(minutes=1), lease=dt.timedelta(minutes=10))
def refresh_rollups() -> str:
    """Every minute: the overview's open work and the trends' days."""
    return rollups.refresh(names=rollups.FAST)


@periodic("analytics.task_days", every=dt.timedelta(minutes=10), lease=dt.timedelta(minutes=30))
def refresh_task_days() -> str:
    """Every ten minutes: the statistics' tasks by day (one pass over every task)."""
    return rollups.refresh(names=rollups.SLOW)
