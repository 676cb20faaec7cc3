"""G3: emergency orders (应急指令) to the nearest on-duty officers, and their acknowledgements."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.scoping import in_jurisdiction
from zhijian.core.workflow import Forbidden
from zhijian.geo import placement
from zhijian.org.choices import RoleCode

from .choices import OrderState
from .common import coordinate
from .duty import nearest_on_duty
from .models import EmergencyOrder, OrderRecipient

COMMANDERS = {RoleCode.DISPATCHER, RoleCode.LEADER}


@transaction.atomic
def order_issue(*, actor, title, lng, lat, wanted=3, message="", now=None) -> EmergencyOrder:
    """应急指令 to the ``wanted`` nearest on-duty officers."""
    if not actor.has_role(*COMMANDERS):
        raise Forbidden(_("只有调度员或领导可以下达应急指令"))
    if not (title or "").strip():
        raise ApplicationError(_("请填写指令内容"), code="no_title")
    try:
        wanted = int(wanted)
    except (TypeError, ValueError):
        wanted = 0
    if not 1 <= wanted <= 50:
        raise ApplicationError(_("派出人数须在 1 到 50 之间"), code="bad_count")
    lng, lat = coordinate(lng, lat, "gcj02")
    if lng is None:
        raise ApplicationError(_("请在地图上选择事发位置"), code="no_position")
    grid = placement.locate(lng, lat, None)
    division = grid.division_code if grid is not None else (actor.scope_division or "")
    if not in_jurisdiction(actor, division):
        raise OutOfScope()
    chosen = nearest_on_duty(actor, lng=lng, lat=lat, n=wanted, now=now)
    if not chosen:
        raise ApplicationError(_("当前没有在岗并共享位置的人员"), code="nobody_on_duty")
    order = EmergencyOrder.objects.create(title=title.strip()[:200], message=(message or "").strip()[:1000], lng=lng, lat=lat, wanted=wanted,
                                          issued_by=actor, division_code=division)
    OrderRecipient.objects.bulk_create([OrderRecipient(order=order, officer=s.user, rank=i + 1, distance_m=round(d, 1))
                                        for i, (s, d) in enumerate(chosen)])
    trace.record(actor=actor, action="grid.order.issue", obj=order, before=None,
                 after={"title": order.title, "recipients": [s.user_id for s, _d in chosen]})
    events.emit("grid.order_issued", payload={"order_id": order.pk, "recipients": [s.user_id for s, _d in chosen], "lng": lng, "lat": lat},
                division_code=division, object_type="grid.emergencyorder", object_id=str(order.pk))
    return order


@transaction.atomic
def order_acknowledge(*, actor, order) -> OrderRecipient:
    row = OrderRecipient.objects.select_for_update().filter(order=order, officer=actor).first()
    if row is None:
        raise OutOfScope()
    if order.state != OrderState.OPEN:
        raise ApplicationError(_("指令已结束"), code="order_closed")
    if row.acknowledged_at is None:
        row.acknowledged_at = timezone.now()
        row.save(update_fields=["acknowledged_at"])
        trace.record(actor=actor, action="grid.order.acknowledge", obj=order, before=None, after={"officer_id": actor.pk})
        events.emit("grid.order_acknowledged", payload={"order_id": order.pk, "officer_id": actor.pk}, division_code=order.division_code,
                    object_type="grid.emergencyorder", object_id=str(order.pk))
    return row
