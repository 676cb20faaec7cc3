"""Reads of clues, always scoped: department staff see their own department's clues only."""
from __future__ import annotations

from zhijian.deadlines import clocks

from .choices import PROCEDURE
from .models import Clue
from .workflow import VERIFY_CLOCK


def clues(user):
    qs = Clue.objects.scoped(user).select_related("department", "entity", "reporter", "grid")
    if getattr(user, "department_id", None):
        qs = qs.filter(department_id=user.department_id)
    return qs


def by_source(source: str, source_ref: str) -> Clue | None:
    """The clue a business line raised under ``source_ref`` (not scoped: for the system's handlers)."""
    if not source_ref:
        return None
    return Clue.objects.select_related("department", "entity").filter(source=source, source_ref=source_ref).first()


def verify_clock(clue):
    """The clue's verification clock (``deadlines.clocks``), or None before verification."""
    return clocks.get(PROCEDURE, clue.pk, name=VERIFY_CLOCK)
