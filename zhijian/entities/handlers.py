"""The registry's reactions to other apps' events.

Grid writes (geo, which sits below the registry and never touches entities) are followed by
re-placing the entities concerned. Inline: in the grid writer's own transaction, so the grids and
the entities' placement commit together; if it fails there, the dispatcher runs it again later
(``placing.place_for_grid_event`` is idempotent and also works after the fact).
"""
from __future__ import annotations

from zhijian.core import events

from . import placing

GRID_EVENTS = ("grid.created", "grid.updated", "grid.deleted", "grids.imported")


@events.handler(GRID_EVENTS, name="entities.place_after_grid_change", inline=True)
def place_after_grid_change(event) -> None:
    placing.place_for_grid_event(event)
