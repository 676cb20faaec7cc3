"""G2/G4: clues from the phone with photo and position, for places not in the registry."""
import io

import pytest
from PIL import Image

from zhijian.core.errors import ApplicationError
from zhijian.geo import coords
from zhijian.grid import services
from zhijian.grid.choices import CaseState, ClueState


def _jpeg():
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(buf, "JPEG")
    buf.seek(0)
    buf.name = "shop.jpg"
    return buf


def test_clue_from_wgs84_is_placed_by_polygon_and_opens_a_case(city):
    # A WGS-84 fix just west of the village boundary (113.75) lands east of it once in GCJ-02.
    wgs = (113.7449, 23.02)
    gcj = coords.wgs84_to_gcj02(*wgs)
    assert wgs[0] < 113.75 < gcj[0]
    clue = services.clue_report(actor=city.informant, place_name="路边无名小吃摊", lng=wgs[0], lat=wgs[1], accuracy=12, photo=_jpeg())
    assert clue.grid == city.east and clue.division_code == city.east.division_code
    assert (clue.lng, clue.lat) == pytest.approx(gcj) and (clue.raw_lng, clue.raw_lat) == wgs
    assert clue.photo.kind == "image" and clue.state == ClueState.CASE_OPENED
    case = clue.case
    assert case.state == CaseState.PENDING_ASSIGN and case.entity is None and case.grid == city.east
    assert case.place_name == "路边无名小吃摊"


def test_clue_refusals(city):
    with pytest.raises(ApplicationError, match="没有取得位置"):
        services.clue_report(actor=city.informant, place_name="x", lng=None, lat=None)
    with pytest.raises(ApplicationError, match="不在任何网格内"):
        services.clue_report(actor=city.informant, place_name="x", lng=110.0, lat=20.0)
    with pytest.raises(ApplicationError, match="只有网格监管员、协管员和信息员可以报告线索"):
        services.clue_report(actor=city.dispatcher, place_name="x", lng=113.72, lat=23.01)
    bad = io.BytesIO(b"not an image at all")
    bad.name = "x.jpg"
    with pytest.raises(ApplicationError, match="不是有效的图片"):
        services.clue_report(actor=city.informant, place_name="x", lng=113.72, lat=23.01, photo=bad)
