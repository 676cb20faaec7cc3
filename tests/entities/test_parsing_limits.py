"""Registry import files at their limits (issue 14, finding 8): a 10 MB CSV field gave Python's
English "field larger than field limit". Now every broken file — a field past the limit, a quote
never closed, a NUL, a broken encoding, a truncated or damaged .xlsx — is refused as a whole with a
Chinese message naming the row, and nothing is written; GBK, UTF-8 with BOM and UTF-16 still import."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from tests.entities.test_import import HEADER, row, run, write_csv
from tests.factories import credit_code
from zhijian.core.models import TraceEntry
from zhijian.entities import importer, parsing
from zhijian.entities.jobs import import_job_run
from zhijian.entities.models import ImportJob, MarketEntity

TEN_MB = 10 * 1024 * 1024
LATIN = re.compile(r"[A-Za-z]{3,}")
ALLOWED_LATIN = {"CSV", "Excel", "xlsx", "XML", "UTF", "GBK", "WPS", "utf", "gb"}


def _rows(n: int = 3) -> list[list[str]]:
    return [row(f"东莞市限额测试{i}号商行", credit_code("441900")) for i in range(n)]


def refused(path: Path, *words: str) -> str:
    """The import refuses ``path`` whole, in Chinese naming ``words``, and writes nothing."""
    traces = TraceEntry.objects.count()
    with pytest.raises(parsing.FileProblem) as info:
        run(path)
    message = str(info.value)
    assert all(w in message for w in words), message
    assert not set(LATIN.findall(message)) - ALLOWED_LATIN, message
    assert MarketEntity.objects.count() == 0 and TraceEntry.objects.count() == traces
    return message


@pytest.mark.django_db
@pytest.mark.parametrize("quoted", [True, False], ids=["quoted", "unquoted"])
def test_a_10_mb_field_names_its_row_in_chinese(tmp_path, quoted):
    """The finding: 10 MB in the business-scope column of row 3 (the header is row 1)."""
    rows = _rows()
    rows[1][6] = "经营" * (TEN_MB // 6)  # 10 MB of UTF-8
    path = write_csv(tmp_path / "big.csv", rows)
    if not quoted:
        assert b'"' not in path.read_bytes()
    message = refused(path, "第 3 行", f"超过 {parsing.FIELD_LIMIT} 个字符的上限", "整个文件未导入")
    assert "field larger" not in message


@pytest.mark.django_db
def test_a_quote_never_closed_is_named_not_read_to_the_end(tmp_path):
    rows = _rows(4000)
    path = write_csv(tmp_path / "quote.csv", rows)
    text = path.read_text(encoding="utf-8").replace("东莞市限额测试2号商行", '"东莞市限额测试2号商行', 1)
    path.write_text(text, encoding="utf-8")
    refused(path, "第 4 行", "引号没有结束")


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_chinese_encodings_import(tmp_path, encoding):
    s = run(write_csv(tmp_path / f"{encoding}.csv", _rows(), encoding=encoding))
    assert s.line() == "imported=3 updated=0 rejected=0 warned=0"
    assert MarketEntity.objects.filter(name="东莞市限额测试0号商行").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("data, words", [
    pytest.param(lambda: ",".join(HEADER).encode("gbk") + b"\n" + "东莞市商行,".encode("gbk") + b"\xff\xff\xff\n", ("无法识别文件编码",),
                 id="neither-utf8-nor-gbk"),
    pytest.param(lambda: ",".join(HEADER).encode() + b"\n" + "东莞市".encode() + b"\x81\n", ("无法识别文件编码",), id="broken-utf8-small"),
    pytest.param(lambda: (",".join(HEADER) + "\n" + "东莞市限额测试商行,91441900MA4UU9XY3N\n" * 4000).encode() + b"\xe4\xb8\n",
                 ("无法按 utf-8 解码", "行附近"), id="broken-utf8-late"),
    pytest.param(lambda: (",".join(HEADER) + "\n").encode("utf-8-sig") + "东莞商行".encode("gbk") + b"\n", ("第 2 行附近", "无法按 utf-8 解码"),
                 id="bom-then-gbk"),
])
def test_a_broken_encoding_is_said_in_chinese(tmp_path, data, words):
    path = tmp_path / "enc.csv"
    path.write_bytes(data())
    refused(path, *words)


def _workbook(rows, big: int = 0) -> bytes:
    """An .xlsx of ``rows``; with ``big``, row 3's business scope is ``big`` characters long (set in
    the file's XML: openpyxl itself cuts what it writes to Excel's 32,767, another program may not)."""
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    if big:
        ws.cell(row=3, column=7, value="BIGCELL")
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if big:
        data = _rezip(data, "xl/worksheets/sheet1.xml", lambda c: c.replace(b"BIGCELL", ("经" * big).encode()))
    return data


def _rezip(data: bytes, member: str, change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            content = change(content) if name == member else content
            if content is not None:
                z.writestr(name, content)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("damage, words", [
    pytest.param(lambda d: d[: len(d) // 2], ("文件可能被截断",), id="truncated-half"),
    pytest.param(lambda d: d[:-30], ("文件可能被截断",), id="truncated-tail"),
    pytest.param(lambda d: _rezip(d, "xl/worksheets/sheet1.xml", lambda c: c[: len(c) * 2 // 3]), ("行之后已损坏", "XML"),
                 id="sheet-cut-mid-row"),
    pytest.param(lambda d: _rezip(d, "xl/worksheets/sheet1.xml", lambda c: None), ("没有工作表",), id="sheet-missing"),
    pytest.param(lambda d: _rezip(d, "xl/styles.xml", lambda c: b"\x00garbage<<"), ("XML 内容已损坏",), id="styles-garbage"),
    pytest.param(lambda d: _rezip(d, "[Content_Types].xml", lambda c: None), ("缺少工作簿的组成部分",), id="content-types-missing"),
    pytest.param(lambda d: d.replace(b"worksheets/sheet1.xml", b"worksheets/sheet1.xmX", 1), ("损坏",), id="renamed-entry"),
])
def test_a_damaged_xlsx_is_said_in_chinese(tmp_path, damage, words):
    """zipfile, zlib, the XML parser and openpyxl raised English errors or crashed (ParseError,
    IndexError) on these; each is now a Chinese refusal with nothing written."""
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(damage(_workbook(_rows(200))))
    refused(path, "Excel", *words)


@pytest.mark.django_db
def test_a_10_mb_cell_in_an_xlsx_names_its_row(tmp_path):
    path = tmp_path / "big.xlsx"
    path.write_bytes(_workbook(_rows(), big=TEN_MB // 3))
    refused(path, "第 3 行", "单元格超过", "整个文件未导入")


@pytest.mark.django_db
def test_the_command_and_the_job_say_it_in_chinese(tmp_path):
    rows = _rows()
    rows[2][6] = "x" * (parsing.FIELD_LIMIT + 1)
    path = write_csv(tmp_path / "big.csv", rows)
    with pytest.raises(CommandError, match=f"第 4 行 CSV 格式错误：有字段超过 {parsing.FIELD_LIMIT} 个字符的上限"):
        call_command("import_entities", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    job = ImportJob.objects.create(stored_path=str(path), filename="big.csv")  # an upload, run by the worker
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED and "第 4 行" in job.message and "field" not in job.message
    assert MarketEntity.objects.count() == 0


@pytest.mark.django_db
def test_a_long_real_field_is_still_read(tmp_path):
    """The limit is far above real data: a 100,000-character business scope imports."""
    rows = _rows()
    rows[0][6] = "销售日用百货；" * (100_000 // 7)
    s = importer.Importer().run(write_csv(tmp_path / "long.csv", rows))
    assert s.imported == 3
