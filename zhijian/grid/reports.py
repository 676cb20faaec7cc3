"""G2/G4: a clue reported from the phone opens a grid case.

Photo and position (WGS-84 from the browser, stored as GCJ-02), placed in a grid by
point-in-polygon even when the place is not in the registry. The clue is recorded through the one
clue intake (``zhijian.clues.intake``, source 网格员现场报告) and handed over to the grid case it
opens (``clues.services.clue_hand_over``). The phone sends a **client key**
(``core.idempotency``): a report sent again — a lost answer, a retried upload, a double tap —
returns the clue the first one made and changes nothing. A position that is not a longitude and
latitude is refused with a Chinese message (HTTP 400).
"""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from zhijian.clues import intake
from zhijian.clues import services as clues
from zhijian.clues.choices import PROCEDURE as CLUE_PROCEDURE
from zhijian.clues.choices import ClueKind, ClueSource
from zhijian.clues.models import Clue
from zhijian.core import idempotency
from zhijian.core.errors import ApplicationError
from zhijian.core.scoping import in_jurisdiction
from zhijian.core.workflow import Forbidden
from zhijian.geo import placement

from .cases import case_open
from .choices import Trigger
from .common import accuracy_m, coordinate, today_or
from .models import GridCase
from .procedure import REPORTERS

OPERATION = "grid.clue.report"


@transaction.atomic
def clue_report(*, actor, place_name, lng, lat, system="wgs84", kind=ClueKind.UNLICENSED, address="", description="", photo=None,
                accuracy=None, industry_code="", today=None, client_key: str = "", via: str = "") -> Clue:
    """An unlicensed-operation clue from the phone; opens the grid case at once. With
    ``client_key`` a replay returns the first report's clue (``clue.replayed`` tells which)."""
    if not actor.has_role(*REPORTERS):
        raise Forbidden(_("只有网格监管员、协管员和信息员可以报告线索"))
    claim = idempotency.claim(key=client_key, actor=actor, operation=OPERATION) if client_key else None
    if claim is not None and claim.replayed:
        clue = Clue.objects.select_related("grid").get(pk=int(claim.record.object_id))
        clue.replayed = True
        return clue
    today = today_or(today)
    if not (place_name or "").strip():
        raise ApplicationError(_("请填写场所名称或招牌"), code="no_name")
    if kind not in ClueKind.values:
        raise ApplicationError(_("线索类型无效"), code="bad_kind")
    glng, glat = coordinate(lng, lat, system)
    if glng is None:
        raise ApplicationError(_("没有取得位置，请允许浏览器定位后重试"), code="no_position")
    raw = (float(lng), float(lat)) if system == "wgs84" else (None, None)
    grid = placement.locate(glng, glat, None)
    if grid is None:
        raise ApplicationError(_("该位置不在任何网格内，请确认定位"), code="outside_grids")
    if not in_jurisdiction(actor, grid.division_code):
        raise ApplicationError(_("该位置（%(grid)s）不在您的辖区内") % {"grid": grid.name}, code="outside_jurisdiction")
    clue = intake.record(
        source=ClueSource.GRID_REPORT, actor=actor, kind=kind, place_name=place_name, text=(description or "").strip(),
        place=(address or "").strip(), industry_code=industry_code, grid=grid, division_code=grid.division_code, lng=glng, lat=glat,
        raw_lng=raw[0], raw_lat=raw[1], accuracy_m=accuracy_m(accuracy), photos=[photo] if photo is not None else (), found_on=today,
        via=via,
    )
    case = case_open(actor=None, trigger=Trigger.CLUE, clue=clue, trigger_ref=f"clue:{clue.pk}", today=today)
    clue = clues.clue_hand_over(clue=clue, to_ref=f"grid:case:{case.pk}", comment=_("已立网格事项 %(number)s") % {"number": case.number})
    if claim is not None:
        claim.done(object_type=CLUE_PROCEDURE, object_id=clue.pk)
    clue.replayed = False
    return clue


def case_of(clue) -> GridCase | None:
    """The grid case a reported clue opened."""
    return GridCase.objects.filter(clue=clue).first()
