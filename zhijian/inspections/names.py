"""Business-line names for codes (API ``*_display`` fields, templates): ``{"food_sales": "食品销售"}``."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from zhijian.supervision.choices import LINE_NAMES

from .models import BusinessLine


def line_names(codes: set[str]) -> dict[str, str]:
    """The checklist's lines, and the task lines without a checklist other apps named."""
    names = {c: str(LINE_NAMES[c]) for c in codes if c in LINE_NAMES}
    return {**names, **dict(BusinessLine.objects.filter(code__in=set(codes) - set(names)).values_list("code", "name"))}


# The parts (分表) of a line's checklist, e.g. the drugs table's two.
CHECKLIST_PARTS = {"retail_pharmacy": _("药品零售企业"), "medical_institution": _("医疗机构")}


def part_names(codes: set[str]) -> dict[str, str]:
    return {c: str(CHECKLIST_PARTS[c]) for c in codes if c in CHECKLIST_PARTS}
