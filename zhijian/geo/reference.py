"""Loading the shipped reference data: divisions (data/divisions). The GB/T 4754 industries are
the registry's (``zhijian.entities.reference``), loaded with the same helpers.

Idempotent: rows are compared with what the database holds and only new or changed rows are
written (bulk inserts, and bulk upserts for changes), so a second run writes nothing. Rows are
never deleted: entities may still carry a code that a newer vintage dropped.

Levels 1–4 come from the 2023 list, level 5 (villages) from the 2021 list. A village whose
township is not in the 2023 list is **kept** and attached to its nearest existing ancestor by
code prefix (county, then prefecture, then province); ``reparented`` counts them.
"""
from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .models import LEVEL_CODE_LENGTH, Division

BATCH = 5000


@dataclass
class LoadStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    reparented: int = 0
    skipped: int = 0
    per_level: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def data_dir() -> Path:
    return Path(settings.DATA_DIR)


def open_csv(path: Path) -> Iterable[dict]:
    """Open ``path`` or, if it does not exist, ``path.gz``."""
    if not path.exists() and path.with_name(path.name + ".gz").exists():
        path = path.with_name(path.name + ".gz")
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        yield from csv.DictReader(text)


def _upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with the digit prefix."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def read_divisions(provinces: Iterable[str] | None = None) -> tuple[dict[str, list[tuple[str, str, int, str | None]]], LoadStats]:
    """Read both files: ``{province: [(code, name, level, parent_code), …]}`` plus counts."""
    wanted = {p.strip() for p in provinces or () if p.strip()}
    stats = LoadStats()
    by_province: dict[str, list[tuple[str, str, int, str | None]]] = defaultdict(list)
    known: set[str] = set()
    for row in open_csv(data_dir() / "divisions" / "divisions_l1_l4.csv"):
        code = row["code"].strip()
        if wanted and code[:2] not in wanted:
            continue
        level = int(row["level"])
        if len(code) != LEVEL_CODE_LENGTH[level]:
            stats.skipped += 1
            continue
        known.add(code)
        by_province[code[:2]].append((code, row["name"].strip(), level, row["parent_code"].strip() or None))
    for row in open_csv(data_dir() / "divisions" / "villages_2021.csv"):
        code = row["code"].strip()
        if wanted and code[:2] not in wanted:
            continue
        parent = row["parent_code"].strip()
        if parent not in known:
            # The 2021 township is gone in 2023: attach to the nearest ancestor that exists.
            parent = next((code[:n] for n in (6, 4, 2) if code[:n] in known), None)
            if parent is None:
                stats.skipped += 1
                continue
            stats.reparented += 1
        by_province[code[:2]].append((code, row["name"].strip(), 5, parent))
    return by_province, stats


def load_divisions(*, provinces: Iterable[str] | None = None, progress: Callable | None = None) -> LoadStats:
    """Upsert divisions (all, or only the given 2-digit province codes)."""
    by_province, stats = read_divisions(provinces)
    bar = progress(total=sum(len(v) for v in by_province.values()), desc="divisions", unit="行") if progress else None
    for province in sorted(by_province):
        rows = by_province[province]
        with transaction.atomic():
            existing = {
                code: (name, level, parent)
                for code, name, level, parent in Division.objects.filter(code__gte=province, code__lt=_upper_bound(province))
                .order_by()
                .values_list("code", "name", "level", "parent_id")
                .iterator(chunk_size=BATCH)
            }
            new, changed = [], []
            for code, name, level, parent in rows:
                stats.per_level[level] += 1
                old = existing.get(code)
                if old is None:
                    new.append(Division(code=code, name=name, level=level, parent_id=parent))
                elif old != (name, level, parent):
                    changed.append(Division(code=code, name=name, level=level, parent_id=parent))
                else:
                    stats.unchanged += 1
            for i in range(0, len(new), BATCH):
                Division.objects.bulk_create(new[i : i + BATCH], batch_size=BATCH)
                if bar:
                    bar.update(len(new[i : i + BATCH]))
            for i in range(0, len(changed), BATCH):
                Division.objects.bulk_create(
                    changed[i : i + BATCH], batch_size=BATCH, update_conflicts=True, unique_fields=["code"], update_fields=["name", "level", "parent"]
                )
            stats.created += len(new)
            stats.updated += len(changed)
            if bar:
                bar.update(len(rows) - len(new))
    if bar:
        bar.close()
    return stats
