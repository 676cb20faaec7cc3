import datetime as dt
from decimal import Decimal

import pytest

from zhijian.entities import parsing


@pytest.mark.parametrize("raw, amount, cur", [
    ("600（万元）", Decimal("600"), "CNY"),
    ("5(万元人民币)", Decimal("5"), "CNY"),
    ("24,883(万元(港币))", Decimal("24883"), "HKD"),
    ("4,192.6815(万元人民币)", Decimal("4192.6815"), "CNY"),
    ("0.001万人民币", Decimal("0.001"), "CNY"),
    ("100万美元", Decimal("100"), "USD"),
    ("500000元", Decimal("50"), "CNY"),
    ("N/A", None, ""),
    (12.5, Decimal("12.5"), "CNY"),
])
def test_capital_formats_of_real_files(raw, amount, cur):
    assert parsing.parse_capital(raw) == (amount, cur)


def test_capital_garbage_is_refused():
    with pytest.raises(ValueError, match="注册资本"):
        parsing.parse_capital("约五百万")


@pytest.mark.parametrize("raw, expected", [
    ("2003-07-10", dt.date(2003, 7, 10)),
    ("2003/7/1", dt.date(2003, 7, 1)),
    ("2003年7月10日", dt.date(2003, 7, 10)),
    ("20030710", dt.date(2003, 7, 10)),
    (dt.datetime(2020, 1, 2, 0, 0), dt.date(2020, 1, 2)),
    ("N/A", None),
])
def test_dates(raw, expected):
    assert parsing.parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2003-02-30", "明天", "1800-01-01"])
def test_bad_dates(raw):
    with pytest.raises(ValueError):
        parsing.parse_date(raw)


def test_headers_of_registration_files_and_template_map():
    real = ["企业名称", "统一社会信用代码", "注册日期", "企业类型", "法人代表", "注册资金", "经营范围", "所在省份", "地区", "注册地址"]
    m = parsing.map_header(real)
    assert m["name"] == 0 and m["credit_code"] == 1 and m["capital"] == 5 and m["address"] == 9
    ours = ["统一社会信用代码", "企业名称", "注册资本（万元）", "成立日期", " 法定代表人 ", "区划代码"]
    m = parsing.map_header(ours)
    assert m["capital"] == 2 and m["legal_rep"] == 4 and m["division_code"] == 5


def test_missing_required_column_names_it():
    with pytest.raises(parsing.FileProblem, match="统一社会信用代码"):
        parsing.map_header(["企业名称", "注册地址"])


def test_synthetic_trades_use_real_industry_codes():
    import csv
    from django.conf import settings

    from zhijian.entities.synth import TRADES

    with open(settings.DATA_DIR / "industry" / "gbt4754_2017.csv", encoding="utf-8") as fh:
        codes = {r["code"] for r in csv.DictReader(fh)}
    assert {trade[0] for trade in TRADES} <= codes


SAMPLE = 64 * 1024  # what _iter_csv reads to decide the encoding


def _file_cut_at(tmp_path, encoding: str, char: str, shift: int):
    """A CSV whose encoding sample ends ``shift`` bytes into a run of ``char`` (so the cut falls on
    every byte of a multi-byte character as ``shift`` varies)."""
    header = "企业名称,统一社会信用代码,注册地址\n".encode(encoding)
    width = len(char.encode(encoding))
    row_text = f"{char * 20},91441900MA4UU9XY3N,东莞市{char * 10}路\n"
    row = row_text.encode(encoding)
    rows = []
    size = len(header)
    # Enough whole rows that the sample ends inside the run of ``char`` of some row, then padding
    # ("a" is one byte in both encodings) to put the boundary ``shift`` bytes into a character.
    while size + len(row) < SAMPLE - len(row):
        rows.append(row)
        size += len(row)
    pad = (SAMPLE - size - 1 - shift) % width
    first = f"{'a' * (pad + 1)}{char * 60},91441900MA4UU9XY3N,东莞\n".encode(encoding)
    data = header + b"".join(rows) + first + row * 5
    offset_in_run = SAMPLE - (size + pad + 1)
    assert offset_in_run > 0 and offset_in_run % width == shift % width  # the cut is where we want it
    path = tmp_path / f"{encoding}-{ord(char)}-{shift}.csv"
    path.write_bytes(data)
    return path, data.decode(encoding)


@pytest.mark.parametrize("encoding, char", [
    ("gb18030", "企"),     # two bytes in GBK/GB18030
    ("gb18030", "𠀀"),     # four bytes in GB18030 (CJK Extension B)
    ("gb18030", "😀"),     # four bytes in GB18030
    ("utf-8", "企"),       # three bytes
    ("utf-8", "𠀀"),       # four bytes
])
def test_encoding_sample_may_end_inside_a_character(tmp_path, encoding, char):
    """Whatever byte of a multi-byte character the 64 KiB sample ends on, the file is read in its
    encoding (before the fix a GB18030 file cut inside a character was refused as unknown)."""
    width = len(char.encode(encoding))
    for shift in range(width + 1):
        path, text = _file_cut_at(tmp_path, encoding, char, shift)
        rows = list(parsing.iter_rows(path))
        assert rows[0] == ["企业名称", "统一社会信用代码", "注册地址"]
        assert "\n".join(",".join(r) for r in rows) + "\n" == text


def test_a_truncated_gb18030_file_is_still_refused(tmp_path):
    """The tolerance is for the sample's cut only: a file that really ends inside a character is broken."""
    data = "企业名称,统一社会信用代码\n东莞商行,91441900MA4UU9XY3N\n".encode("gb18030")[:-2] + "企".encode("gb18030")[:1]
    path = tmp_path / "cut.csv"
    path.write_bytes(data)
    with pytest.raises(parsing.FileProblem):
        list(parsing.iter_rows(path))
