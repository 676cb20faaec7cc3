"""Data the draw reads from other apps, each behind one replaceable function.

- ``risk_class_of``: reads :class:`EntityRiskClass`, which the credit work fills (no row: class B).
  The commit reads the same table with one outer join (``services._pool_sql``).
- ``last_inspectors``: the inspections app replaces it once inspections are recorded.
"""
from __future__ import annotations

from collections import defaultdict


def risk_class_of(entity_ids) -> dict:
    """Credit-risk class (A/B/C/D) per entity id: the entity's :class:`EntityRiskClass` row, B without one."""
    from .models import EntityRiskClass

    ids = list(entity_ids)
    out = dict.fromkeys(ids, "B")
    for i in range(0, len(ids), 5000):
        out.update(EntityRiskClass.objects.filter(entity_id__in=ids[i : i + 5000]).values_list("entity_id", "risk_class"))
    return out


def last_inspectors(credit_codes=None) -> dict[str, set[int]]:
    """User ids of the inspectors of each entity's most recent inspection.

    Reads :class:`PastInspection` and the results recorded on earlier draws; the latest date wins
    (both sources on the same date are merged).
    """
    from .models import DrawItem, PastInspection

    latest: dict[str, tuple] = {}
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
    if credit_codes is not None:
        codes = list(credit_codes)
        past = past.filter(credit_code__in=codes)
        items = items.filter(credit_code__in=codes)
    for code, day, uid in past.values_list("credit_code", "inspected_on", "inspector_id").iterator():
        see(code, day, [uid])
    for code, day, ids in items.values_list("credit_code", "inspected_on", "inspector_ids").iterator():
        see(code, day, ids)
    return dict(people)
