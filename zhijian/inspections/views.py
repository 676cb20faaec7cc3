"""Pages: the checklist browser (S1), law texts, the staff view of an inspection with its
verification status, its PDFs, and the entity's public result page (no login, no personal data)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from zhijian.deadlines.choices import DocType
from zhijian.security.masking import mask_name

from . import queries, services
from .choices import SignerRole
from .correction import provisional_note
from .models import BusinessLine, ChecklistVersion, Inspection, Law, Signature


def _version(request):
    number = request.GET.get("version", "")
    if number.isdigit():
        return get_object_or_404(ChecklistVersion, number=int(number), published=True)
    return services.current_version()


@login_required
def checklist_index(request):
    version = _version(request)
    lines = BusinessLine.objects.all()
    counts = {}
    if version:
        for item in version.items.values("business_line_id", "key_item"):
            c = counts.setdefault(item["business_line_id"], [0, 0])
            c[0] += 1
            c[1] += item["key_item"]
    rows = [(line, *counts.get(line.pk, (0, 0))) for line in lines]
    return render(request, "inspections/checklist_index.html", {
        "version": version, "rows": rows, "versions": ChecklistVersion.objects.filter(published=True),
    })


@login_required
def checklist_line(request, code):
    line = get_object_or_404(BusinessLine, code=code)
    version = _version(request)
    items = list(queries.checklist_items(version, [code]).prefetch_related("articles__law")) if version else []
    return render(request, "inspections/checklist_line.html", {"line": line, "version": version, "items": items})


@login_required
def law_detail(request, pk):
    law = get_object_or_404(Law, pk=pk)
    return render(request, "inspections/law.html", {"law": law, "articles": law.articles.all()})


@login_required
def inspection_detail(request, pk):
    inspection = get_object_or_404(
        Inspection.objects.scoped(request.user).select_related("entity", "bureau", "checklist_version", "created_by"), pk=pk)
    results = inspection.results.select_related("item__business_line").order_by("item__business_line__order", "item__part", "item__order")
    return render(request, "inspections/detail.html", {
        "i": inspection, "results": results, "officers": inspection.officer_rows.all(),
        "signatures": inspection.signatures.select_related("witness_attachment"),
        "attachments": inspection.attachments.select_related("upload"), "documents": inspection.documents.all(),
        "verification": services.verify_inspection(inspection), "tasks": inspection.tasks.all(),
        "provisional_note": provisional_note(inspection),
        "counts": dict(inspection.results.values_list("result").annotate(n=Count("id")).order_by()),
    })


def _document(request, pk, doc_type):
    inspection = get_object_or_404(Inspection.objects.scoped(request.user), pk=pk)
    doc = inspection.documents.filter(doc_type=doc_type).select_related("upload").first()
    if doc is None:
        raise Http404("document")
    filename = f"{doc.number or doc_type}.pdf"
    return FileResponse(open(doc.upload.path, "rb"), content_type="application/pdf", filename=filename)


@login_required
def record_pdf(request, pk):
    return _document(request, pk, DocType.INSPECTION_RECORD)


@login_required
def correction_pdf(request, pk):
    return _document(request, pk, DocType.CORRECTION_ORDER)


@login_required
def signature_image(request, pk, sig_pk):
    inspection = get_object_or_404(Inspection.objects.scoped(request.user), pk=pk)
    sig = get_object_or_404(Signature.objects.select_related("image"), inspection=inspection, pk=sig_pk, image__isnull=False)
    return FileResponse(open(sig.image.path, "rb"), content_type="image/png")


def public_result(request, token):
    """The entity's public result page (the QR code on the record): what was checked and the
    outcome, with every person's name masked and no identifiers of people."""
    inspection = get_object_or_404(Inspection.objects.select_related("bureau", "checklist_version"), public_token=token,
                                   state="sealed")
    results = inspection.results.select_related("item__business_line").order_by("item__business_line__order", "item__part", "item__order")
    officers = [mask_name(o.name) for o in inspection.officer_rows.all()]
    rep = inspection.signatures.filter(role=SignerRole.REPRESENTATIVE).first()
    return render(request, "inspections/public.html", {
        "i": inspection, "results": results, "officers": officers,
        "rep_name": mask_name(rep.name) if rep and rep.name else "", "rep_refused": bool(rep and rep.refused),
        "provisional_note": provisional_note(inspection),
    })
