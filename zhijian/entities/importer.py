"""Bulk import of the registry.

Which rows are kept (also in docs/registry-import.md):
* The whole file is refused, and nothing is written, when it cannot be read (empty, not CSV/.xlsx,
  undecodable, corrupt, too large) or lacks the required columns (名称, 统一社会信用代码). The file is
  read completely once to find such problems before the first row is written.
* Otherwise every row that passes validation is written (created, or updated by credit code), and
  every row that fails is left out and listed in the error report with its row number, column and
  reason. A credit code appearing twice in one file keeps its first row; the later ones are rejected.
* A code that fails the check digit but is on the exceptions list is imported with a warning.
Writing happens in chunks, each in its own transaction, so progress is visible; re-running the
same file is safe (it updates by credit code), which is how an interrupted import is resumed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import operator
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, exports, trace
from zhijian.core import text as input_text
from zhijian.core.scoping import common_division, jurisdiction_of
from zhijian.geo import placement
from zhijian.geo.models import Division

from . import creditcode, parsing, placing, tally
from .choices import ChangeKind, EntityStatus
from .models import CreditCodeException, EntityChange, Industry, MarketEntity
from .text import name_grams

CHUNK = 5000
MAX_KEPT_ERRORS = 100_000

# Text columns checked for control characters (business scope may span lines).
TEXT_COLUMNS = (("name", "企业名称"), ("address", "住所"), ("legal_type", "企业类型"), ("legal_rep", "法定代表人"),
                ("business_scope", "经营范围"))

STATUS_WORDS = {
    "存续": EntityStatus.ACTIVE, "在业": EntityStatus.ACTIVE, "开业": EntityStatus.ACTIVE, "在营": EntityStatus.ACTIVE,
    "存续（在营、开业、在册）": EntityStatus.ACTIVE, "active": EntityStatus.ACTIVE,
    "吊销": EntityStatus.REVOKED, "吊销，未注销": EntityStatus.REVOKED, "revoked": EntityStatus.REVOKED,
    "注销": EntityStatus.CANCELLED, "cancelled": EntityStatus.CANCELLED,
    "迁出": EntityStatus.MOVED_OUT, "moved_out": EntityStatus.MOVED_OUT,
    "歇业": EntityStatus.SUSPENDED, "suspended": EntityStatus.SUSPENDED,
}

# Columns written by the importer, in this order (also the raw-insert baseline of bench/registry.py).
COLUMNS = (
    "credit_code", "name", "name_grams", "entity_type", "legal_type", "legal_rep", "capital", "capital_currency",
    "established_on", "approved_on", "status", "address", "division_code", "grid_id", "lng", "lat",
    "industry_code", "business_scope", "warning", "version", "created_at", "updated_at",
)
_ROW = operator.itemgetter(*COLUMNS)
_COMPARED = ("name", "legal_type", "legal_rep", "capital", "capital_currency", "established_on", "approved_on",
             "status", "address", "division_code", "lng", "lat", "industry_code", "business_scope")


@dataclass
class RowError:
    row: int
    column: str
    value: str
    message: str
    credit_code: str = ""


@dataclass
class Summary:
    total: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warned: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    def line(self) -> str:
        return f"imported={self.imported} updated={self.updated} rejected={self.rejected} warned={self.warned}"


class DivisionResolver:
    """Finds the most precise division for a row: explicit code, else the registering authority's
    code inside the credit code (positions 3–8), refined to a county/town named in the address."""

    def __init__(self):
        self.known = set(Division.objects.filter(level__lte=4).values_list("code", flat=True))
        self._children: dict[str, list[tuple[str, str]]] = {}
        self._exists_cache: dict[str, bool] = {}

    def exists(self, code: str) -> bool:
        if not self.known:
            return True  # no reference data loaded: accept codes as given
        if code in self.known:
            return True
        if code not in self._exists_cache:
            self._exists_cache[code] = Division.objects.filter(code=code).exists()
        return self._exists_cache[code]

    def _kids(self, code: str) -> list[tuple[str, str]]:
        if code not in self._children:
            rows = Division.objects.filter(parent_id=code, level__lte=4).values_list("name", "code")
            kids = []
            for name, c in rows:
                short = name
                for suffix in ("街道办事处", "街道", "镇", "乡", "区", "县", "市", "管委会"):
                    if short.endswith(suffix) and len(short) > len(suffix) + 1:
                        short = short[: -len(suffix)]
                        break
                kids.append((name, short, c))
            # Longer names first so 东城街道 wins over 东城.
            self._children[code] = sorted(((n, c) for n, s, c in kids), key=lambda x: -len(x[0])) + sorted(
                ((s, c) for n, s, c in kids if s != n), key=lambda x: -len(x[0]))
        return self._children[code]

    def base_of(self, code6: str) -> str:
        if not self.known:
            return code6
        if code6 in self.known:
            return code6
        if code6[4:] == "00" and code6[:4] in self.known:
            return code6[:4]
        if code6[2:] == "0000" and code6[:2] in self.known:
            return code6[:2]
        return ""

    def resolve(self, credit_code: str, address: str) -> str:
        base = self.base_of(credit_code[2:8])
        if not base:
            return credit_code[2:8]
        if not address:
            return base
        current = base
        # Walk down while the address names a child (city -> county -> town).
        for _depth in range(3):
            if len(current) >= 9:
                break
            hit = next((c for n, c in self._kids(current) if n and n in address), None)
            if not hit:
                break
            current = hit
        return current


class Importer:
    def __init__(self, *, actor=None, dry_run: bool = False, progress: Callable[[int, int], None] | None = None, job=None,
                 stock: bool = False):
        self.actor = actor
        # ``stock``: the existing register loaded when a bureau switches on. Its rows are not new
        # registrations: the event says so, and no first visit or department push follows.
        self.stock = stock
        self.dry_run = dry_run
        self.progress = progress
        self.job = job
        self.summary = Summary()
        self.exceptions = frozenset(CreditCodeException.objects.values_list("code", flat=True))
        self.resolver = DivisionResolver()
        self._grid_by_division: dict[str, int | None] = {}
        self._touched_grids: set[int] = set()
        self.industries = set(Industry.objects.values_list("code", flat=True))
        self._scope = None
        if actor is not None:
            self._scope = jurisdiction_of(actor)

    # -- validation --------------------------------------------------------------------------
    def _validate(self, rowno: int, raw: list, cols: dict[str, int], now) -> tuple[dict | None, list[RowError], list[RowError]]:
        def get(f):
            i = cols.get(f)
            return raw[i] if i is not None and i < len(raw) else None

        errors: list[RowError] = []
        warnings: list[RowError] = []
        code_raw = parsing.clean(get("credit_code"))
        try:
            checked = creditcode.check(code_raw, self.exceptions)
        except creditcode.CreditCodeError as exc:
            return None, [RowError(rowno, "统一社会信用代码", code_raw, str(exc), code_raw)], []
        code = checked.code
        if checked.warning:
            warnings.append(RowError(rowno, "统一社会信用代码", code, checked.warning, code))
        name = parsing.clean(get("name"))
        if not name:
            errors.append(RowError(rowno, "企业名称", "", _("名称不能为空"), code))
        elif len(name) > 200:
            errors.append(RowError(rowno, "企业名称", name[:50], _("名称超过200字"), code))
        row = {"credit_code": code, "name": name, "entity_type": checked.entity_type, "warning": checked.warning}
        for f, label, fn in (("established_on", "注册日期", parsing.parse_date), ("approved_on", "核准日期", parsing.parse_date)):
            try:
                row[f] = fn(get(f))
            except ValueError as exc:
                errors.append(RowError(rowno, label, str(get(f)), str(exc), code))
        try:
            row["capital"], row["capital_currency"] = parsing.parse_capital(get("capital"))
        except ValueError as exc:
            errors.append(RowError(rowno, "注册资金", str(get("capital")), str(exc), code))
        try:
            row["lng"] = parsing.parse_coord(get("lng"), 73.0, 136.0, "经度")
            row["lat"] = parsing.parse_coord(get("lat"), 3.0, 54.0, "纬度")
        except ValueError as exc:
            errors.append(RowError(rowno, "经度/纬度", f"{get('lng')},{get('lat')}", str(exc), code))
        if (row.get("lng") is None) != (row.get("lat") is None):
            errors.append(RowError(rowno, "经度/纬度", "", _("经度和纬度须同时填写"), code))
        row["legal_type"] = parsing.clean(get("legal_type"))[:100]
        row["legal_rep"] = parsing.clean(get("legal_rep"))[:100]
        row["business_scope"] = parsing.clean(get("business_scope"))
        address = parsing.clean(get("address"))[:300]
        row["address"] = address
        status_raw = parsing.clean(get("status"))
        row["status"] = EntityStatus.ACTIVE
        if status_raw:
            st = STATUS_WORDS.get(status_raw) or next((v for k, v in STATUS_WORDS.items() if status_raw.startswith(k)), None)
            if st is None:
                errors.append(RowError(rowno, "登记状态", status_raw, _("无法识别的登记状态"), code))
            else:
                row["status"] = st
        industry = parsing.clean(get("industry_code")).upper()
        if industry and self.industries and industry not in self.industries:
            errors.append(RowError(rowno, "行业代码", industry, _("不是 GB/T 4754-2017 行业代码"), code))
        row["industry_code"] = industry
        division = parsing.clean(get("division_code"))
        if division:
            if not division.isdigit() or len(division) not in (2, 4, 6, 9, 12) or not self.resolver.exists(division):
                errors.append(RowError(rowno, "区划代码", division, _("区划代码不存在"), code))
        else:
            division = self.resolver.resolve(code, address)
        row["division_code"] = division
        if self._scope is not None and "" not in self._scope and not any(division.startswith(p) for p in self._scope):
            errors.append(RowError(rowno, "区划代码", division, _("该主体不在您的辖区内"), code))
        if not errors and row.get("lng") is not None:
            problem = placement.position_problem(row["lng"], row["lat"], division)
            if problem:
                errors.append(RowError(rowno, "经度/纬度", f"{row['lng']},{row['lat']}", problem, code))
        for f, label in TEXT_COLUMNS:
            value = name if f == "name" else row.get(f)
            found = input_text.control_problem(value, multiline=f == "business_scope")
            if found:
                errors.append(RowError(rowno, label, found.snippet(value), input_text.message(found, value, label), code))
        row["name_grams"] = name_grams(name)
        row["approved_on"] = row.get("approved_on")
        row["grid_id"] = None
        row["created_at"] = row["updated_at"] = now
        row["version"] = 1
        return (None if errors else row), errors, warnings

    def _rows(self, path: Path, on_row: Callable[[int, dict], None]) -> None:
        """Read and validate every row; on_row is called with each valid row."""
        it = parsing.iter_rows(path)
        header = None
        for header in it:
            if any(parsing.clean(c) for c in header):
                break
        if header is None:
            raise parsing.FileProblem(_("文件是空的"))
        cols = parsing.map_header(header)
        seen: dict[str, int] = {}
        now = timezone.now()
        s = self.summary
        rowno = 1
        for rowno, raw in enumerate(it, start=2):
            if not any(parsing.clean(c) for c in raw):
                continue
            s.total += 1
            row, errors, warnings = self._validate(rowno, raw, cols, now)
            if row is not None:
                first = seen.get(row["credit_code"])
                if first is not None:
                    errors.append(RowError(rowno, "统一社会信用代码", row["credit_code"], _("与第 %(n)d 行的代码重复，已保留第 %(n)d 行") % {"n": first}, row["credit_code"]))
                    row = None
                else:
                    seen[row["credit_code"]] = rowno
            if errors:
                s.rejected += 1
                if len(s.errors) < MAX_KEPT_ERRORS:
                    s.errors.extend(errors)
                continue
            if warnings:
                s.warned += 1
                s.warnings.extend(warnings)
            on_row(rowno, row)
        if s.total == 0:
            raise parsing.FileProblem(_("文件只有表头，没有数据行"))

    # -- writing -----------------------------------------------------------------------------
    def run(self, path: Path) -> Summary:
        path = Path(path)
        # Pass 1: read the whole file, so a broken file is refused before anything is written.
        total_valid = self._scan(path)
        if self.dry_run:
            self._count_existing(path)
            return self.summary
        # Pass 2: validate and write valid rows in chunks.
        chunk: list[dict] = []
        done = 0

        def collect(_rowno, row):
            nonlocal done
            chunk.append(row)
            if len(chunk) >= CHUNK:
                self._write(chunk)
                done += len(chunk)
                chunk.clear()
                self._progress(done, total_valid)

        self._progress(0, total_valid)  # the bar (and the job's page) starts with its total, not with the first chunk
        self._rows(path, collect)
        if chunk:
            self._write(chunk)
            done += len(chunk)
            self._progress(done, total_valid)
        if self._touched_grids:
            placing.grids_recount(self._touched_grids)
        return self.summary

    def _scan(self, path: Path) -> int:
        """Decode every row and check the header; returns the number of non-empty data rows."""
        it = parsing.iter_rows(path)
        header = next((h for h in it if any(parsing.clean(c) for c in h)), None)
        if header is None:
            raise parsing.FileProblem(_("文件是空的"))
        parsing.map_header(header)
        count = sum(1 for raw in it if any(c not in (None, "") for c in raw))
        if count == 0:
            raise parsing.FileProblem(_("文件只有表头，没有数据行"))
        return count

    def _count_existing(self, path: Path) -> None:
        codes: list[str] = []

        def add(_r, row):
            codes.append(row["credit_code"])

        self._rows(path, add)
        s = self.summary
        existing = 0
        for i in range(0, len(codes), CHUNK):
            existing += MarketEntity.objects.filter(credit_code__in=codes[i : i + CHUNK]).count()
        s.updated = existing
        s.imported = len(codes) - existing

    def _progress(self, done: int, total: int) -> None:
        if self.progress:
            self.progress(done, total)
        if self.job is not None:
            type(self.job).objects.filter(pk=self.job.pk).update(processed=done, total=total, imported=self.summary.imported,
                                                                    updated=self.summary.updated)

    def _write(self, rows: list[dict]) -> None:
        codes = [r["credit_code"] for r in rows]
        with transaction.atomic():
            existing = {e["credit_code"]: e for e in MarketEntity.objects.filter(credit_code__in=codes).values("id", *_COMPARED, "credit_code", "grid_id", "version", "entity_type")}
            new = [r for r in rows if r["credit_code"] not in existing]
            changed: list[tuple[dict, dict, dict]] = []
            for r in rows:
                old = existing.get(r["credit_code"])
                if old is None:
                    continue
                diff = {k: [_j(old[k]), _j(r[k])] for k in _COMPARED if _norm(old[k]) != _norm(r[k])}
                if diff:
                    changed.append((old, r, diff))
                else:
                    self.summary.unchanged += 1
            self._place(new + [r for _o, r, _d in changed])
            for old, r, diff in changed:  # a changed address or position may move the entity: its history says so
                if old["grid_id"] != r["grid_id"]:
                    diff["grid_id"] = [old["grid_id"], r["grid_id"]]
            self._touched_grids.update(r["grid_id"] for r in new if r["grid_id"])
            self._touched_grids.update(g for o, r, _d in changed for g in (o["grid_id"], r["grid_id"]) if g)
            if new:
                self._insert(new)
            if changed:
                self._update(changed)
            counts: Counter = Counter(tally.key_of(r) for r in new)
            for o, r, _d in changed:  # an update keeps the entity's type; status and division may move
                counts[tally.key_of(o)] -= 1
                counts[tally.key(r["division_code"], r["status"], o["entity_type"])] += 1
            tally.adjust(counts)
            self.summary.imported += len(new)
            self.summary.updated += len(changed)
            digest = hashlib.sha256("\n".join(sorted(f"{r['credit_code']}|{r['name']}|{r['division_code']}" for r in new + [c[1] for c in changed])).encode()).hexdigest()
            job_id = self.job.pk if self.job is not None else None
            trace.record(actor=self.actor, action="entity.imported", object_type="entities.importjob", object_id=str(job_id or ""),
                         after={"created": len(new), "updated": len(changed), "rows_sha256": digest})
            by_div: dict[str, list[str]] = {}
            for r in new:
                by_div.setdefault(r["division_code"][:6], []).append(r["credit_code"])
            updated_codes = [r["credit_code"] for _o, r, _d in changed]
            events.emit("entity.imported", payload={"job": job_id, "created": [c for v in by_div.values() for c in v], "updated": updated_codes,
                                                          "stock": self.stock},
                        division_code=common_division([r["division_code"] for r in rows]), object_type="entities.importjob", object_id=str(job_id or ""))

    def _place(self, rows: list[dict]) -> None:
        """Each row's grid (geo's rule): rows with a position in one vectorised call, the others by
        division code, each division looked up once per import."""
        with_xy = [r for r in rows if r.get("lng") is not None]
        for r, gid in zip(with_xy, placement.locate_many([(r["lng"], r["lat"], r["division_code"]) for r in with_xy])):
            r["grid_id"] = gid
        cache = self._grid_by_division
        for r in rows:
            if r.get("lng") is not None:
                continue
            d = r["division_code"]
            if d not in cache:
                cache[d] = placement.locate_id(None, None, d)
            r["grid_id"] = cache[d]

    def _insert(self, rows: list[dict]) -> None:
        cap = COLUMNS.index("capital")
        values = []
        for r in rows:
            v = list(_ROW(r))
            if v[cap] is not None:
                v[cap] = str(v[cap])
            values.append(v)
        insert_rows(MarketEntity._meta.db_table, values)

    def _update(self, changed) -> None:
        table = MarketEntity._meta.db_table
        sets = ", ".join(f"{c} = %s" for c in (*_COMPARED, "name_grams", "grid_id", "warning", "updated_at"))
        params = [
            (*(_db(r[c]) for c in _COMPARED), r["name_grams"], r.get("grid_id"), r["warning"], r["updated_at"], old["id"])
            for old, r, _d in changed
        ]
        with connection.cursor() as cur:
            cur.executemany(f"UPDATE {table} SET {sets}, version = version + 1 WHERE id = %s", params)
        EntityChange.objects.bulk_create(
            [EntityChange(entity_id=old["id"], kind=ChangeKind.IMPORTED, changed=diff, actor=self.actor,
                          note=_("导入任务 %(j)s") % {"j": self.job.pk if self.job else "CLI"}) for old, _r, diff in changed]
        )


def insert_rows(table: str, values: list[tuple], columns: tuple[str, ...] = COLUMNS) -> None:
    """The fastest plain insert each database offers: COPY on PostgreSQL, executemany on SQLite."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for v in values:
                    copy.write_row(v)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)


def _db(v):
    if isinstance(v, Decimal):
        return str(v)
    return v


def _norm(v):
    if isinstance(v, Decimal):
        return v.normalize()
    if v is None:
        return ""
    if isinstance(v, (float,)):
        return round(v, 7)
    return v


def _j(v):
    if isinstance(v, (Decimal, dt.date)):
        return str(v)
    return v


def error_report_csv(summary: Summary) -> bytes:
    """Row-level report a clerk opens in Excel (UTF-8 with BOM; a rejected value that looks like a
    formula is shown as text, never run)."""
    rows = [["行号", "统一社会信用代码", "列", "值", "问题", "级别"]]
    rows += [[e.row, e.credit_code, e.column, e.value, e.message, "错误（未导入）"] for e in sorted(summary.errors, key=lambda e: e.row)]
    rows += [[e.row, e.credit_code, e.column, e.value, e.message, "提示（已导入）"] for e in summary.warnings]
    return exports.csv_bytes(rows)
