"""The registry tally stays equal to COUNT(*) through every write path, and recount rebuilds it."""
import csv
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import credit_code, make_entity, make_user
from zhijian.entities import importer, services, tally
from zhijian.entities.models import EntityTally, MarketEntity

HEADER = ["企业名称", "统一社会信用代码", "注册日期", "企业类型", "法人代表", "注册资金", "经营范围", "所在省份", "地区", "注册地址", "区划代码", "登记状态"]


def _csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for name, code, division, status in rows:
            w.writerow([name, code, "2020-05-06", "有限责任公司", "李四", "100(万元人民币)", "销售日用百货", "广东", "东莞",
                        "东莞市南城街道宏图路1号", division, status])
    return Path(path)


def _right():
    assert tally.differences() == {}
    assert sum(EntityTally.objects.values_list("n", flat=True)) == MarketEntity.objects.count()


@pytest.mark.django_db
def test_creates_status_changes_and_moves_keep_the_tally(officer):
    a = make_entity("441900003001")
    b = make_entity("441900003001", credit_code=credit_code("441900", "2"))
    make_entity("441900004002")
    _right()
    assert tally.count(officer) == 3
    assert tally.count(officer, division="441900003") == 2
    assert tally.count(officer, entity_type="individual") == 1
    services.entity_set_status(actor=officer, credit_code=a.credit_code, status="suspended")
    _right()
    assert tally.count(officer, status="suspended") == 1 and tally.count(officer, status="active") == 2
    services.entity_change_address(actor=officer, credit_code=b.credit_code, address="东莞市东城街道1号", division_code="441900005001")
    _right()
    assert tally.count(officer, division="441900005") == 1
    services.entity_update(actor=officer, credit_code=b.credit_code, name="东莞市改名商行")  # not a key: nothing moves
    _right()


@pytest.mark.django_db
def test_imports_and_reimports_with_moves_keep_the_tally(tmp_path):
    make_entity("441900003001")
    c1, c2, c3 = credit_code("441900"), credit_code("441900"), credit_code("441900", "2")
    s = importer.Importer().run(_csv(tmp_path / "a.csv", [("东莞市甲有限公司", c1, "441900003001", "存续"),
                                                            ("东莞市乙有限公司", c2, "441900003001", "存续"),
                                                            ("东莞市丙商行", c3, "441900004001", "存续")]))
    assert s.imported == 3
    _right()
    # The same file again with a status change and a move: updates, not inserts.
    s = importer.Importer().run(_csv(tmp_path / "b.csv", [("东莞市甲有限公司", c1, "441900003001", "注销"),
                                                            ("东莞市乙有限公司", c2, "441900006001", "存续"),
                                                            ("东莞市丙商行", c3, "441900004001", "存续")]))
    assert s.updated == 2
    _right()
    assert tally.count(None, status="cancelled") == 1 and tally.count(None, division="441900006") == 1


@pytest.mark.django_db
def test_deletes_keep_the_tally_and_recount_repairs_a_drift():
    a = make_entity("441900003001")
    make_entity("441900003001")
    make_entity("441900004001")
    a.delete()
    _right()
    MarketEntity.objects.filter(division_code="441900004001").delete()
    _right()
    # A write outside the services (raw update) drifts; the command puts it right.
    MarketEntity.objects.update(status="revoked")
    assert tally.differences()
    call_command("recount_entities")
    _right()
    assert tally.count(None, status="revoked") == 1


@pytest.mark.django_db
def test_the_tally_is_scoped(officer, outsider):
    make_entity("441900003001")
    assert tally.count(officer) == 1 and tally.count(outsider) == 0
    assert tally.answers({"division": "4419", "status": "active"}, officer) and not tally.answers({"industry": "52"})
    # Kept by town: a village is counted from the table.
    assert EntityTally.objects.get().division_code == "441900003"
    assert not tally.answers({"division": "441900003001"})
    village_user = make_user("grid_officer", jurisdiction="441900003001")
    assert not tally.answers({}, village_user)
