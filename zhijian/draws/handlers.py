"""The drawn items' copies of their result-publicity clocks (``deadlines.clocks``).

The clock registry owns the publicity due date; ``DrawItem.publicity_due`` and
``publicity_provisional`` are copies for the lists and the public results page. When a provisional
due date is recomputed on an entered holiday schedule, the copy follows — inline, in the
recomputation's transaction (the dispatcher retries it if that fails).
"""
from __future__ import annotations

import datetime as dt

from zhijian.core import events

from .models import DrawItem
from .services import PUBLICITY_CLOCK


@events.handler("clock.recomputed", name="draws.publicity_due_recomputed", batch=True, inline=True)
def copy_recomputed_due(evs) -> None:
    for e in evs:
        p = e.payload
        if p.get("procedure") != PUBLICITY_CLOCK:
            continue
        due = p["new_due_on"] if "new_due_on" in p else p["due_on"]
        due = dt.date.fromisoformat(due) if isinstance(due, str) else due
        DrawItem.objects.filter(pk=p["object_id"]).update(publicity_due=due, publicity_provisional=bool(p.get("provisional")))
