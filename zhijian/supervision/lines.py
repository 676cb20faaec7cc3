"""Which entities a business line covers, as the task loop reads it (a registry other apps fill).

The business lines and their industries are reference data of the inspections app
(``inspections.lines``, a layer above this one); it registers its lookup here at start-up
(``InspectionsConfig.ready``). Without a registered lookup every line covers every entity.
"""
from __future__ import annotations

from collections.abc import Callable

_lookup: list[Callable] = []


def register(lookup: Callable) -> None:
    """``lookup(line_codes) -> list[str] | None``: the industry codes the lines cover together, or
    ``None`` when they are not restricted."""
    _lookup[:] = [lookup]


def industries_of(line_codes) -> list[str] | None:
    return _lookup[0](list(line_codes)) if _lookup else None


def covers(industries: list[str] | None, industry_code: str) -> bool:
    """An entity of ``industry_code`` belongs to a line whose industries are ``industries``."""
    return industries is None or any((industry_code or "").startswith(p) for p in industries)
