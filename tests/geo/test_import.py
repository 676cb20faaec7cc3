"""GeoJSON grid import: all or nothing, a per-feature error list in Chinese."""
import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_entity, make_user
from tests.geo.conftest import collection, feature, square
from zhijian.geo.models import Grid
from zhijian.geo.services import GridImportError, import_grids_geojson

GOOD = feature("T1", "东城网格", "441900003", square(113.70, 23.00, 113.80, 23.10))
BOWTIE = {"type": "Polygon", "coordinates": [[[113.8, 23.0], [113.9, 23.1], [113.9, 23.0], [113.8, 23.1], [113.8, 23.0]]]}


def refused(data, level=1, actor=None) -> list[str]:
    with pytest.raises(GridImportError) as info:
        import_grids_geojson(io.BytesIO(data), level=level, actor=actor)
    assert not Grid.objects.exists(), "a refused file must not write anything"
    assert "未导入任何网格" in info.value.message
    return info.value.lines()


MALFORMED = [
    pytest.param(b"\xff\xfe\x00not utf8", "文件不是 UTF-8 编码的文本", id="not-utf8"),
    pytest.param(b'{"type": "FeatureCollection", "features": [', "文件不是有效的 JSON（第 1 行第 44 列）", id="not-json"),
    pytest.param(json.dumps({"type": "Feature"}).encode(), "不是 GeoJSON FeatureCollection", id="not-a-collection"),
    pytest.param(json.dumps([1, 2]).encode(), "不是 GeoJSON FeatureCollection", id="array"),
    pytest.param(json.dumps({"type": "FeatureCollection"}).encode(), "缺少 features 数组", id="no-features"),
    pytest.param(collection(), "没有任何要素", id="empty"),
    pytest.param(collection({"type": "Point"}), "第 1 个要素：不是 GeoJSON Feature", id="not-a-feature"),
    pytest.param(collection({"type": "Feature", "geometry": None}), "第 1 个要素：缺少 properties", id="no-properties"),
    pytest.param(collection(feature("T1", "", "441900003", square(0, 0, 1, 1))), "第 1 个要素（编码 T1）：缺少属性 name", id="missing-name"),
    pytest.param(collection({"type": "Feature", "properties": {"name": "x"}, "geometry": None}), "第 1 个要素：缺少属性 code、division_code", id="missing-two"),
    pytest.param(collection(feature("T1", "a", "441900003", {"type": "LineString", "coordinates": [[0, 0], [1, 1]]})),
                 "第 1 个要素（编码 T1）：几何类型 LineString 不支持，只能是 Polygon 或 MultiPolygon", id="line"),
    pytest.param(collection(feature("T1", "a", "441900003", None)), "第 1 个要素（编码 T1）：缺少几何（geometry）", id="no-geometry"),
    pytest.param(collection(feature("T1", "a", "441900003", {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]})),
                 "第 1 个要素（编码 T1）：坐标无效：多边形的每个环至少需要 4 个坐标点", id="short-ring"),
    pytest.param(collection(feature("T1", "a", "441900003", {"type": "Polygon", "coordinates": [[[0, 0], ["x", 1], [1, 1], [0, 0]]]})),
                 "第 1 个要素（编码 T1）：坐标值必须是有限的数字", id="text-coordinate"),
    pytest.param(collection(feature("T1", "a", "441900003", square(113, 23, 200, 24))), "坐标超出经纬度范围：[200, 23]", id="out-of-range"),
    pytest.param(collection(feature("T1", "a", "441900003", {"type": "Polygon", "coordinates": []})), "坐标数组为空或格式错误", id="empty-coordinates"),
    pytest.param(collection(feature("T1", "a", "441900003", {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]})),
                 "几何无效且无法修复", id="flat"),
    pytest.param(collection(feature("T1", "a", "441900999", square(0, 0, 1, 1))), "区划代码 441900999 不存在", id="unknown-division"),
    pytest.param(collection(feature("T1", "a", "44190A", square(0, 0, 1, 1))), "区划代码 44190A 格式错误", id="bad-division"),
    pytest.param(collection(feature("T1", "a", "441900003", square(0, 0, 1, 1), level=2)), "要素层级 2 与导入层级 1 不一致", id="level-mismatch"),
    pytest.param(collection(GOOD, GOOD), "第 2 个要素（编码 T1）：网格编码与第 1 个要素重复", id="duplicate-code"),
    pytest.param(collection(feature("T1", "a", "441900003", square(0, 0, 1, 1), parent_code="X")), "一级网格不能有上级网格", id="parent-on-level1"),
]


@pytest.mark.parametrize("data, message", MALFORMED)
def test_malformed_file_is_refused_with_its_message(dongguan, data, message):
    lines = refused(data)
    assert any(message in line for line in lines), lines


def test_one_bad_feature_refuses_the_whole_file(dongguan):
    bad = feature("T2", "南城网格", "441900004", {"type": "Point", "coordinates": [113.85, 23.05]})
    lines = refused(collection(GOOD, bad))
    assert lines == ["第 2 个要素（编码 T2）：几何类型 Point 不支持，只能是 Polygon 或 MultiPolygon"]


def test_every_bad_feature_is_listed(dongguan):
    lines = refused(collection(feature("A", "", "441900003", square(0, 0, 1, 1)), GOOD, feature("C", "c", "441900999", None)))
    assert len(lines) == 3  # missing name; C: geometry and division, both reported
    assert lines[0].startswith("第 1 个要素（编码 A）") and all(line.startswith("第 3 个要素（编码 C）") for line in lines[1:])


def test_outside_actor_jurisdiction_is_refused(dongguan):
    jinan = make_user("leader", jurisdiction="3701")
    lines = refused(collection(GOOD), actor=jinan)
    assert lines == ["第 1 个要素（编码 T1）：区划代码 441900003 不在您的辖区内"]


def test_import_creates_then_updates_and_repairs(dongguan):
    e = make_entity("441900004001", lng=113.82, lat=23.02)
    level1 = collection(GOOD, feature("T2", "南城网格", "441900004", BOWTIE, level=1))
    result = import_grids_geojson(io.BytesIO(level1), level=1, actor=None)
    assert (result.created, result.updated) == (2, 0)
    assert result.repaired == ["第 2 个要素（编码 T2）：几何无效，已自动修复"]
    t2 = Grid.objects.get(code="T2")
    assert t2.geometry["type"] == "MultiPolygon" and t2.min_lng == pytest.approx(113.8)
    e.refresh_from_db()
    assert e.grid_id == t2.pk and t2.entity_count == 1

    # Level 2: the parent comes from parent_code, or from the town grid of the division prefix.
    level2 = collection(
        feature("V1", "东城甲网格", "441900003001", square(113.70, 23.00, 113.75, 23.05)),
        feature("V2", "东城乙网格", 441900003002, square(113.75, 23.00, 113.80, 23.05), parent_code="T1"),
    )
    result = import_grids_geojson(io.BytesIO(level2), level=2, actor=None)
    assert result.created == 2
    assert {g.code: g.parent.code for g in Grid.objects.filter(level=2)} == {"V1": "T1", "V2": "T1"}
    assert Grid.objects.get(code="V2").division_code == "441900003002"  # numbers are read as codes

    renamed = collection(feature("T1", "东城街道网格", "441900003", square(113.70, 23.00, 113.80, 23.10)))
    result = import_grids_geojson(io.BytesIO(renamed), level=1, actor=None)
    assert (result.created, result.updated) == (0, 1)
    assert Grid.objects.get(code="T1").name == "东城街道网格" and Grid.objects.count() == 4


def test_level2_parent_must_be_a_level1_grid(dongguan):
    lines = refused(collection(feature("V1", "a", "441900003001", square(0, 0, 1, 1), parent_code="NOPE")), level=2)
    assert lines == ["第 1 个要素（编码 V1）：上级网格 NOPE 不存在或不是一级网格"]


def test_import_grids_command(dongguan, tmp_path):
    good = tmp_path / "towns.geojson"
    good.write_bytes(collection(GOOD))
    out = io.StringIO()
    call_command("import_grids", str(good), "--level", "1", stdout=out)
    assert "新增 1，更新 0" in out.getvalue()
    bad = tmp_path / "bad.geojson"
    bad.write_text("not json", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="GeoJSON 校验未通过"):
        call_command("import_grids", str(bad), "--level", "1", stderr=err)
    assert "文件不是有效的 JSON" in err.getvalue()
    with pytest.raises(CommandError, match="无法读取文件"):
        call_command("import_grids", str(tmp_path / "missing.geojson"), "--level", "1", stderr=io.StringIO())
    assert Grid.objects.count() == 1
