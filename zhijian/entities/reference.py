"""Loading the shipped GB/T 4754-2017 industries (data/industry), idempotent like the divisions."""
from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from zhijian.geo.reference import BATCH, LoadStats, data_dir, open_csv

from .models import Industry


def load_industries(*, progress: Callable | None = None) -> LoadStats:
    """Upsert GB/T 4754-2017 into ``Industry`` (parents before children)."""
    stats = LoadStats()
    rows = [
        (r["code"].strip(), r["name"].strip(), int(r["level"]), r["parent_code"].strip() or None)
        for r in open_csv(data_dir() / "industry" / "gbt4754_2017.csv")
    ]
    rows.sort(key=lambda r: (r[2], r[0]))
    bar = progress(total=len(rows), desc="industries", unit="行") if progress else None
    with transaction.atomic():
        existing = {c: (n, lv, p) for c, n, lv, p in Industry.objects.values_list("code", "name", "level", "parent_id")}
        for level in sorted({r[2] for r in rows}):
            new, changed = [], []
            for code, name, lv, parent in rows:
                if lv != level:
                    continue
                stats.per_level[lv] += 1
                old = existing.get(code)
                if old is None:
                    new.append(Industry(code=code, name=name, level=lv, parent_id=parent))
                elif old != (name, lv, parent):
                    changed.append(Industry(code=code, name=name, level=lv, parent_id=parent))
                else:
                    stats.unchanged += 1
            Industry.objects.bulk_create(new, batch_size=BATCH)
            if changed:
                Industry.objects.bulk_create(changed, batch_size=BATCH, update_conflicts=True, unique_fields=["code"], update_fields=["name", "level", "parent"])
            stats.created += len(new)
            stats.updated += len(changed)
            if bar:
                bar.update(sum(1 for r in rows if r[2] == level))
    if bar:
        bar.close()
    return stats
