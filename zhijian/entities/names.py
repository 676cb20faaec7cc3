"""Industry names for GB/T 4754 codes (API ``*_display`` fields, templates): ``{"5225": "营养和保健品零售"}``."""
from __future__ import annotations

from .models import Industry


def industry_names(codes: set[str]) -> dict[str, str]:
    return dict(Industry.objects.filter(code__in=codes).values_list("code", "name"))
