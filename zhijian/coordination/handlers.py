"""In-process reactions to registry events: evaluate the push rules (C1), then notify the village (G1).

Set-based: the dispatcher hands the handler every ``entity.*`` event of a claimed batch at once
(``batch=True``), so an import chunk of 5,000 codes — or 200 single registrations — is pushed by
one ``services.push_events`` call: one query for the entities, matching in memory, bulk writes.
It runs in one transaction with the events' exactly-once markers, so one registry event creates
its push items once; the items' unique key (entity, matter, department, event) and the village
task's (entity, source_ref) check hold even if the handler were run twice some other way.
"""
from __future__ import annotations

from zhijian.core import events

from . import services

RELEVANT_FIELDS = services.RELEVANT_FIELDS


def _entities_in(event) -> int:
    if event.type == "entity.imported":
        return len(event.payload.get("created") or []) + len(event.payload.get("updated") or [])
    return 1


# At most one import chunk (5,000 codes) per call: a chunk's items commit as soon as it is pushed,
# not together with the chunks claimed after it.
@events.handler("entity.*", name="coordination.push", batch=5000, weigh=_entities_in)
def push_on_entity_events(evs) -> None:
    services.push_events(list(evs))


@events.handler(services.VILLAGE_EVENT, name="coordination.village", batch=True)
def village_tasks(evs) -> None:
    services.villages_from_events(list(evs))


def push_on_entity_event(event) -> None:
    """One event: the same path with a batch of one."""
    services.push_events([event])
