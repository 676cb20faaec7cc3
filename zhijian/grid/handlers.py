"""In-process reactions (see docs/events.md): every hand-over between the grid flow and the other apps.

In: coordination (``zhijian.coordination.villages``) creates the village's supervision task
(business line ``grid_first_visit``, source_ref ``push:event:<id>``); when its ``task.created``
event is dispatched, the grid case opens here, received on the day the task was created. The
trigger (registration / address change / scope change) is read from the pushed event's type.

Out: when a case ends (``grid.case_*`` into 已办结 / 已分流移交 / 已撤销) its village task is
finished through the task loop (``village.finish_village_task``); when a case is routed
(``grid.case_route``) the department gets a clue or the county bureau a task
(``routing.route_work``). Two handlers, so each effect is its own transaction.

Warnings: the clock registry's sweep reports each case's step clock (``clock.reminder``,
``clock.overdue``, ``clock.escalated``); ``alerts.raise_warnings`` turns those of grid cases into
the people's warnings.
"""
from __future__ import annotations

from django.utils import timezone

from zhijian.core import events
from zhijian.core.models import Event
from zhijian.supervision.models import Task

from . import alerts, routing, village
from .choices import FINAL_STATES, Trigger

GRID_BUSINESS_LINE = village.VILLAGE_TASK_LINE
TRIGGER_BY_EVENT = {
    "entity.created": Trigger.REGISTRATION,
    "entity.address_changed": Trigger.ADDRESS_CHANGE,
    "entity.changed": Trigger.SCOPE_CHANGE,
}


def _event_id(ref: str) -> int | None:
    parts = (ref or "").split(":")
    if len(parts) >= 3 and parts[0] == "push" and parts[1] == "event" and parts[2].isdigit():
        return int(parts[2])
    return None


def trigger_for(source_ref: str) -> str:
    return _triggers_for([source_ref])[source_ref]


def _triggers_for(source_refs) -> dict[str, str]:
    """The trigger of each village task's ``source_ref`` (the pushed event's type), one query."""
    ids = {ref: i for ref in source_refs if (i := _event_id(ref)) is not None}
    kinds = dict(Event.objects.filter(pk__in=set(ids.values())).values_list("pk", "type")) if ids else {}
    return {ref: TRIGGER_BY_EVENT.get(kinds.get(ids.get(ref)), Trigger.REGISTRATION) for ref in source_refs}


@events.handler("task.created", name="grid.open_case_for_village_task", batch=True)
def open_cases_for_village_tasks(evs) -> None:
    """Open the grid cases of all village tasks in the batch at once (``village.cases_open_for_tasks``)."""
    task_ids = [(e.payload or {}).get("task_id") for e in evs if (e.payload or {}).get("business_line") == GRID_BUSINESS_LINE]
    if not task_ids:
        return
    tasks = list(Task.objects.select_related("entity", "entity__grid", "bureau").filter(pk__in=task_ids, entity__isnull=False).order_by("pk"))
    if not tasks:
        return
    triggers = _triggers_for({t.source_ref for t in tasks})
    village.cases_open_for_tasks(
        [(t, triggers[t.source_ref], t.source_ref, timezone.localtime(t.created_at).date()) for t in tasks]
    )


def open_case_for_village_task(event):
    """One ``task.created`` event: the same path with a batch of one."""
    open_cases_for_village_tasks([event])


def _ended_case(event):
    payload = event.payload or {}
    if event.type not in village.ENDING_EVENTS or payload.get("state") not in FINAL_STATES or not payload.get("case_id"):
        return None
    return routing.case_for_work(payload["case_id"])


# Only the actions that can end a case (village.ENDING_EVENTS), not the grid.case_opened of a
# burst of registrations: every matching event costs an exactly-once marker.
ENDING = tuple(sorted(village.ENDING_EVENTS))


@events.handler(ENDING, name="grid.finish_village_task")
def finish_village_task(event) -> None:
    """A case ended: finish (or cancel) its village supervision task."""
    case = _ended_case(event)
    if case is not None and case.task_id:
        village.finish_village_task(case=case)


@events.handler("grid.case_route", name="grid.route_work")
def route_work(event) -> None:
    """A case was routed: a clue for the licensing department or a task for the county bureau."""
    case = _ended_case(event)
    if case is not None:
        routing.route_work(case=case)


@events.handler(("clue.reported", "clue.returned"), name="grid.referral_feedback")
def referral_feedback(event) -> None:
    """A department answered a clue: if a routed case became that clue, note it on the case."""
    payload = event.payload or {}
    if payload.get("clue_id"):
        routing.referral_feedback(clue_id=payload["clue_id"], reported=event.type == "clue.reported",
                                  comment=str(payload.get("comment") or ""))


@events.handler(alerts.CLOCK_EVENTS, name="grid.warnings", batch=True)
def raise_warnings(evs) -> None:
    """The sweep reported step clocks of grid cases: warn the people (``alerts.raise_warnings``)."""
    alerts.raise_warnings(evs)
