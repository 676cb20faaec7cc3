"""Shared bootstrapping for benchmarks: a fresh database of their own, Django set up."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def django_for(name: str, database: str | None):
    """Point Django at a benchmark database (fresh SQLite under var/bench, or the given URL) and migrate."""
    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    if database:
        os.environ["ZHIJIAN_DATABASE_URL"] = database
    else:
        db = bench_dir / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        os.environ["ZHIJIAN_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhijian.settings")
    os.environ.setdefault("ZHIJIAN_TASKS", "immediate")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return bench_dir


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]
