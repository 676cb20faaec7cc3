"""The command centre's data: true totals from GROUP BY (never a silent cap), the items of a small
area with an explicit limit, the change feed (a cursor and ETag/304), the base map from settings."""
import json

import pytest
from django.test import override_settings

from tests.factories import make_entity, make_user
from tests.grid.conftest import VILLAGE_E, VILLAGE_W
from zhijian.grid import cases, duty
from zhijian.grid.choices import CaseState, Trigger

TOWN_BBOX = "113.69,22.97,113.81,23.07"


@pytest.fixture
def many(city):
    """Seven open items: five in 宏图社区 (west), two in 元美社区 (east), one of them without a position."""
    out = []
    for i in range(5):
        e = make_entity(VILLAGE_W, lng=113.71 + i * 0.005, lat=23.01, address=f"宏图路{i}号")
        out.append(cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=e, trigger_ref=f"w{i}"))
    e = make_entity(VILLAGE_E, lng=113.77, lat=23.02, address="元美路1号")
    out.append(cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=e, trigger_ref="e1"))
    e = make_entity(VILLAGE_E, address="元美路2号")
    out.append(cases.case_open(actor=None, trigger=Trigger.REGISTRATION, entity=e, trigger_ref="e2"))
    return out


def test_totals_are_true_counts_and_a_capped_answer_says_so(city, many, client):
    client.force_login(city.dispatcher)
    page = client.get("/grid/command/")
    assert page.status_code == 200
    assert '<dd id="count-open">7</dd>' in page.content.decode()

    counts = client.get("/grid/command/counts.json?level=town").json()
    assert counts["totals"] == {"open": 7, "overdue": 0, "located": 6, "unlocated": 1}
    assert [(a["name"], a["open"]) for a in counts["areas"]] == [("南城街道", 7)]
    town = counts["areas"][0]
    assert 113.70 < town["lng"] < 113.80 and 22.98 < town["lat"] < 23.06  # the centroid of its grids

    grids = client.get(f"/grid/command/counts.json?level=grid&bbox={TOWN_BBOX}").json()
    assert sorted((a["name"], a["open"]) for a in grids["areas"]) == [("元美社区网格", 2), ("宏图社区网格", 5)]
    villages = client.get("/grid/command/counts.json?level=village").json()
    assert sorted((a["name"], a["open"]) for a in villages["areas"]) == [("元美社区", 2), ("宏图社区", 5)]

    # More located items in the view than the limit: no rows, the total, and the flag.
    capped = client.get(f"/grid/command/items.json?bbox={TOWN_BBOX}&limit=4").json()
    assert capped == {"total": 6, "limit": 4, "truncated": True, "items": []}
    full = client.get(f"/grid/command/items.json?bbox={TOWN_BBOX}").json()
    assert full["truncated"] is False and full["total"] == 6
    assert {c["id"] for c in full["items"]} == {c.pk for c in many if c.lng is not None}
    assert {c["state"] for c in full["items"]} <= {str(label) for label in CaseState.labels}  # names, not codes
    assert client.get("/grid/command/items.json").status_code == 400  # a bbox is required


def test_counts_are_scoped(city, many, client):
    stranger = make_user("dispatcher", jurisdiction="3701")
    client.force_login(stranger)
    counts = client.get("/grid/command/counts.json?level=county").json()
    assert counts["totals"]["open"] == 0 and counts["areas"] == []


def test_counts_answer_304_until_something_changes(city, many, client):
    client.force_login(city.dispatcher)
    first = client.get("/grid/command/counts.json?level=town")
    tag = first["ETag"]
    assert client.get("/grid/command/counts.json?level=town", HTTP_IF_NONE_MATCH=tag).status_code == 304
    cases.case_cancel(actor=city.dispatcher, case=many[0], reason="重复登记")
    again = client.get("/grid/command/counts.json?level=town", HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 200 and again.json()["totals"]["open"] == 6


def test_change_feed_returns_only_changes_then_304(city, many, client):
    client.force_login(city.dispatcher)
    duty.duty_start(actor=city.officer, consent=True)
    duty.position_report(actor=city.officer, lng=113.72, lat=23.01, system="gcj02")
    first = client.get("/grid/command/feed.json")
    body = first.json()
    assert body["changes"] == [] and [o["name"] for o in body["officers"]] == ["李网格"]
    cursor, tag = body["cursor"], first["ETag"]

    # Nothing changed: the same answer, so 304 and no body.
    second = client.get("/grid/command/feed.json", {"since": cursor}, HTTP_IF_NONE_MATCH=tag)
    assert second.status_code == 304 and second.content == b""

    # One case moves on: the next call carries that case only, closed cases included.
    cases.case_cancel(actor=city.dispatcher, case=many[2], reason="重复登记")
    third = client.get("/grid/command/feed.json", {"since": cursor}, HTTP_IF_NONE_MATCH=tag)
    assert third.status_code == 200
    changed = third.json()["changes"]
    assert [(c["id"], c["open"]) for c in changed] == [(many[2].pk, False)]
    assert third.json()["cursor"] > cursor
    assert len(third.content) < 2000  # a change, not the whole feed
    assert client.get("/grid/command/feed.json", {"since": "yesterday"}).status_code == 400


def test_division_labels_at_grid_centroids(city, client):
    client.force_login(city.dispatcher)
    labels = client.get("/geo/divisions/labels.json?level=4").json()["labels"]
    assert [(lb["code"], lb["name"]) for lb in labels] == [("441900003", "南城街道")]
    assert abs(labels[0]["lng"] - 113.75) < 0.001 and abs(labels[0]["lat"] - 23.02) < 0.001
    villages = client.get("/geo/divisions/labels.json?level=5&bbox=113.70,22.98,113.749,23.06").json()["labels"]
    assert [lb["name"] for lb in villages] == ["宏图社区"]
    client.force_login(make_user("dispatcher", jurisdiction="3701"))
    assert client.get("/geo/divisions/labels.json?level=4").json()["labels"] == []


TIANDITU = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default"
            "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY")


def _config(response, name):
    html = response.content.decode()
    start = html.index(f'id="{name}"')
    return json.loads(html[html.index(">", start) + 1:html.index("</script>", start)])


@override_settings(TILE_URL=TIANDITU, TILE_LABEL_URL=TIANDITU.replace("vec_w", "cva_w").replace("LAYER=vec", "LAYER=cva"),
                   TILE_SUBDOMAINS="01234567", TILE_ATTRIBUTION="天地图")
def test_tile_url_from_settings_reaches_the_maps(city, client):
    client.force_login(city.dispatcher)
    page = client.get("/grid/command/")
    config = _config(page, "command-config")
    assert config["tileUrl"] == TIANDITU and "cva_w" in config["tileLabelUrl"] and config["tileSubdomains"] == "01234567"
    assert "https://*.tianditu.gov.cn" in page["Content-Security-Policy"]
    assert _config(client.get("/geo/map/"), "grid-map-config")["tileUrl"] == TIANDITU


@override_settings(TILE_URL="")
def test_without_tiles_the_maps_draw_division_names(city, client):
    client.force_login(city.dispatcher)
    config = _config(client.get("/grid/command/"), "command-config")
    assert config["tileUrl"] == "" and config["labelsUrl"] == "/geo/divisions/labels.json"
    assert config["bounds"] == [113.70, 22.98, 113.80, 23.06]
