"""The clue's steps after intake, each one ``CLUE.move`` (see ``workflow.py`` for the table).

Every step is keyword-only and atomic; ``actor=None`` is the system. The verification clock is the
clock registry's (``deadlines.clocks``, name ``verify``): started when verification starts, extended
once by 15 working days counted from the ORIGINAL due date, stopped by the decision.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core.workflow import Forbidden, GuardFailed
from zhijian.deadlines import clocks

from .choices import PROCEDURE, ClueAction
from .models import Clue
from .workflow import CLUE, VERIFY_CLOCK, department_member, verify_rules


def allowed_actions(clue, user) -> list[str]:
    """The steps ``user`` may take on ``clue`` now (the text or department a page asks for counts as given)."""
    return CLUE.allowed(clue, user, listing=True)


def _need_department_member(actor, clue) -> None:
    # Before the state: a person outside the department learns nothing about where the clue is.
    if actor is None:
        return
    reason = department_member(Clue.objects.get(pk=clue.pk), actor, {})
    if reason:
        raise Forbidden(reason)


@transaction.atomic
def clue_assign(*, actor, clue, department, comment: str = "", via: str = "") -> Clue:
    """The town office (镇街商改办) assigns the clue to the department that owns the matter."""
    fields = {"department_id": department.pk, "assigned_at": timezone.now()} if department is not None else {}
    comment = comment or (_("指派给 %(dept)s") % {"dept": department.name} if department is not None else "")
    return CLUE.move(clue, ClueAction.ASSIGN, actor=actor, department=department, fields=fields, comment=comment, via=via,
                     department_id=department.pk if department is not None else None, event_extra={"comment": comment[:500]},
                     lost_message=_("线索已被他人处理，请刷新后查看"))


@transaction.atomic
def clue_report(*, actor, clue, report: str, via: str = "") -> Clue:
    """The department reports back what it did."""
    report = (report or "").strip()
    _need_department_member(actor, clue)
    return CLUE.move(clue, ClueAction.REPORT, actor=actor, report=report, fields={"report": report, "reported_at": timezone.now()},
                     comment=report, via=via, department_id=clue.department_id, event_extra={"comment": report[:500]},
                     lost_message=_("线索已被他人处理，请刷新后查看"))


@transaction.atomic
def clue_return(*, actor, clue, reason: str, via: str = "") -> Clue:
    """The department sends the clue back to the town office (not its matter)."""
    reason = (reason or "").strip()
    _need_department_member(actor, clue)
    return CLUE.move(clue, ClueAction.RETURN, actor=actor, reason=reason, comment=reason, via=via, department_id=clue.department_id,
                     event_extra={"comment": reason[:500]}, lost_message=_("线索已被他人处理，请刷新后查看"))


@transaction.atomic
def clue_dismiss(*, actor, clue, reason: str, via: str = "") -> Clue:
    """The town office ends a recorded or returned clue that needs no handling (不予处理)."""
    reason = (reason or "").strip()
    return CLUE.move(clue, ClueAction.DISMISS, actor=actor, reason=reason, fields={"decision": reason}, comment=reason, via=via,
                     event_extra={"comment": reason[:500]})


@transaction.atomic
def clue_hand_over(*, clue, to_ref: str, comment: str = "") -> Clue:
    """The system hands a recorded clue to the procedure that takes it on (a grid report opens its
    grid case: ``to_ref`` ``grid:case:<id>``)."""
    return CLUE.move(clue, ClueAction.HAND_OVER, actor=None, fields={"handed_to": (to_ref or "")[:64]}, comment=comment,
                     event_extra={"handed_to": to_ref})


@transaction.atomic
def clue_verify(*, actor, clue, start=None, via: str = "") -> Clue:
    """Take the clue up for verification (核查): its clock runs 15 working days from ``start`` (the
    day the clue was found or its materials received; default: ``found_on``)."""
    CLUE.check(Clue.objects.get(pk=clue.pk), ClueAction.VERIFY, actor)
    rule, _extension = verify_rules(clue)
    clock = clocks.start(procedure=PROCEDURE, object_id=clue.pk, rule=rule, start=start or clue.found_on, name=VERIFY_CLOCK,
                         division_code=clue.division_code, entity_id=clue.entity_id, actor=actor)
    return CLUE.move(clue, ClueAction.VERIFY, actor=actor, due_on=clock.due_on, via=via, event_extra={"due_on": str(clock.due_on)})


@transaction.atomic
def clue_extend(*, actor, clue, reason: str, via: str = "") -> Clue:
    """Extend verification once, with the head's approval: 15 more working days counted from the
    ORIGINAL due date (``clocks.extend``), not from the start."""
    reason = (reason or "").strip()
    CLUE.check(Clue.objects.get(pk=clue.pk), ClueAction.EXTEND, actor, reason=reason)
    clock = clocks.get(PROCEDURE, clue.pk, name=VERIFY_CLOCK)
    if clock is None:
        raise GuardFailed(_("该线索没有核查期限，无法延长"), code="no_clock")
    _rule, extension = verify_rules(clue)
    clock = clocks.extend(clock, rule=extension, actor=actor, reason=reason)
    return CLUE.move(clue, ClueAction.EXTEND, actor=actor, reason=reason, comment=reason, due_on=clock.due_on, via=via,
                     event_extra={"due_on": str(clock.due_on)})


@transaction.atomic
def clue_file(*, actor, clue, comment: str = "", handed_to: str = "", via: str = "") -> Clue:
    """The head decides to file a case (立案); ``handed_to`` names the case when one exists."""
    moved = CLUE.move(clue, ClueAction.FILE, actor=actor, fields={"decision": (comment or "").strip(), "handed_to": (handed_to or "")[:64]},
                      comment=comment, via=via, event_extra={"handed_to": handed_to})
    clocks.stop_for(PROCEDURE, clue.pk, name=VERIFY_CLOCK, actor=actor)
    return moved


@transaction.atomic
def clue_close(*, actor, clue, reason: str, via: str = "") -> Clue:
    """The head decides not to file a case (不予立案), with the grounds."""
    reason = (reason or "").strip()
    moved = CLUE.move(clue, ClueAction.CLOSE, actor=actor, reason=reason, fields={"decision": reason}, comment=reason, via=via)
    clocks.stop_for(PROCEDURE, clue.pk, name=VERIFY_CLOCK, actor=actor)
    return moved
