"""Periodic sweeps: one registry, run by the ``scheduler`` command under a database lease.

Any app declares a sweep in its ``sweeps.py`` (imported at start-up by :func:`autodiscover`)::

    from datetime import timedelta
    from zhijian.deadlines.scheduling import periodic

    @periodic("complaints.overdue_warnings", every=timedelta(hours=1))
    def overdue_warnings() -> str:
        ...            # find what is due, enqueue per-item tasks, return a one-line summary

A sweep runs only while its scheduler holds the ``SweepLease`` row, so two schedulers (on two
machines) never run the same sweep at once, and a sweep runs at most once per ``every``. A
scheduler that dies mid-run loses the lease when ``lease`` expires; another takes over.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import traceback
import uuid
from dataclasses import dataclass
from typing import Callable

from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from .choices import SweepStatus
from .services import acquire_lease, release_lease

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    every: dt.timedelta
    lease: dt.timedelta
    func: Callable[[], object]


_REGISTRY: dict[str, Periodic] = {}


def periodic(name: str, *, every: dt.timedelta, lease: dt.timedelta | None = None):
    """Register ``func`` as the sweep ``name`` run every ``every``.

    ``lease`` bounds one run (default: ``every``, at least 5 minutes, at most 1 hour); a run
    that takes longer may be started again by another scheduler.
    """
    if every <= dt.timedelta(0):
        raise ValueError("every must be positive")
    lease = lease or min(max(every, dt.timedelta(minutes=5)), dt.timedelta(hours=1))

    def decorator(func):
        existing = _REGISTRY.get(name)
        if existing is not None and existing.func.__qualname__ != func.__qualname__:
            raise ValueError(f"periodic sweep {name!r} registered twice")
        _REGISTRY[name] = Periodic(name=name, every=every, lease=lease, func=func)
        return func

    return decorator


def registry() -> dict[str, Periodic]:
    return dict(_REGISTRY)


def autodiscover() -> None:
    """Import every installed app's ``sweeps`` module so its ``@periodic`` sweeps register."""
    autodiscover_modules("sweeps")


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_sweep(name: str, *, holder: str | None = None, due_only: bool = True) -> tuple[bool, str]:
    """Run sweep ``name`` if its lease can be taken. Returns (ran, message).

    ``due_only=False`` runs it now even if its period has not passed (still never concurrently).
    """

    sweep = _REGISTRY.get(name)
    if sweep is None:
        raise KeyError(f"unknown periodic sweep {name!r}")
    holder = holder or default_holder()
    started = timezone.now()
    if not acquire_lease(name=name, holder=holder, ttl=sweep.lease, due_only=due_only, now=started):
        return False, ""
    try:
        result = sweep.func()
    except Exception:  # noqa: BLE001 — recorded on the lease row, then the next sweep runs
        message = traceback.format_exc()
        log.exception("sweep %s failed", name)
        release_lease(name=name, holder=holder, status=SweepStatus.FAILED, message=message, next_run_at=started + sweep.every)
        return True, message
    message = "" if result is None else str(result)
    if not release_lease(name=name, holder=holder, status=SweepStatus.OK, message=message, next_run_at=started + sweep.every):
        log.warning("sweep %s outlived its lease (%s); another scheduler may have run it", name, sweep.lease)
    return True, message


def run_due_sweeps(*, holder: str | None = None, only: list[str] | None = None) -> list[tuple[str, str]]:
    """One scheduler tick: run every due sweep whose lease is free. Returns [(name, message)]."""
    holder = holder or default_holder()
    ran = []
    for name in sorted(_REGISTRY):
        if only and name not in only:
            continue
        did, message = run_sweep(name, holder=holder)
        if did:
            ran.append((name, message))
    return ran
