"""The village's first visit (G1): each registration or address/scope change the push announced
(``village.notify``) becomes a grid first-visit task in its village's queue, in bulk, idempotent per
entity and trigger, due by the ``grid.first_visit`` rule (10 working days).
"""
from __future__ import annotations

from django.utils.translation import gettext as _

from zhijian.entities.models import MarketEntity
from zhijian.geo.models import Division
from zhijian.supervision.choices import TaskSource
from zhijian.supervision.tasks import TaskSpec, tasks_create_bulk

from .choices import PushTrigger
from .push import VILLAGE_BUSINESS_LINE, PushBatch, chunks, village_tasks_of

VILLAGE_DEADLINE_RULE = "grid.first_visit"
# Hour-based limits are data here, not day rules: the village receives a registration within 1 h.
VILLAGE_RECEIPT_HOURS = 1


def village_of(entity, divisions: dict[str, str] | None = None) -> tuple[str, str]:
    """(code, name) of the entity's village: its level-2 grid, else its division."""
    grid = getattr(entity, "grid", None)
    if grid is not None and grid.level == 2:
        return grid.code, grid.name
    if divisions is not None and entity.division_code in divisions:
        return entity.division_code, divisions[entity.division_code]
    div = Division.objects.filter(code=entity.division_code).first()
    return entity.division_code, div.name if div else entity.division_code


def _village_spec(entity, push_batch: PushBatch, divisions: dict[str, str] | None = None) -> TaskSpec:
    code, name = village_of(entity, divisions)
    depts = sorted({str(getattr(i, "department", i)) for i in push_batch.items})
    description = _("%(trigger)s；属地：%(village)s（%(code)s）；须在 %(hours)s 小时内接收，10 个工作日内首次走访。已推送部门：%(depts)s") % {
        "trigger": PushTrigger(push_batch.trigger).label, "village": name, "code": code, "hours": VILLAGE_RECEIPT_HOURS,
        "depts": "、".join(depts) or "—",
    }
    return TaskSpec(entity=entity, title=_("首次走访：%(name)s") % {"name": entity.name}, source=TaskSource.CLUE,
                    business_line=VILLAGE_BUSINESS_LINE, source_ref=f"push:{push_batch.trigger_key}"[:64],
                    deadline_rule=VILLAGE_DEADLINE_RULE, description=description)


def notify_villages(push_batches: list[PushBatch]) -> list:
    """G1 in bulk: each registration or address/scope change reaches its village as a grid
    first-visit task, idempotent per entity and trigger (``source_ref``), due by the
    ``grid.first_visit`` rule (10 working days). One query finds the tasks that already exist,
    one for the villages' names; the tasks are created by ``supervision.tasks_create_bulk``."""
    have = village_tasks_of(push_batches)
    need_div = {b.entity.division_code for b in push_batches
                if not (getattr(b.entity, "grid", None) is not None and b.entity.grid.level == 2)}
    divisions = {}
    for part in chunks(sorted(need_div)):
        divisions.update(dict(Division.objects.filter(code__in=part).values_list("code", "name")))
    for code in need_div - set(divisions):
        divisions[code] = code
    specs = []
    for b in push_batches:
        key = (b.entity.pk, f"push:{b.trigger_key}"[:64])
        if key in have:
            continue
        have.add(key)
        specs.append(_village_spec(b.entity, b, divisions))
    return tasks_create_bulk(actor=None, specs=specs)


def villages_from_events(evs: list) -> list:
    """The village first-visit tasks of the pushes listed by ``village.notify`` events."""
    pushes = [p for ev in evs for p in (ev.payload or {}).get("pushes", [])]
    ids = sorted({p[0] for p in pushes})
    entities = {}
    for part in chunks(ids):
        entities.update((e.pk, e) for e in MarketEntity.objects.filter(pk__in=part).select_related("grid"))
    batches = [PushBatch(entities[eid], trigger, key, source, list(depts))
               for eid, trigger, key, source, depts in pushes if eid in entities]
    return notify_villages(batches) if batches else []
