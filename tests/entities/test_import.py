"""Bulk import: real header sets, encodings, and every kind of bad input."""
import csv
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.factories import credit_code
from zhijian.entities import importer, parsing
from zhijian.entities.models import CreditCodeException, EntityChange, MarketEntity

HEADER = ["企业名称", "统一社会信用代码", "注册日期", "企业类型", "法人代表", "注册资金", "经营范围", "所在省份", "地区", "注册地址"]
SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "registrations" / "sample.csv"


def write_csv(path, rows, encoding="utf-8", header=HEADER):
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


def row(name, code, **kw):
    base = {"date": "2020-05-06", "type": "有限责任公司", "rep": "李四", "cap": "100(万元人民币)", "scope": "销售日用百货",
            "prov": "广东", "city": "东莞", "addr": "东莞市南城街道宏图路1号"}
    base.update(kw)
    return [name, code, base["date"], base["type"], base["rep"], base["cap"], base["scope"], base["prov"], base["city"], base["addr"]]


def run(path, **kw):
    return importer.Importer(**kw).run(Path(path))


@pytest.mark.django_db
def test_gbk_file_with_real_headers_imports(tmp_path):
    codes = [credit_code("441900") for _ in range(3)]
    p = write_csv(tmp_path / "gbk.csv", [row(f"东莞市甲乙丙{i}贸易有限公司", c) for i, c in enumerate(codes)], encoding="gbk")
    s = run(p)
    assert s.line() == "imported=3 updated=0 rejected=0 warned=0"
    e = MarketEntity.objects.get(credit_code=codes[0])
    assert e.name == "东莞市甲乙丙0贸易有限公司" and e.legal_rep == "李四" and e.capital == 100
    assert e.division_code.startswith("441900") and e.entity_type == "enterprise"


@pytest.mark.django_db
def test_invalid_and_duplicate_codes_are_rejected_per_row_and_rest_kept(tmp_path):
    good, dup = credit_code("441900"), credit_code("441900")
    rows = [row("甲公司", good), row("乙公司", "91440300752502580X"), row("丙公司", dup), row("丁公司", dup), row("", credit_code("441900"))]
    s = run(write_csv(tmp_path / "a.csv", rows))
    assert (s.imported, s.rejected) == (2, 3)
    msgs = {e.row: e.message for e in s.errors}
    assert "校验位错误" in msgs[3] and "重复" in msgs[5] and "第 4 行" in msgs[5] and "名称不能为空" in msgs[6]
    assert set(MarketEntity.objects.values_list("credit_code", flat=True)) == {good, dup}
    assert MarketEntity.objects.get(credit_code=dup).name == "丙公司"  # the first occurrence is kept
    report = importer.error_report_csv(s).decode("utf-8-sig")
    assert "91440300752502580X" in report and "行号" in report


@pytest.mark.django_db
def test_reimport_updates_by_code_and_records_history(tmp_path):
    code = credit_code("441900")
    run(write_csv(tmp_path / "1.csv", [row("戊公司", code)]))
    s = run(write_csv(tmp_path / "2.csv", [row("戊公司（新）", code, cap="200(万元)")]))
    assert s.line() == "imported=0 updated=1 rejected=0 warned=0"
    e = MarketEntity.objects.get(credit_code=code)
    assert e.name == "戊公司（新）" and e.version == 2
    change = EntityChange.objects.get(entity=e)
    assert change.changed["name"] == ["戊公司", "戊公司（新）"] and "capital" in change.changed
    # the same file again changes nothing
    s = run(tmp_path / "2.csv")
    assert s.updated == 0 and s.unchanged == 1


@pytest.mark.django_db
def test_exception_listed_code_is_imported_with_warning(tmp_path):
    CreditCodeException.objects.create(code="91350100M0001TGQXM", reason="早期试点代码")
    s = run(write_csv(tmp_path / "p.csv", [row("福州试点公司", "91350100M0001TGQXM", city="福州", addr="福州市鼓楼区")]))
    assert s.line() == "imported=1 updated=0 rejected=0 warned=1"
    assert "例外" in MarketEntity.objects.get().warning


@pytest.mark.django_db
@pytest.mark.parametrize("content, name, message", [
    (b"", "empty.csv", "空"),
    ("企业名称,统一社会信用代码\n".encode(), "header-only.csv", "没有数据行"),
    ("名称,地址\n甲,乙\n".encode(), "missing.csv", "缺少必需的列：统一社会信用代码"),
    (b"this is not a spreadsheet at all", "fake.xlsx", "不是有效的 Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "旧版 Excel"),
    (b"PK\x03\x04broken-zip", "broken.xlsx", "损坏"),
    (b"\x00\x01\x02\x03" * 100, "bin.csv", "不是文本"),
])
def test_file_level_problems_write_nothing(tmp_path, content, name, message):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(parsing.FileProblem, match=message):
        run(p)
    assert MarketEntity.objects.count() == 0


@pytest.mark.django_db
def test_corruption_late_in_file_writes_nothing(tmp_path):
    """A file that breaks at row 12,000 is refused whole: no chunk before it is written."""
    rows = [row(f"东莞市{i}号商行", credit_code("441900")) for i in range(12_000)]
    p = write_csv(tmp_path / "late.csv", rows, encoding="gbk")
    with open(p, "ab") as fh:
        fh.write("东莞市坏行,".encode("gbk") + b"\xff\xfe\xfd\n")
    with pytest.raises(parsing.FileProblem, match="无法按 gb18030 解码"):
        run(p)
    assert MarketEntity.objects.count() == 0


@pytest.mark.django_db
def test_xlsx_with_our_template_headers(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "企业名称", "注册资本", "成立日期", "登记状态", "区划代码", "行业代码", "经度", "纬度"])
    import datetime as dt

    code = credit_code("370102")
    ws.append([code, "济南市历下区泉城小吃店", 3, dt.datetime(2019, 3, 4), "存续", "370102", "6210", 117.03, 36.66])
    ws.append([credit_code("370102"), "坏坐标店", 3, "2019-03-04", "存续", "370102", "6210", 190, 36.66])
    ws.append([credit_code("370102"), "坏行业店", 3, "2019-03-04", "存续", "370102", "ZZZ", None, None])
    p = tmp_path / "t.xlsx"
    wb.save(p)
    from zhijian.entities.models import Industry

    Industry.objects.create(code="6210", name="正餐服务", level=4)
    s = run(p)
    assert (s.imported, s.rejected) == (1, 2)
    e = MarketEntity.objects.get(credit_code=code)
    assert e.established_on.isoformat() == "2019-03-04" and e.lng == 117.03 and e.industry_code == "6210"
    assert {x.column for x in s.errors} == {"经度/纬度", "行业代码"}


@pytest.mark.django_db
def test_dry_run_writes_nothing_but_counts(tmp_path):
    code = credit_code("441900")
    p = write_csv(tmp_path / "d.csv", [row("庚公司", code), row("坏公司", "123")])
    s = run(p, dry_run=True)
    assert s.line() == "imported=1 updated=0 rejected=1 warned=0"
    assert MarketEntity.objects.count() == 0


@pytest.mark.django_db
def test_out_of_jurisdiction_rows_are_rejected_for_a_county_clerk(tmp_path, officer):
    """A 东莞 clerk importing a 济南 entity: that row is refused, the rest is written."""
    p = write_csv(tmp_path / "j.csv", [row("东莞好店", credit_code("441900")), row("济南好店", credit_code("370102"), city="济南", addr="济南市历下区")])
    s = run(p, actor=officer)
    assert (s.imported, s.rejected) == (1, 1)
    assert "辖区" in s.errors[0].message


@pytest.mark.django_db
@pytest.mark.skipif(not SAMPLE.exists(), reason="../shared registration sample not present")
def test_real_registration_sample(tmp_path):
    """The 2,000 real registrations (test data only, not shipped) import with the real headers."""
    s = run(SAMPLE)
    assert s.total == 2000
    assert s.imported + s.rejected == 2000 and s.imported >= 1990
    e = MarketEntity.objects.get(credit_code="91440300752502580L")
    assert e.name == "深圳市海跃货运有限公司" and e.division_code.startswith("4403")


@pytest.mark.django_db
def test_progress_starts_at_zero_with_the_total_and_ends_at_it(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK", 2)
    rows = [row(f"东莞市进度{i}商行", credit_code("441900")) for i in range(5)]
    calls = []
    run(write_csv(tmp_path / "p.csv", rows), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
