"""Small pieces the grid's services share: positions from phones and forms, the grid's supervisor."""
from __future__ import annotations

import math

from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core.errors import ApplicationError
from zhijian.geo import coords
from zhijian.geo.models import GridRole, GridStaff


def today_or(today):
    return today or timezone.localdate()


def _number(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ApplicationError(_("位置坐标无效"), code="bad_position") from None
    if math.isnan(number) or math.isinf(number):
        raise ApplicationError(_("位置坐标无效"), code="bad_position")
    return number


def coordinate(lng, lat, system="wgs84") -> tuple[float | None, float | None]:
    """``(lng, lat)`` in GCJ-02 from a phone's or a form's values (WGS-84 from the browser unless
    ``system`` says otherwise); ``(None, None)`` when no position was given. Anything that is not a
    longitude and latitude is refused with a message (HTTP 400), never a server error."""
    if lng in (None, "") or lat in (None, ""):
        return None, None
    lng, lat = _number(lng), _number(lat)
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise ApplicationError(_("位置坐标无效"), code="bad_position")
    return coords.to_gcj02(lng, lat, system) if system != "gcj02" else (lng, lat)


def accuracy_m(value) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ApplicationError(_("定位精度无效"), code="bad_accuracy") from None
    if math.isnan(number) or number < 0:
        raise ApplicationError(_("定位精度无效"), code="bad_accuracy")
    return number


def grid_supervisor(grid):
    post = GridStaff.objects.filter(grid=grid, role=GridRole.SUPERVISOR).select_related("user").first()
    return post.user if post else None
