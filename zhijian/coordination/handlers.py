"""In-process reactions to registry events: evaluate the push rules (C1), then notify the village (G1).

The push runs **inline** (``core.events``): in the registry's own transaction, as soon as the
registration, change or import chunk emits its ``entity.*`` event, so the departments' inboxes
hold the items at the moment the registration commits. If it fails there, its savepoint is rolled
back, the registration stands, and the dispatcher pushes the event later.

Set-based either way: the handler gets a list of events (the dispatcher hands it every
``entity.*`` event of a claimed batch), so an import chunk of 5,000 codes — or 200 single
registrations — is pushed by one ``push.push_events`` call: one query for the entities,
matching in memory, bulk writes. It runs with the events' exactly-once markers, so one registry
event creates its push items once; the items' unique key (entity, matter, department, event) and
the village task's (entity, source_ref) check hold even if the handler were run twice some other
way. The village tasks follow from the dispatcher (``village.notify``).
"""
from __future__ import annotations

from zhijian.core import events
from zhijian.core.transactions import no_flush_wait

from . import push, villages


def _entities_in(event) -> int:
    if event.type == "entity.imported":
        return len(event.payload.get("created") or []) + len(event.payload.get("updated") or [])
    return 1


def _no_flush_wait() -> None:
    """Let the dispatcher's handler transaction commit without waiting for the WAL flush
    (PostgreSQL; only inside a transaction, as the dispatcher runs handlers).

    Safe because of how ``core.dispatch`` runs this handler: the ``entity.*`` events were committed
    durably by their writer (the importer, the registry); the items, events and trace entry commit
    here in one transaction with the events' ``HandlerRun`` markers; the events are marked done
    only by a LATER transaction (``_finish``), whose ordinary synchronous commit flushes the WAL up
    to its own commit record and so also this earlier one. Likewise any later write that acted on
    this push (a worker claiming its ``push.created`` or ``village.notify`` events) flushes it. A
    server crash can therefore only lose a push whose events are still pending (and unmarked): they
    are redelivered when the lease ends and pushed again, as after any crash of a worker."""
    no_flush_wait()


# Inline: a registration (or an import chunk) reaches the departments' inboxes in its own
# transaction; if the push fails there, the dispatcher pushes it later. From the dispatcher: at
# most one import chunk (5,000 codes) per call, so a chunk's items commit as soon as it is pushed.
@events.handler("entity.*", name="coordination.push", batch=5000, weigh=_entities_in, inline=True)
def push_on_entity_events(evs) -> None:
    if not events.inline():  # the writer's own commit stays durable
        _no_flush_wait()
    push.push_events(list(evs))


def _pushes_in(event) -> int:
    return len((event.payload or {}).get("pushes") or [])


# One chunk's village tasks per call (and per claim): a worker never takes a burst's whole backlog
# of village work while the next import chunks wait for their inboxes.
@events.handler(push.VILLAGE_EVENT, name="coordination.village", batch=5000, weigh=_pushes_in)
def village_tasks(evs) -> None:
    villages.villages_from_events(list(evs))


def push_on_entity_event(event) -> None:
    """One event: the same path with a batch of one."""
    push.push_events([event])
