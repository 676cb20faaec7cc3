"""Background tasks (django-tasks): thin wrappers over services and the sweep runner."""
from __future__ import annotations

from django_tasks import task
from .scheduling import run_sweep
from .services import load_holidays


@task()
def run_sweep_task(name: str, force: bool = False) -> dict:
    """Run one registered sweep on a worker, under its lease (``force`` ignores its period)."""

    ran, message = run_sweep(name, due_only=not force)
    return {"name": name, "ran": ran, "message": message}


@task()
def load_holidays_task() -> dict:
    """Reload data/holidays/*.json into the holiday table (idempotent)."""

    return load_holidays()
