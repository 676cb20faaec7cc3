"""Division names for codes (API ``*_display`` fields, templates): ``{"370102001": "解放路街道"}``."""
from __future__ import annotations

from .models import Division


def division_names(codes: set[str]) -> dict[str, str]:
    return dict(Division.objects.filter(code__in=codes).values_list("code", "name"))
