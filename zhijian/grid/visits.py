"""Visits (the 4+2 matters, G2) and the written notice (书面告知书) a visit with problems issues.

The case's moves that record a visit are in ``cases.py``; this module checks and stores what was
found and issues the notice: numbered by ``deadlines.numbering`` (type ``grid_notice``:
``<机关代字>网告〔2026〕N号``, gap-free per bureau and year), rendered to an A4 PDF, stored as a
checked upload, its SHA-256 in a signed trace entry, a ``notice`` step on the case's timeline.
"""
from __future__ import annotations

import io

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError
from zhijian.deadlines import numbering
from zhijian.deadlines.choices import DocType
from zhijian.inspections.documents import html_to_pdf
from zhijian.security.uploads import check_upload, store_upload

from .choices import MATTER_ORDER, CaseAction, ItemResult, Matter
from .models import GridCase, Visit, VisitItem
from .procedure import GRID_CASE, event_payload


def clean_items(items: dict, *, required: list[str]) -> dict[str, tuple[str, str]]:
    """``{matter: (result, note)}`` checked: known matters and results, a note for every problem,
    every ``required`` matter answered."""
    out = {}
    for matter, value in (items or {}).items():
        if matter not in Matter.values:
            raise ApplicationError(_("未知的检查事项：%(m)s") % {"m": matter}, code="bad_matter")
        result, note = (value, "") if isinstance(value, str) else (value[0], value[1] if len(value) > 1 else "")
        if result not in ItemResult.values:
            raise ApplicationError(_("“%(m)s”的结果无效") % {"m": Matter(matter).label}, code="bad_result")
        if result == ItemResult.PROBLEM and not (note or "").strip():
            raise ApplicationError(_("“%(m)s”发现问题，请写明问题") % {"m": Matter(matter).label}, code="note_required")
        out[matter] = (result, (note or "").strip()[:500])
    missing = [str(Matter(m).label) for m in required if m not in out]
    if missing:
        raise ApplicationError(_("请逐项填写检查结果，尚缺：%(m)s") % {"m": "、".join(missing)}, code="items_missing",
                               extra={"missing": missing})
    return out


def record_visit(case, *, kind, actor, today, items, note, lng, lat, problem_found, resolved) -> Visit:
    visit = Visit.objects.create(case=case, kind=kind, officer=actor, visited_on=today, lng=lng, lat=lat, problem_found=problem_found,
                                 resolved=resolved, note=(note or "")[:1000])
    VisitItem.objects.bulk_create([VisitItem(visit=visit, matter=m, result=r, note=n)
                                   for m, (r, n) in sorted(items.items(), key=lambda kv: MATTER_ORDER.index(kv[0]))])
    return visit


def open_problems(case) -> list[str]:
    """The matters still found wrong at the latest visit."""
    visit = case.visits.order_by("-at", "-id").first()
    if visit is None:
        return []
    return [i.matter for i in visit.items.all() if i.result == ItemResult.PROBLEM]


def render_notice(case, *, items, problems, number, today, provisional=False) -> bytes:
    """书面告知书 as an A4 PDF (WeasyPrint, Noto CJK) with the inspections app's renderer. A default
    deadline computed on a provisional calendar is printed as such."""
    html = render_to_string("grid/pdf/notice.html", {
        "case": case, "number": number, "today": today, "problems": [(Matter(m).label, items[m][1]) for m in problems],
        "font_family": "Noto Sans CJK SC", "deadline": case.notice_deadline, "provisional": provisional,
    })
    return html_to_pdf(html)


def issue_notice(case, *, actor, today, problems, items, provisional=False) -> str:
    """Number, render and store the notice of ``case`` (already moved to 限期整改), in the caller's
    transaction; a ``notice`` step on the timeline, a signed trace entry, a ``grid.case_notice``
    event. Returns the number."""
    if case.bureau is None:
        raise ApplicationError(_("事项没有责任机构，无法编号书面告知书"), code="no_bureau")
    _n, number = numbering.next_number(bureau=case.bureau, doc_type=DocType.GRID_NOTICE, year=today.year)
    pdf = render_notice(case, items=items, problems=problems, number=number, today=today, provisional=provisional)
    buf = io.BytesIO(pdf)
    buf.name = f"{case.number}-notice.pdf"
    stored = store_upload(check_upload(buf, kinds=["pdf"]), uploaded_by=actor, purpose="grid_notice")
    GridCase.objects.filter(pk=case.pk).update(notice_number=number, notice_pdf=stored)
    case.notice_number, case.notice_pdf = number, stored
    comment = _("%(n)s，整改期限 %(d)s") % {"n": number, "d": case.notice_deadline.isoformat()}
    step, = GRID_CASE.steps_rows([(case, CaseAction.NOTICE, case.state, case.state, actor, comment)])
    step.due_on = case.step_due_on
    step.save()
    trace.record(actor=actor, action="grid.case.notice", obj=case, object_type=GRID_CASE.name, before=None,
                 after={"notice_number": number, "deadline": case.notice_deadline, "pdf_sha256": stored.sha256}, sign=True)
    events.emit("grid.case_notice", payload=event_payload(case, notice_number=number, notice_deadline=case.notice_deadline, problems=problems),
                division_code=case.division_code, object_type=GRID_CASE.name, object_id=str(case.pk))
    return number
