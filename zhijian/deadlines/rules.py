"""``due(rule_code, start)``: the one way services compute a legal deadline.

The rule version applied is the one in force on ``at`` (by default the start date): a complaint
received before a new rule took effect keeps the old rule's period. When the holiday schedule of a year on the
way is unknown the date is computed on that year's provisional calendar (statutory holidays and
weekends, see ``workdays``) and comes back with ``provisional=True`` and a warning: nothing is
refused for want of a calendar. Anything else worth knowing comes back in ``Deadline.warnings``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core.errors import ApplicationError

from . import workdays
from .choices import RuleKind, Unit
from .models import DeadlineRule


class RuleNotFound(ApplicationError):
    status = 404

    def __init__(self, code: str, at: dt.date):
        super().__init__(
            _("没有在 %(date)s 有效的期限规则“%(code)s”") % {"date": at.isoformat(), "code": code},
            code="rule_not_found",
            extra={"rule": code, "at": at.isoformat()},
        )


@dataclass(frozen=True)
class Deadline:
    """A computed deadline and where it comes from."""

    rule_code: str
    rule_name: str
    version: int
    legal_basis: str
    amount: int
    unit: str
    start: dt.date
    due_date: dt.date
    effective_from: dt.date
    effective_to: dt.date | None
    opens_on: dt.date | None = None  # first day of an annual window
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # Computed on the provisional calendar of a year whose schedule is not entered yet: show it
    # as 暂定 wherever it is shown or printed (``display()``).
    provisional: bool = False

    def display(self) -> str:
        """``2027-01-29`` or ``2027-01-29（暂定）``."""
        return f"{self.due_date.isoformat()}{_('（暂定）') if self.provisional else ''}"

    def __str__(self):
        return f"{self.rule_code} v{self.version}: {self.display()}"

    def is_overdue(self, today: dt.date | None = None) -> bool:
        """True from the day after the due date (the due date itself is still in time)."""
        return (today or timezone.localdate()) > self.due_date

    def days_left(self, today: dt.date | None = None) -> int:
        """Left until the due date: working days for a working-day rule, natural days otherwise.

        0 on the due date, negative once overdue.
        """
        today = today or timezone.localdate()
        if self.unit == Unit.WORKDAYS:
            return workdays.workdays_between(today, self.due_date)
        return (self.due_date - today).days

    def as_dict(self, today: dt.date | None = None) -> dict:
        today = today or timezone.localdate()
        return {
            "rule": self.rule_code,
            "name": self.rule_name,
            "version": self.version,
            "legal_basis": self.legal_basis,
            "amount": self.amount,
            "unit": self.unit,
            "start": self.start.isoformat(),
            "due_date": self.due_date.isoformat(),
            "opens_on": self.opens_on.isoformat() if self.opens_on else None,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "today": today.isoformat(),
            "is_overdue": self.is_overdue(today),
            "days_left": self.days_left(today),
            "warnings": list(self.warnings),
            "provisional": self.provisional,
        }


def rule_in_force(code: str, on: dt.date) -> DeadlineRule:
    """The version of rule ``code`` in force on ``on`` (the highest version if several)."""
    rule = (
        DeadlineRule.objects.filter(code=code, effective_from__lte=on)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
        .order_by("-version")
        .first()
    )
    if rule is None:
        raise RuleNotFound(code, on)
    return rule


def compute(rule: DeadlineRule, start: dt.date) -> tuple[dt.date, bool]:
    """The due date of one rule version from ``start``, and whether it is provisional."""
    with workdays.tracking() as used:
        due_date, _opens = _compute(rule, start)
    return due_date, bool(used)


def provisional_warning(years) -> str:
    return _("%(years)s 年的法定节假日安排尚未公布，本期限按法定节日和周末暂定，公布后将重新计算（只会对当事人延后，不会提前）。") % {
        "years": "、".join(str(y) for y in sorted(years))}


def _compute(rule: DeadlineRule, start: dt.date) -> tuple[dt.date, dt.date | None]:
    if rule.kind == RuleKind.ANNUAL_WINDOW:
        sm, sd = (int(x) for x in rule.window_start.split("-"))
        em, ed = (int(x) for x in rule.window_end.split("-"))
        return dt.date(start.year, em, ed), dt.date(start.year, sm, sd)
    if rule.unit == Unit.WORKDAYS:
        return workdays.add_workdays(start, rule.amount), None
    if rule.unit == Unit.DAYS:
        return workdays.add_days(start, rule.amount, roll_forward=rule.roll_forward), None
    if rule.unit == Unit.MONTHS:
        return workdays.add_months(start, rule.amount, roll_forward=rule.roll_forward), None
    return workdays.add_years(start, rule.amount, roll_forward=rule.roll_forward), None


def due(rule_code: str, start: dt.date, *, at: dt.date | None = None) -> Deadline:
    """The deadline of ``rule_code`` for a period starting on ``start``.

    ``at`` is the date that decides which rule version applies (default ``start``): pass the
    complaint's receipt date when computing, say, the mediation deadline from its acceptance date.
    For an annual-window rule ``start`` picks the year; the window is that year's.
    """
    at = at or start
    rule = rule_in_force(rule_code, at)
    with workdays.tracking() as used:
        due_date, opens_on = _compute(rule, start)
    warnings = []
    if used:
        warnings.append(provisional_warning(used))
    if not rule.confirmed:
        warnings.append(
            _("规则“%(name)s”（第%(version)s版）的时限尚待管理员对照法规原文确认：%(note)s")
            % {"name": rule.name, "version": rule.version, "note": rule.note or rule.legal_basis}
        )
    newer = (
        DeadlineRule.objects.filter(code=rule_code, effective_from__gt=at, effective_from__lte=max(due_date, at))
        .order_by("effective_from")
        .first()
    )
    if newer is not None:
        warnings.append(
            _("本事项按 %(at)s 时有效的第%(version)s版规则计算；第%(newer)s版自 %(from)s 起施行，不溯及本事项。")
            % {"at": at.isoformat(), "version": rule.version, "newer": newer.version, "from": newer.effective_from.isoformat()}
        )
    return Deadline(
        rule_code=rule.code,
        rule_name=rule.name,
        version=rule.version,
        legal_basis=rule.legal_basis,
        amount=rule.amount,
        unit=rule.unit,
        start=start,
        due_date=due_date,
        effective_from=rule.effective_from,
        effective_to=rule.effective_to,
        opens_on=opens_on,
        warnings=tuple(warnings),
        provisional=bool(used),
    )
