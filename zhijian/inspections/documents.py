"""The on-site documents as printable A4 PDFs (WeasyPrint, Noto Sans CJK SC embedded):
现场检查笔录 for every record and 责令改正通知书 when the conclusion is "correct".

Each document carries the number allocated when the record was uploaded (types 检 / 责改), is
stored as a checked upload and listed in ``InspectionDocument``. The record carries a QR code
(segno) of the entity's public result page.
"""
from __future__ import annotations

import base64
import io

import segno
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import trace
from zhijian.deadlines.choices import DocType
from zhijian.org.choices import BureauLevel
from zhijian.security.uploads import check_upload, store_upload

from .choices import CheckResult, Conclusion, InspectionAction, SignerRole
from .correction import provisional_note
from .models import Inspection, InspectionDocument

FONT_FAMILY = "Noto Sans CJK SC"


def html_to_pdf(html: str) -> bytes:
    # Imported here, when a document is rendered: WeasyPrint loads Pango and its fonts (about a
    # second), which no other page, command or worker start should pay for.
    from weasyprint import HTML

    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def _data_uri(upload, content_type="image/png") -> str:
    if upload is None:
        return ""
    with open(upload.path, "rb") as fh:
        return f"data:{content_type};base64," + base64.b64encode(fh.read()).decode("ascii")


def public_url(inspection: Inspection, base_url: str = "") -> str:
    base = (base_url or getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
    return f"{base}{inspection.get_public_url()}"


def qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=3, border=1)


def _context(inspection: Inspection, base_url: str) -> dict:
    results = list(inspection.results.select_related("item__business_line")
                   .order_by("item__business_line__order", "item__part", "item__order"))
    lines = []
    for r in results:
        if not lines or lines[-1]["line"] != r.item.business_line:
            lines.append({"line": r.item.business_line, "rows": []})
        lines[-1]["rows"].append(r)
    signatures = list(inspection.signatures.select_related("image", "user"))
    certs = {o.user_id: o.cert_no for o in inspection.officer_rows.all()}
    officer_sigs = [{"name": s.name, "cert_no": certs.get(s.user_id, ""), "image": _data_uri(s.image)}
                    for s in signatures if s.role == SignerRole.OFFICER]
    rep = next((s for s in signatures if s.role == SignerRole.REPRESENTATIVE), None)
    url = public_url(inspection, base_url)
    return {
        "i": inspection, "entity": inspection.entity, "lines": lines, "officers": list(inspection.officer_rows.all()),
        "officer_sigs": officer_sigs, "rep": rep, "rep_image": _data_uri(rep.image) if rep and rep.image_id else "",
        "problems": [r for r in results if r.result == CheckResult.PROBLEM], "counts": _counts(results),
        "qr": qr_data_uri(url), "public_url": url, "font_family": FONT_FAMILY, "today": timezone.localdate(),
        "Conclusion": Conclusion, "provisional_note": provisional_note(inspection),
        "issuer_self": issuer_self(inspection.bureau),
    }


def issuer_self(bureau) -> str:
    """How a notice names its issuing unit: a market-supervision station (所) says 本所, a bureau 本局."""
    return _("本所") if bureau is not None and bureau.level == BureauLevel.STATION else _("本局")


def _counts(results) -> dict:
    counts = {c.value: 0 for c in CheckResult}
    for r in results:
        counts[r.result] += 1
    return counts


def render_record(inspection: Inspection, *, base_url: str = "") -> bytes:
    return html_to_pdf(render_to_string("inspections/pdf/record.html", _context(inspection, base_url)))


def render_correction(inspection: Inspection, *, base_url: str = "") -> bytes:
    return html_to_pdf(render_to_string("inspections/pdf/correction.html", _context(inspection, base_url)))


def _store(inspection, *, doc_type, number, pdf: bytes, actor) -> InspectionDocument:
    buffer = io.BytesIO(pdf)
    buffer.name = f"{doc_type}-{inspection.pk}.pdf"
    upload = store_upload(check_upload(buffer, kinds=["pdf"], max_bytes=50 * 1024 * 1024), uploaded_by=actor, purpose=doc_type)
    doc, _ = InspectionDocument.objects.update_or_create(
        inspection=inspection, doc_type=doc_type, defaults={"number": number, "upload": upload, "sha256": upload.sha256},
    )
    trace.record(actor=actor, action=InspectionAction.DOCUMENT, obj=inspection,
                 after={"doc_type": doc_type, "number": number, "sha256": upload.sha256})
    return doc


@transaction.atomic
def generate_all(*, inspection: Inspection, actor, public_base_url: str = "") -> list[InspectionDocument]:
    """Render and store the record (and the correction order when due) under their numbers."""
    docs = [_store(inspection, doc_type=DocType.INSPECTION_RECORD, number=inspection.number,
                   pdf=render_record(inspection, base_url=public_base_url), actor=actor)]
    if inspection.conclusion == Conclusion.CORRECT:
        docs.append(_store(inspection, doc_type=DocType.CORRECTION_ORDER, number=inspection.correction_number,
                           pdf=render_correction(inspection, base_url=public_base_url), actor=actor))
    return docs
