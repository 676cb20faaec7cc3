"""Data the draw reads from other apps, each behind one function.

- ``risk_class_of``: reads :class:`EntityRiskClass`, which the credit work fills (no row: class B).
  The commit reads the same table with one outer join (``services._pool_sql``).
- ``last_inspectors``: who inspected each entity last — the sealed on-site inspection records
  (S3), the results recorded on earlier draws, and :class:`PastInspection` (inspections from
  before the platform, entered by hand).
- ``sealed_inspection_date``: the day of the sealed inspection that answered a drawn item.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone

from zhijian.inspections.choices import InspectionState
from zhijian.inspections.models import Inspection, InspectionOfficer

from .models import DrawItem, EntityRiskClass, PastInspection


def risk_class_of(entity_ids) -> dict:
    """Credit-risk class (A/B/C/D) per entity id: the entity's :class:`EntityRiskClass` row, B without one."""
    ids = list(entity_ids)
    out = dict.fromkeys(ids, "B")
    for i in range(0, len(ids), 5000):
        out.update(EntityRiskClass.objects.filter(entity_id__in=ids[i : i + 5000]).values_list("entity_id", "risk_class"))
    return out


def last_inspectors(credit_codes=None) -> dict[str, set[int]]:
    """User ids of the inspectors of each entity's most recent inspection.

    Reads the sealed on-site inspection records (the officers who signed them; the day the visit
    started), the results recorded on earlier draws and :class:`PastInspection`; the latest day
    wins, and the inspectors of every source on that day are merged. Unsealed (draft or merely
    signed) records do not count: they are not yet a record of anything.
    """
    latest: dict[str, dt.date] = {}
    people: dict[str, set[int]] = defaultdict(set)

    def see(code, day, ids):
        seen = latest.get(code)
        if seen is None or day > seen:
            latest[code] = day
            people[code] = set(ids)
        elif day == seen:
            people[code].update(ids)

    past = PastInspection.objects.all()
    items = DrawItem.objects.filter(inspected_on__isnull=False)
    officers = InspectionOfficer.objects.filter(inspection__state=InspectionState.SEALED)
    if credit_codes is not None:
        codes = list(credit_codes)
        past = past.filter(credit_code__in=codes)
        items = items.filter(credit_code__in=codes)
        officers = officers.filter(inspection__entity__credit_code__in=codes)
    for code, day, uid in past.values_list("credit_code", "inspected_on", "inspector_id").iterator():
        see(code, day, [uid])
    for code, day, ids in items.values_list("credit_code", "inspected_on", "inspector_ids").iterator():
        see(code, day, ids)
    for code, started, uid in officers.values_list("inspection__entity__credit_code", "inspection__started_at", "user_id").iterator():
        see(code, timezone.localdate(started), [uid])
    return dict(people)


def sealed_inspection_date(item: DrawItem) -> dt.date | None:
    """The day of the sealed on-site inspection that answered ``item``: the one recorded on the
    item's joint-inspection task, else the entity's first sealed inspection since the draw ran."""
    sealed = Inspection.objects.filter(state=InspectionState.SEALED)
    found = None
    if item.joint_id and item.joint.task_id:
        found = sealed.filter(tasks=item.joint.task_id).order_by("started_at").values_list("started_at", flat=True).first()
    if found is None and item.entity_id and item.draw.executed_at:
        found = (sealed.filter(entity_id=item.entity_id, started_at__gte=item.draw.executed_at)
                 .order_by("started_at").values_list("started_at", flat=True).first())
    return timezone.localdate(found) if found else None
