"""Deadline-rule names for codes (API ``*_display`` fields, templates): ``{"grid.assign": "网格事项分派"}``."""
from __future__ import annotations

from .models import DeadlineRule


def rule_names(codes: set[str]) -> dict[str, str]:
    # The newest version's name (names rarely change between versions).
    return dict(DeadlineRule.objects.filter(code__in=codes).order_by("code", "version").values_list("code", "name"))
