import json

import pytest

from zhijian.geo import placement
from zhijian.geo.models import Division


@pytest.fixture(autouse=True)
def _fresh_placement_index():
    """The placement index is per process: never let one test's (rolled-back) grids leak."""
    placement.invalidate()
    yield
    placement.invalidate()


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def feature(code, name, division_code, geometry, **props):
    return {"type": "Feature", "properties": {"code": code, "name": name, "division_code": division_code, **props}, "geometry": geometry}


def collection(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


@pytest.fixture
def dongguan(db):
    """A small slice of 东莞 (4419): the city, one county-level row, two towns, three villages."""
    rows = [
        ("44", "广东省", 1, None), ("4419", "东莞市", 2, "44"), ("441900", "东莞市", 3, "4419"),
        ("441900003", "东城街道", 4, "441900"), ("441900004", "南城街道", 4, "441900"),
        ("441900003001", "东城甲社区", 5, "441900003"), ("441900003002", "东城乙社区", 5, "441900003"),
        ("441900004001", "南城甲社区", 5, "441900004"),
    ]
    Division.objects.bulk_create([Division(code=c, name=n, level=lv, parent_id=p) for c, n, lv, p in rows])
    return {c: n for c, n, *_ in rows}
