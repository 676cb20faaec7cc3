"""Reading registration files: CSV (UTF-8 or GBK/GB18030) and .xlsx, with the real headers.

Accepts the column headers of the public registration extracts (企业名称, 统一社会信用代码,
注册日期, 企业类型, 法人代表, 注册资金, 经营范围, 所在省份, 地区, 注册地址) and Zhijian's own
template; file-level problems raise ``FileProblem`` before anything is written.

Every problem is told in Chinese and names the row: a field longer than ``FIELD_LIMIT`` characters
(CSV's own limit, e.g. a quote never closed swallowing the rest of the file), a NUL byte, a broken
encoding, or an .xlsx that is truncated, not a zip, missing its parts or with damaged XML — never
Python's or openpyxl's English text, never a traceback.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import unicodedata
import zipfile
import zlib
from xml.etree.ElementTree import ParseError as XMLParseError
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterator

from django.utils.translation import gettext as _
from openpyxl import load_workbook

# canonical field -> accepted headers (compared after NFKC + removing spaces and brackets' contents)
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("企业名称", "名称", "主体名称", "市场主体名称", "字号名称", "name"),
    "credit_code": ("统一社会信用代码", "信用代码", "社会信用代码", "注册号/统一社会信用代码", "credit_code", "uscc"),
    "established_on": ("注册日期", "成立日期", "登记日期", "established_on"),
    "approved_on": ("核准日期", "approved_on"),
    "legal_type": ("企业类型", "主体类型", "类型", "组成形式", "legal_type"),
    "legal_rep": ("法人代表", "法定代表人", "经营者", "负责人", "执行事务合伙人", "投资人", "legal_rep"),
    "capital": ("注册资金", "注册资本", "出资额", "资金数额", "capital"),
    "business_scope": ("经营范围", "business_scope"),
    "province": ("所在省份", "省份", "省", "province"),
    "city": ("地区", "所在城市", "城市", "市", "city"),
    "address": ("注册地址", "住所", "经营场所", "地址", "住所/经营场所", "address"),
    "division_code": ("区划代码", "行政区划代码", "所在区划代码", "division_code"),
    "industry_code": ("行业代码", "国民经济行业代码", "industry_code"),
    "status": ("登记状态", "经营状态", "状态", "status"),
    "lng": ("经度", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
}
REQUIRED = ("name", "credit_code")
# The longest field read, in characters: CSV's own limit (131,072), never raised process-wide. The
# longest real field (经营范围) is a few thousand characters; a longer one is a broken file.
FIELD_LIMIT = csv.field_size_limit()
# An .xlsx whose parts unpack to more than this is refused before it is read (a zip bomb).
XLSX_MAX_UNPACKED = 1024 * 1024 * 1024
NA = {"", "n/a", "na", "null", "none", "-", "--", "无", "/"}

_ALIAS_INDEX = {}
for field, names in HEADER_ALIASES.items():
    for n in names:
        _ALIAS_INDEX[re.sub(r"[\s（(].*?[)）]|\s", "", unicodedata.normalize("NFKC", n)).lower()] = field


class FileProblem(Exception):
    """The whole file is refused (nothing is written); the message says why."""


def canonical_header(h) -> str | None:
    key = re.sub(r"[\s（(].*?[)）]|\s", "", unicodedata.normalize("NFKC", str(h or ""))).lower().lstrip("\ufeff")
    return _ALIAS_INDEX.get(key)


def clean(value) -> str:
    if value is None:
        return ""
    s = str(value).strip().replace("\u3000", " ")
    return "" if s.lower() in NA else s


# --- value parsers: return the value or raise ValueError with a user message -----------------

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = clean(value)
    if not s:
        return None
    for p in _DATE_PATTERNS:
        m = p.match(s)
        if m:
            try:
                d = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
            if d.year < 1949 or d > dt.date.today() + dt.timedelta(days=366):
                raise ValueError(_("日期超出合理范围：%(v)s") % {"v": s})
            return d
    raise ValueError(_("无法识别的日期：%(v)s（应为 YYYY-MM-DD）") % {"v": s})


_CURRENCIES = (("港币", "HKD"), ("港元", "HKD"), ("美元", "USD"), ("欧元", "EUR"), ("日元", "JPY"), ("英镑", "GBP"), ("人民币", "CNY"))


def parse_capital(value) -> tuple[Decimal | None, str]:
    """'24,883(万元(港币))' -> (24883, 'HKD'); '0.001万人民币' -> (0.001, 'CNY'); amounts in 万元."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Decimal(str(value)), "CNY"
    s = unicodedata.normalize("NFKC", clean(value))
    if not s:
        return None, ""
    currency = next((code for word, code in _CURRENCIES if word in s), "CNY")
    m = re.match(r"^\s*([\d,]*\.?\d+)", s)
    if not m:
        raise ValueError(_("无法识别的注册资本：%(v)s") % {"v": s})
    try:
        amount = Decimal(m[1].replace(",", ""))
    except InvalidOperation:
        raise ValueError(_("无法识别的注册资本：%(v)s") % {"v": s}) from None
    rest = s[m.end():]
    if "万" not in rest and "元" in rest:  # plain yuan
        amount = amount / Decimal(10000)
    if amount < 0 or amount >= Decimal("1e13"):
        raise ValueError(_("注册资本超出合理范围：%(v)s") % {"v": s})
    return amount, currency


def parse_coord(value, lo: float, hi: float, label: str) -> float | None:
    s = clean(value)
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        raise ValueError(_("%(l)s不是数字：%(v)s") % {"l": label, "v": s}) from None
    if not lo <= v <= hi:
        raise ValueError(_("%(l)s超出中国范围：%(v)s") % {"l": label, "v": s})
    return v


# --- reading -----------------------------------------------------------------------------------

SNIFF_BYTES = 64 * 1024  # the sample the encoding is decided from

def _decodes(head: bytes, encoding: str, *, whole: bool) -> bool:
    """Whether ``head`` is text in ``encoding``. A sample (``whole=False``) may end inside a
    multi-byte character — up to 3 bytes of UTF-8, 1 or 3 of a GB18030 two- or four-byte one — so
    its incomplete tail is left pending instead of counted against the encoding."""
    try:
        codecs.getincrementaldecoder(encoding)(errors="strict").decode(head, final=whole)
    except UnicodeDecodeError:
        return False
    return True


def _sniff_encoding(head: bytes, *, whole: bool = False) -> str:
    """The encoding of a CSV from its first bytes (``whole``: they are the whole file)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        if _decodes(head, encoding, whole=whole):
            return encoding
    raise FileProblem(_("无法识别文件编码：请使用 UTF-8 或 GBK/GB18030 编码的 CSV"))


def detect_kind(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(_("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV"))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise FileProblem(_("文件不是有效的 Excel（.xlsx）文件"))
    return "csv"


def iter_rows(path: Path) -> Iterator[list]:
    """Yield the header row, then data rows, as lists of cell values."""
    kind = detect_kind(path)
    if path.stat().st_size == 0:
        raise FileProblem(_("文件是空的"))
    if kind == "xlsx":
        yield from _iter_xlsx(path)
    else:
        yield from _iter_csv(path)


def _iter_csv(path: Path) -> Iterator[list]:
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
        whole = not fh.read(1)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileProblem(_("文件不是文本格式的 CSV"))
    encoding = _sniff_encoding(head, whole=whole)
    with open(path, encoding=encoding, newline="", errors="strict") as text:
        try:
            sample = text.read(8192)
        except UnicodeDecodeError:  # e.g. a UTF-8 BOM before GBK text
            raise FileProblem(_("第 %(n)d 行附近有无法按 %(e)s 解码的字节：文件可能损坏或混用了编码")
                              % {"n": _bad_line(head, encoding), "e": _shown(encoding)}) from None
        text.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(text, dialect)
        line = 0
        try:
            for line, row in enumerate(reader, start=1):
                yield row
        except UnicodeDecodeError:
            raise FileProblem(_("第 %(n)d 行附近有无法按 %(e)s 解码的字节：文件可能损坏或混用了编码") % {"n": line + 1, "e": _shown(encoding)}) from None
        except csv.Error as exc:
            raise FileProblem(_("第 %(n)d 行 CSV 格式错误：%(m)s") % {"n": line + 1, "m": _csv_error(exc)}) from None


def _shown(encoding: str) -> str:
    """An encoding as people name it ("utf-8-sig" is UTF-8 with a BOM: still "utf-8")."""
    return "utf-8" if encoding == "utf-8-sig" else encoding


def _bad_line(head: bytes, encoding: str) -> int:
    """The line of ``head`` holding its first byte that ``encoding`` cannot decode."""
    body = head[len(codecs.BOM_UTF8):] if encoding == "utf-8-sig" else head
    try:
        codecs.getincrementaldecoder(_shown(encoding))(errors="strict").decode(body, final=False)
    except UnicodeDecodeError as exc:
        return body[: exc.start].count(b"\n") + 1
    return 1


def _csv_error(exc: csv.Error) -> str:
    """The csv module's (English) reason, said in Chinese."""
    text = str(exc)
    if "field larger than field limit" in text:
        return _("有字段超过 %(n)d 个字符的上限，整个文件未导入（常见原因：某个引号没有结束，其后的内容都被当成了同一个字段）") % {"n": FIELD_LIMIT}
    if "NUL" in text:
        return _("含有空字符（NUL），文件可能不是文本或已损坏")
    if "new-line character seen in unquoted field" in text:
        return _("未加引号的字段中出现换行符：请用 Excel 或 WPS 另存为 CSV 后再导入")
    return _("无法按 CSV 格式读取（请检查引号和分隔符）")


def _xlsx_problem(exc: BaseException, row: int | None = None) -> FileProblem:
    """A damaged .xlsx, said in Chinese (zipfile's, zlib's, the XML parser's and openpyxl's reasons are English)."""
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc) or isinstance(exc, zlib.error):
        why = _("压缩数据已损坏")
    elif isinstance(exc, (zipfile.BadZipFile, EOFError)):
        why = _("不是完整的 .xlsx 压缩包，文件可能被截断")
    elif isinstance(exc, KeyError):
        why = _("缺少工作簿的组成部分")
    elif isinstance(exc, (XMLParseError, SyntaxError)):
        why = _("工作簿的 XML 内容已损坏")
    elif isinstance(exc, NotImplementedError):
        why = _("使用了不支持的压缩方式")
    else:
        why = _("文件结构无法识别")
    if row is not None:
        return FileProblem(_("Excel 文件第 %(n)d 行之后已损坏，无法读取（%(why)s）：请用 Excel 或 WPS 打开后另存为 .xlsx 再导入")
                           % {"n": row, "why": why})
    return FileProblem(_("Excel 文件已损坏，无法读取（%(why)s）：请用 Excel 或 WPS 打开后另存为 .xlsx 再导入") % {"why": why})


def _iter_xlsx(path: Path) -> Iterator[list]:
    # Any failure reading a damaged workbook is the file's problem, whatever zipfile, zlib, the XML
    # parser or openpyxl raise for it (they raise many kinds): the person is told in Chinese.
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            raise FileProblem(_("文件不是有效的 Excel（.xlsx）文件"))
        if sum(i.file_size for i in infos) > XLSX_MAX_UNPACKED:
            raise FileProblem(_("Excel 文件解压后超过 %(mb)d MB，拒绝读取：请分成几个文件导入") % {"mb": XLSX_MAX_UNPACKED // (1024 * 1024)})
        wb = load_workbook(path, read_only=True, data_only=True)
        if not wb.worksheets:
            raise FileProblem(_("Excel 文件中没有工作表"))
    except FileProblem:
        raise
    except Exception as exc:
        raise _xlsx_problem(exc) from None
    line = 0
    try:
        ws = wb.worksheets[0]
        for line, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if row is None or all(c is None or str(c).strip() == "" for c in row):
                continue
            for c in row:
                if isinstance(c, str) and len(c) > FIELD_LIMIT:
                    raise FileProblem(_("第 %(n)d 行有单元格超过 %(k)d 个字符的上限，整个文件未导入") % {"n": line, "k": FIELD_LIMIT})
            yield list(row)
    except FileProblem:
        raise
    except Exception as exc:
        raise _xlsx_problem(exc, row=line or None) from None
    finally:
        wb.close()


def map_header(header: list) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for i, h in enumerate(header):
        field = canonical_header(h)
        if field and field not in mapping:
            mapping[field] = i
    missing = [f for f in REQUIRED if f not in mapping]
    if missing:
        want = "、".join(HEADER_ALIASES[f][0] for f in missing)
        seen = "、".join(str(h) for h in header if str(h or "").strip()) or _("（空）")
        raise FileProblem(_("缺少必需的列：%(w)s。文件中的列：%(s)s") % {"w": want, "s": seen})
    return mapping
