"""G2/G4: clues from the phone with photo and position, for places not in the registry."""
import io

import pytest
from PIL import Image

from zhijian.core.errors import ApplicationError
from zhijian.geo import coords
from zhijian.clues.choices import ClueSource, ClueState
from zhijian.grid import reports
from zhijian.grid.choices import CaseState


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
    clue = reports.clue_report(actor=city.informant, place_name="路边无名小吃摊", lng=wgs[0], lat=wgs[1], accuracy=12, photo=_jpeg())
    assert clue.grid == city.east and clue.division_code == city.east.division_code
    assert (clue.lng, clue.lat) == pytest.approx(gcj) and (clue.raw_lng, clue.raw_lat) == wgs
    assert clue.photos()[0].kind == "image" and clue.state == ClueState.HANDED_OVER and clue.source == ClueSource.GRID_REPORT
    case = clue.grid_case
    assert case.state == CaseState.PENDING_ASSIGN and case.entity is None and case.grid == city.east
    assert case.place_name == "路边无名小吃摊"


def test_clue_refusals(city):
    with pytest.raises(ApplicationError, match="没有取得位置"):
        reports.clue_report(actor=city.informant, place_name="x", lng=None, lat=None)
    with pytest.raises(ApplicationError, match="不在任何网格内"):
        reports.clue_report(actor=city.informant, place_name="x", lng=110.0, lat=20.0)
    with pytest.raises(ApplicationError, match="只有网格监管员、协管员和信息员可以报告线索"):
        reports.clue_report(actor=city.dispatcher, place_name="x", lng=113.72, lat=23.01)
    bad = io.BytesIO(b"not an image at all")
    bad.name = "x.jpg"
    with pytest.raises(ApplicationError, match="不是有效的图片"):
        reports.clue_report(actor=city.informant, place_name="x", lng=113.72, lat=23.01, photo=bad)


def test_a_replayed_report_returns_the_first_clue_and_changes_nothing(city):
    from zhijian.clues.models import Clue
    from zhijian.core.models import Event
    from zhijian.grid.models import GridCase

    first = reports.clue_report(actor=city.informant, place_name="路边无名小吃摊", lng=113.72, lat=23.01, system="gcj02",
                                client_key="phone-7f3a-0001")
    counts = (Clue.objects.count(), GridCase.objects.count(), Event.objects.count())
    again = reports.clue_report(actor=city.informant, place_name="路边无名小吃摊", lng=113.72, lat=23.01, system="gcj02",
                                client_key="phone-7f3a-0001")
    assert (first.replayed, again.replayed) == (False, True)
    assert again.pk == first.pk and again.grid_case.pk == first.grid_case.pk
    assert (Clue.objects.count(), GridCase.objects.count(), Event.objects.count()) == counts
    # Another key is another report.
    other = reports.clue_report(actor=city.informant, place_name="路边无名小吃摊", lng=113.72, lat=23.01, system="gcj02",
                                client_key="phone-7f3a-0002")
    assert other.pk != first.pk


@pytest.mark.parametrize("lng, lat", [("abc", "23.01"), ("113.72", "nan"), ("200", "23.01"), ("113.72", "inf")])
def test_a_bad_coordinate_is_refused_with_a_message(city, lng, lat):
    with pytest.raises(ApplicationError, match="位置坐标无效") as e:
        reports.clue_report(actor=city.informant, place_name="x", lng=lng, lat=lat)
    assert e.value.status == 400


def test_phone_api_report_replay_and_bad_coordinate(city, client):
    client.force_login(city.informant)
    body = {"client_key": "phone-7f3a-0003", "place_name": "无照小卖部", "lng": 113.72, "lat": 23.01, "system": "gcj02"}
    r = client.post("/api/v1/grid/clue-reports/", body, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["case"] and r.json()["state"] == "handed_over"
    again = client.post("/api/v1/grid/clue-reports/", body, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    photo = client.post("/api/v1/grid/clue-reports/", {**body, "client_key": "phone-7f3a-0004", "photo": _jpeg()})
    assert photo.status_code == 201 and photo.json()["id"] != r.json()["id"]
    for bad in ({"lng": 200}, {"lng": "abc"}, {"lat": "nan"}):
        r = client.post("/api/v1/grid/clue-reports/", {**body, "client_key": "phone-7f3a-0005", **bad}, content_type="application/json")
        assert r.status_code == 400, (bad, r.content)
        error = r.json()["error"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(error)), error  # a Chinese message, not a server error


def test_report_page_bad_coordinate_answers_400_and_a_resent_form_reports_once(city, client):
    from zhijian.clues.models import Clue

    client.force_login(city.informant)
    r = client.post("/grid/report/", {"kind": "unlicensed", "place_name": "无照小卖部", "lng": "abc", "lat": "23.01", "client_key": "form-0000001"})
    assert r.status_code == 400 and "位置坐标无效" in r.content.decode()
    form = {"kind": "unlicensed", "place_name": "无照小卖部", "lng": "113.716", "lat": "23.012", "client_key": "form-0000002"}
    assert client.post("/grid/report/", form).status_code == 302
    assert client.post("/grid/report/", form).status_code == 302
    assert Clue.objects.filter(place_name="无照小卖部").count() == 1
