"""The draws' lines on an entity's timeline (``zhijian.entities.timeline``): each time the entity
was drawn (one joint inspection per period, by the entity's index), linking to its task."""
from __future__ import annotations

from django.utils.translation import gettext as _

from zhijian.entities import timeline
from zhijian.inspections.models import BusinessLine

from .models import JointInspection


def drawn(entity_id: int, limit: int) -> list[timeline.Row]:
    found = list(JointInspection.objects.filter(entity_id=entity_id).select_related("task").order_by("-created_at", "-id")[:limit])
    if not found:
        return []
    names = dict(BusinessLine.objects.values_list("code", "name"))
    out = []
    for j in found:
        lines = "、".join(names.get(c, c) for c in j.business_lines)
        out.append(timeline.Row(at=j.created_at, kind=_("双随机抽查"), title=_("%(period)s 被抽中") % {"period": j.period},
                                text=(_("联合检查：%(lines)s") % {"lines": lines}) if lines else "",
                                url=j.task.get_absolute_url() if j.task_id else ""))
    return out


def install() -> None:
    timeline.register("draws.drawn", drawn)
