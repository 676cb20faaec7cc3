"""The correction order's time limit (责令限期改正): rule data and a clock in the registry.

The officers set the period (1 … the rule's maximum working days, ``inspection.max_correction``
in force on the inspection's day); the registry (``deadlines.clocks``) counts it from the visit's
day, on a provisional calendar when the year's schedule is not yet published — never refusing —
and recomputes it when the schedule is entered. Wherever the due date is shown or printed, a
provisional one says so.
"""
from __future__ import annotations

import datetime as dt

from zhijian.deadlines import clocks, rules

from .choices import Conclusion

# TODO(lead): the "clocks" helper seeded this rule as "inspection.max_correction" (amount 90
# working days, the former constant MAX_CORRECTION_DAYS); change the code here if its final code differs.
CORRECTION_MAX_RULE = "inspection.max_correction"
CLOCK_PROCEDURE = "inspections.inspection"
CORRECTION_CLOCK = "correction"


def correction_max_days(on: dt.date) -> int:
    """The longest correction period (working days) an on-site order may set on ``on``."""
    return rules.rule_in_force(CORRECTION_MAX_RULE, on).amount


def correction_clock(inspection):
    """The registry's clock of an inspection's correction order (None without one)."""
    if inspection.conclusion != Conclusion.CORRECT or not inspection.pk:
        return None
    return clocks.get(CLOCK_PROCEDURE, inspection.pk, CORRECTION_CLOCK)


def provisional_note(inspection) -> str:
    """The sentence a provisional correction due date carries wherever it is printed, or ""."""
    clock = correction_clock(inspection)
    if clock is None or not clock.provisional:
        return ""
    return rules.provisional_warning({clock.due_on.year})
