"""The grid's lines on an entity's timeline (``zhijian.entities.timeline``): the steps of its grid
cases and the time-limit warnings raised on them, by the entity's index."""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhijian.entities import timeline

from .choices import CaseState, ItemType
from .models import GridCase, Warning
from .procedure import GRID_CASE


def warnings(entity_id: int, limit: int) -> list[timeline.Row]:
    cases = GridCase.objects.in_bulk(list(GridCase.objects.filter(entity_id=entity_id).values_list("pk", flat=True)[:500]))
    if not cases:
        return []
    found = Warning.objects.filter(item_type=ItemType.GRID_CASE, item_id__in=list(cases)).order_by("-raised_at", "-id")[:limit]
    return [timeline.Row(at=w.raised_at, kind=_("时限预警"), title=f"{w.get_level_display()}：{cases[w.item_id]}",
                         text=(CaseState(w.step).label if w.step in CaseState.values else "") + _("，期限 %(due)s") % {"due": w.due_on},
                         url=w.item_url()) for w in found]


def install() -> None:
    timeline.register_steps("grid.cases", procedure=GRID_CASE.name, kind=gettext_lazy("网格事项"), model=GridCase)
    timeline.register("grid.warnings", warnings)
