"""The inspections' lines on an entity's timeline (``zhijian.entities.timeline``): each sealed
record and each document made from it, by the entity's index."""
from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from zhijian.deadlines.choices import DocType
from zhijian.entities import timeline

from .choices import CheckResult
from .models import Inspection, InspectionDocument


def inspections(entity_id: int, limit: int) -> list[timeline.Row]:
    found = (Inspection.objects.filter(entity_id=entity_id)
             .annotate(problems=Count("results", filter=Q(results__result=CheckResult.PROBLEM)))
             .order_by("-finished_at", "-id")[:limit])
    out = []
    for i in found:
        text = i.get_conclusion_display() + (_("，发现问题 %(n)d 项") % {"n": i.problems} if i.problems else "")
        out.append(timeline.Row(at=i.finished_at, kind=_("现场检查"), title=i.number or str(i), text=text, url=i.get_absolute_url()))
    return out


def documents(entity_id: int, limit: int) -> list[timeline.Row]:
    found = InspectionDocument.objects.filter(inspection__entity_id=entity_id).order_by("-created_at", "-id")[:limit]
    out = []
    for d in found:
        name = "record_pdf" if d.doc_type == DocType.INSPECTION_RECORD else "correction_pdf"
        label = DocType(d.doc_type).label if d.doc_type in DocType.values else _("检查文书")
        out.append(timeline.Row(at=d.created_at, kind=_("检查文书"), title=f"{label} {d.number}",
                                url=reverse(f"inspections:{name}", args=[d.inspection_id])))
    return out


def install() -> None:
    timeline.register("inspections.records", inspections)
    timeline.register("inspections.documents", documents)
