"""The supervision-task requirement this app contributes: a task of a business line needs its
sealed inspection record (linked by ``services.inspection_seal`` through ``task_link_record``).

Registered with ``zhijian.supervision.requirements`` (the S2 task loop asks every registered
check before a task is submitted or archived). ``check(task)`` returns a message when the task
may not move on, else None.
"""
from __future__ import annotations

from django.utils.translation import gettext as _

from zhijian.supervision import requirements

from .services import TASK_RECORD_KIND

NAME = "inspections.sealed_record"


def sealed_record_missing(task) -> str | None:
    """A task on an entity cannot be submitted or archived before a sealed inspection record
    (现场检查笔录) covers it."""
    if not task.business_line:
        return None
    if task.records.filter(kind=TASK_RECORD_KIND, signed=True).exists():
        return None
    return _("缺少已签章的现场检查笔录")


def install() -> None:
    requirements.register(NAME, sealed_record_missing)
