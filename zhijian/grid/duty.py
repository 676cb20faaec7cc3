"""G3: duty (上岗/下岗 with consent to share the position) and the on-duty officers' positions."""
from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError
from zhijian.core.workflow import Forbidden
from zhijian.geo import placement
from zhijian.org.choices import RoleCode

from .common import accuracy_m, coordinate
from .models import DutyStatus

DUTY_ROLES = {RoleCode.GRID_OFFICER, RoleCode.ENFORCEMENT_OFFICER, RoleCode.ASSISTANT, RoleCode.INFORMANT}


class RateLimited(ApplicationError):
    status = 429

    def __init__(self, message, *, retry_after: int):
        super().__init__(message, code="rate_limited", extra={"retry_after": retry_after})


def position_min_interval() -> int:
    return int(getattr(settings, "GRID_POSITION_MIN_INTERVAL", 30))


def position_max_age() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "GRID_POSITION_MAX_AGE_MIN", 10)))


@transaction.atomic
def duty_start(*, actor, consent: bool) -> DutyStatus:
    """上岗. Sharing the position needs the officer's explicit consent, given here each time."""
    if not actor.has_role(*DUTY_ROLES):
        raise Forbidden(_("只有网格人员可以上岗打卡"))
    if not consent:
        raise ApplicationError(_("上岗期间需要共享位置：请勾选同意后再上岗"), code="consent_required")
    now = timezone.now()
    status, _c = DutyStatus.objects.select_for_update().get_or_create(user=actor, defaults={"division_code": actor.scope_division or ""})
    status.on_duty, status.consent_at, status.since = True, now, now
    status.lng = status.lat = status.accuracy_m = status.reported_at = None
    status.division_code = actor.scope_division or status.division_code
    status.save()
    trace.record(actor=actor, action="grid.duty.start", obj=status, before=None, after={"consent_at": now})
    events.emit("grid.duty_started", payload={"user_id": actor.pk}, division_code=status.division_code, object_type="grid.dutystatus",
                object_id=str(status.pk))
    return status


@transaction.atomic
def duty_end(*, actor) -> DutyStatus | None:
    """下岗: consent ends and the last position is erased."""
    status = DutyStatus.objects.select_for_update().filter(user=actor).first()
    if status is None or not status.on_duty:
        return status
    status.on_duty, status.consent_at = False, None
    status.lng = status.lat = status.accuracy_m = status.reported_at = None
    status.save()
    trace.record(actor=actor, action="grid.duty.end", obj=status, before=None, after={"on_duty": False})
    events.emit("grid.duty_ended", payload={"user_id": actor.pk}, division_code=status.division_code, object_type="grid.dutystatus",
                object_id=str(status.pk))
    return status


def position_report(*, actor, lng, lat, accuracy=None, system="wgs84", now=None) -> DutyStatus:
    """The phone reports where the on-duty officer is. At most one report per
    ``GRID_POSITION_MIN_INTERVAL`` seconds per officer (one conditional UPDATE: two racing reports
    cannot both pass). Only the latest position is kept; positions are not business facts, so no
    trace entry or event is written for them (duty start and end are)."""
    now = now or timezone.now()
    glng, glat = coordinate(lng, lat, system)
    if glng is None:
        raise ApplicationError(_("位置坐标无效"), code="bad_position")
    status = DutyStatus.objects.filter(user=actor).first()
    if status is None or not status.on_duty or status.consent_at is None:
        raise ApplicationError(_("您未上岗或未同意共享位置，位置未上报"), code="not_on_duty", extra={"status": 403})
    interval = dt.timedelta(seconds=position_min_interval())
    grid = placement.locate(glng, glat, None)
    updated = DutyStatus.objects.filter(pk=status.pk, on_duty=True).filter(
        Q(reported_at__isnull=True) | Q(reported_at__lte=now - interval)
    ).update(lng=glng, lat=glat, accuracy_m=accuracy_m(accuracy), reported_at=now,
             division_code=grid.division_code if grid is not None else (actor.scope_division or status.division_code))
    if not updated:
        status.refresh_from_db()
        wait = position_min_interval() - int((now - status.reported_at).total_seconds()) if status.reported_at else position_min_interval()
        raise RateLimited(_("位置上报过于频繁，请 %(s)s 秒后再报") % {"s": max(wait, 1)}, retry_after=max(wait, 1))
    status.refresh_from_db()
    return status


def live_positions(user, *, now=None):
    """On-duty officers with a fresh position inside ``user``'s jurisdiction."""
    now = now or timezone.now()
    return (DutyStatus.objects.scoped(user).filter(on_duty=True, consent_at__isnull=False, reported_at__gte=now - position_max_age())
            .select_related("user"))


def haversine_m(lng1, lat1, lng2, lat2) -> float:
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def nearest_on_duty(user, *, lng, lat, n, now=None) -> list[tuple[DutyStatus, float]]:
    """The ``n`` nearest on-duty officers (fresh positions, GCJ-02, haversine), nearest first; ties by id."""
    ranked = sorted(((s, haversine_m(lng, lat, s.lng, s.lat)) for s in live_positions(user, now=now)), key=lambda x: (x[1], x[0].user_id))
    return ranked[:n]
