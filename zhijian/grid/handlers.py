"""In-process reactions (see docs/events.md): every hand-over between the grid flow and the other apps.

In: ``zhijian.coordination.services.notify_village`` creates the village's supervision task
(business line ``grid_first_visit``, source_ref ``push:event:<id>``); when its ``task.created``
event is dispatched, the grid case opens here, received on the day the task was created. The
trigger (registration / address change / scope change) is read from the pushed event's type.

Out: when a case ends (``grid.case_*`` into 已办结 / 已分流移交 / 已撤销) its village task is
finished through the task loop (``services.finish_village_task``); when a case is routed
(``grid.case_route``) the department gets a clue or the county bureau a task
(``services.route_work``). Two handlers, so each effect is its own transaction.
"""
from __future__ import annotations

from django.utils import timezone

from zhijian.core import events

from .choices import CaseAction, Trigger

GRID_BUSINESS_LINE = "grid_first_visit"  # zhijian.coordination.services.VILLAGE_BUSINESS_LINE
TRIGGER_BY_EVENT = {
    "entity.created": Trigger.REGISTRATION,
    "entity.address_changed": Trigger.ADDRESS_CHANGE,
    "entity.changed": Trigger.SCOPE_CHANGE,
}


def trigger_for(source_ref: str) -> str:
    from zhijian.core.models import Event

    parts = (source_ref or "").split(":")
    if len(parts) >= 3 and parts[0] == "push" and parts[1] == "event" and parts[2].isdigit():
        kind = Event.objects.filter(pk=int(parts[2])).values_list("type", flat=True).first()
        return TRIGGER_BY_EVENT.get(kind, Trigger.REGISTRATION)
    return Trigger.REGISTRATION


def _triggers_for(source_refs) -> dict[str, str]:
    """``trigger_for`` for many refs with one query."""
    from zhijian.core.models import Event

    ids = {}
    for ref in source_refs:
        parts = (ref or "").split(":")
        if len(parts) >= 3 and parts[0] == "push" and parts[1] == "event" and parts[2].isdigit():
            ids[ref] = int(parts[2])
    kinds = dict(Event.objects.filter(pk__in=set(ids.values())).values_list("pk", "type")) if ids else {}
    return {ref: TRIGGER_BY_EVENT.get(kinds.get(ids.get(ref)), Trigger.REGISTRATION) for ref in source_refs}


@events.handler("task.created", name="grid.open_case_for_village_task", batch=True)
def open_cases_for_village_tasks(evs) -> None:
    """Open the grid cases of all village tasks in the batch at once (``services.cases_open_for_tasks``)."""
    task_ids = [(e.payload or {}).get("task_id") for e in evs if (e.payload or {}).get("business_line") == GRID_BUSINESS_LINE]
    if not task_ids:
        return
    from zhijian.supervision.models import Task

    from . import services

    tasks = list(Task.objects.select_related("entity", "entity__grid", "bureau").filter(pk__in=task_ids, entity__isnull=False).order_by("pk"))
    if not tasks:
        return
    triggers = _triggers_for({t.source_ref for t in tasks})
    services.cases_open_for_tasks(
        [(t, triggers[t.source_ref], t.source_ref, timezone.localtime(t.created_at).date()) for t in tasks]
    )


def open_case_for_village_task(event):
    """One ``task.created`` event: the same path with a batch of one."""
    open_cases_for_village_tasks([event])


def _ended_case(event):
    from .choices import FINAL_STATES
    from .services import ENDING_EVENTS, _case_for_work

    payload = event.payload or {}
    if event.type not in ENDING_EVENTS or payload.get("state") not in FINAL_STATES or not payload.get("case_id"):
        return None
    return _case_for_work(payload["case_id"])


# Only the actions that can end a case (services.ENDING_EVENTS), not the grid.case_opened of a
# burst of registrations: every matching event costs an exactly-once marker.
ENDING = tuple(f"grid.case_{a}" for a in (CaseAction.FIRST_VISIT, CaseAction.RECHECK, CaseAction.JOINT, CaseAction.ROUTE, CaseAction.CANCEL))


@events.handler(ENDING, name="grid.finish_village_task")
def finish_village_task(event) -> None:
    """A case ended: finish (or cancel) its village supervision task."""
    case = _ended_case(event)
    if case is not None and case.task_id:
        from . import services

        services.finish_village_task(case=case)


@events.handler("grid.case_route", name="grid.route_work")
def route_work(event) -> None:
    """A case was routed: a clue for the licensing department or a task for the county bureau."""
    case = _ended_case(event)
    if case is not None:
        from . import services

        services.route_work(case=case)


@events.handler(("clue.reported", "clue.returned"), name="grid.referral_feedback")
def referral_feedback(event) -> None:
    """A department answered a clue: if a routed case became that clue, note it on the case."""
    from . import services

    payload = event.payload or {}
    if payload.get("clue_id"):
        services.referral_feedback(clue_id=payload["clue_id"], reported=event.type == "clue.reported",
                                   comment=str(payload.get("comment") or ""))
