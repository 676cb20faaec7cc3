"""`zhijian import-grids` with hostile files (issue 14, finding 8): a GeoJSON nested 100,000 deep
died with RecursionError. Now it, and every file that is not JSON, not GeoJSON or holds a geometry
that cannot be a grid, exits with a Chinese message naming the problem and writes nothing."""
from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from tests.geo.conftest import collection, feature, square
from zhijian.core.errors import ApplicationError
from zhijian.core.models import Event, TraceEntry
from zhijian.geo import services
from zhijian.geo.models import Grid

GOOD = feature("T1", "东城网格", "441900003", square(113.70, 23.00, 113.80, 23.10))
DEEP = 100_000
# Words a person may read in these messages (format names and GeoJSON's own member names).
ALLOWED_LATIN = {"GeoJSON", "JSON", "UTF", "FeatureCollection", "Feature", "features", "properties", "geometry", "Polygon",
                 "MultiPolygon", "NaN", "Infinity", "name", "code", "division_code", "type"}


def _deep_array() -> bytes:
    return b"[" * DEEP + b"]" * DEEP


def _deep_in_properties() -> bytes:
    head = json.dumps({"type": "FeatureCollection", "features": [{**GOOD, "properties": {**GOOD["properties"], "extra": "@"}}]})
    return head.replace('"@"', "[" * DEEP + "]" * DEEP).encode()


def _deep_objects() -> bytes:
    return b'{"a":' * DEEP + b"1" + b"}" * DEEP


def _run(tmp_path, data: bytes) -> str:
    """Run the command on ``data``; it must refuse with a CommandError and write nothing. Returns
    what a person reads (the error and the per-feature lines)."""
    path = tmp_path / "grids.geojson"
    path.write_bytes(data)
    traces, events = TraceEntry.objects.count(), Event.objects.count()
    err = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("import_grids", str(path), "--level", "1", stderr=err)
    assert not Grid.objects.exists()
    assert (TraceEntry.objects.count(), Event.objects.count()) == (traces, events)
    text = f"{info.value}\n{err.getvalue()}"
    assert "Traceback" not in text and "Recursion" not in text
    english = {w for w in re.findall(r"[A-Za-z]{2,}", text)} - ALLOWED_LATIN
    assert not english, (english, text)
    return text


@pytest.mark.parametrize("data", [_deep_array(), _deep_objects(), _deep_in_properties()], ids=["arrays", "objects", "in-properties"])
def test_a_file_nested_100000_deep_is_refused_in_chinese(dongguan, tmp_path, data):
    text = _run(tmp_path, data)
    assert "GeoJSON 校验未通过" in text and "嵌套超过 64 层" in text


@pytest.mark.parametrize("data, message", [
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "不是 UTF-8 编码的文本", id="binary"),
    pytest.param("网格,编码\n东城,T1\n".encode("gbk"), "不是 UTF-8 编码的文本", id="gbk-csv"),
    pytest.param("网格,编码\n东城,T1\n".encode(), "不是有效的 JSON（第 1 行第 1 列）", id="utf8-csv"),
    pytest.param(b"", "不是有效的 JSON", id="empty"),
    pytest.param(b'{"type": "FeatureCollection", "features": [NaN]}', "不允许 NaN", id="nan"),
    pytest.param(b'{"type": "FeatureCollection", "features": [' + b"1" * 5000 + b"]}", "无法解析的值", id="huge-number"),
    pytest.param(b'"FeatureCollection"', "不是 GeoJSON FeatureCollection", id="a-string"),
    pytest.param(b'{"type": "FeatureCollection", "features": {"0": 1}}', "缺少 features 数组", id="features-object"),
    pytest.param(b'{"type": ["FeatureCollection"], "features": []}', "不是 GeoJSON FeatureCollection", id="type-list"),
])
def test_not_json_not_geojson(dongguan, tmp_path, data, message):
    assert message in _run(tmp_path, data)


@pytest.mark.parametrize("geometry, message", [
    pytest.param({"type": ["Polygon"], "coordinates": []}, "不支持，只能是 Polygon 或 MultiPolygon", id="type-list"),
    pytest.param({"type": {"a": 1}, "coordinates": []}, "不支持，只能是 Polygon 或 MultiPolygon", id="type-object"),
    pytest.param({"type": "Polygon", "coordinates": [[[0, 0, 1, 2, 3], [1, 0, 1, 2, 3], [1, 1, 1, 2, 3], [0, 0, 1, 2, 3]]]},
                 "坐标点格式错误", id="five-ordinates"),
    pytest.param({"type": "Polygon", "coordinates": [[[113.7, 23.0], [113.7 + 1e-9, 23.0], [113.7, 23.0 + 1e-9], [113.7, 23.0]]]},
                 "多边形过小", id="below-precision"),
    pytest.param({"type": "Polygon", "coordinates": [[[0, 0], [1e-300, 0], [1, 1], [0, 0]]]}, "多边形过小", id="sliver"),
    pytest.param({"type": "MultiPolygon", "coordinates": [[]]}, "坐标数组为空或格式错误", id="empty-part"),
    pytest.param({"type": "Polygon", "coordinates": [[[113, 23], [114, 23], [114, 24], [113, 23]], "ring"]}, "坐标数组为空或格式错误",
                 id="text-ring"),
    pytest.param({"type": "Polygon", "coordinates": [[[113, 23], [114, 1e400], [114, 24], [113, 23]]]}, "坐标值必须是有限的数字",
                 id="infinite"),
])
def test_an_invalid_geometry_is_named_in_chinese(dongguan, tmp_path, geometry, message):
    data = json.dumps({"type": "FeatureCollection", "features": [GOOD, feature("T2", "南城网格", "441900004", geometry)]},
                      ensure_ascii=False).replace("Infinity", "1e400").encode()
    text = _run(tmp_path, data)
    assert "第 2 个要素（编码 T2）" in text and message in text


def test_heights_on_some_positions_are_dropped_not_a_crash(dongguan, tmp_path):
    """GEOS refused rings mixing [lng, lat] and [lng, lat, height] with an English numpy message;
    heights are not a grid's business."""
    mixed = {"type": "Polygon", "coordinates": [[[113.7, 23.0], [113.8, 23.0, 12.5], [113.8, 23.1], [113.7, 23.0]]]}
    path = tmp_path / "grids.geojson"
    path.write_bytes(collection(feature("T1", "东城网格", "441900003", mixed)))
    call_command("import_grids", str(path), "--level", "1", stdout=io.StringIO())
    assert Grid.objects.get(code="T1").geometry["coordinates"][0][1] == [113.8, 23.0]


def test_a_boundary_string_nested_deep_is_refused_on_create(dongguan):
    """The grid form and API take a boundary as GeoJSON text too: same limit, same language."""
    with pytest.raises(ApplicationError, match="嵌套超过 64 层") as info:
        services.grid_create(actor=None, code="T9", name="网格", level=1, division_code="441900003",
                             geometry="[" * DEEP + "]" * DEEP)
    assert info.value.code == "bad_geometry" and not Grid.objects.exists()
