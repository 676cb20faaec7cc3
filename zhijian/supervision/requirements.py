"""What a task needs before it may be submitted or archived: a registry other apps fill.

An app registers a check at start-up (e.g. in its ``AppConfig.ready``)::

    from zhijian.supervision import requirements

    def _signed_record(task):
        if task.business_line and not task.records.filter(kind="inspection_record", signed=True).exists():
            return "缺少已签名的现场检查笔录"
        return None

    requirements.register("inspections.signed_record", _signed_record)

``check(task) -> str | None`` returns a Chinese message naming what is missing, or ``None``.
``stages`` says when it runs: ``("submit", "archive")`` by default. The task services run every
check of the stage and refuse with *all* missing items listed.

A business line whose work another app carries out and records in its own flow (the grid's
village first visit: a grid case, never a 现场检查笔录) is registered with
``register_own_record(line, kind, message)``: its tasks need that record, linked final
(``signed=True``) with ``task_link_record``, in place of the registered checks.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

SUBMIT = "submit"
ARCHIVE = "archive"
STAGES = (SUBMIT, ARCHIVE)


@dataclass(frozen=True)
class Requirement:
    name: str
    check: Callable
    stages: tuple[str, ...]


_registry: dict[str, Requirement] = {}
_own_records: dict[str, tuple[str, object]] = {}
_carriers: dict[str, Callable] = {}


def register(name: str, check: Callable, *, stages: Iterable[str] = STAGES) -> None:
    """Register (or replace) the requirement ``name``."""
    stages = tuple(stages)
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; use {STAGES}")
    _registry[name] = Requirement(name, check, stages)


def register_own_record(business_line: str, kind: str, message, *, carrier=None) -> None:
    """Tasks of ``business_line`` are proven by a final record of ``kind`` (``message`` when it is
    missing) instead of the registered checks.

    ``carrier(task) -> str | None``: the line's work is one item of the other app (the grid case
    *is* the first visit), and the task is its entry in the task loop: no person moves it, the
    other app's flow does (as the system). The function names the carrying item for the person
    who tries ("网格事项 历下网格〔2026〕12号"); ``None`` while there is none yet (people may then
    work the task as any other)."""
    _own_records[business_line] = (kind, message)
    if carrier is not None:
        _carriers[business_line] = carrier


def carried_by(task) -> str | None:
    """What carries ``task`` (a Chinese phrase naming the item), or ``None`` for a task people work."""
    carrier = _carriers.get(task.business_line)
    return carrier(task) if carrier is not None else None


def unregister(name: str) -> None:
    _registry.pop(name, None)


def registered() -> list[Requirement]:
    return list(_registry.values())


def missing(task, stage: str) -> list[str]:
    """Messages of every unmet requirement of ``stage`` for ``task``, in registration order."""
    own = _own_records.get(task.business_line)
    if own is not None:
        kind, message = own
        return [] if task.records.filter(kind=kind, signed=True).exists() else [str(message)]
    out = []
    for req in _registry.values():
        if stage in req.stages:
            message = req.check(task)
            if message:
                out.append(str(message))
    return out
