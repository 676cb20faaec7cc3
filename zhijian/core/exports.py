"""One way to export: safe cells, and large exports as background jobs with progress and a link.

Every spreadsheet or CSV the platform writes goes through ``cell``/``row``: a text cell that a
spreadsheet would read as a formula (starting with ``= + - @``, a tab or a carriage return) gets a
leading apostrophe (OWASP, "CSV injection"), and control characters that .xlsx cannot hold (and
openpyxl refuses: one address ending in ``\\x15`` used to break a district's whole export) are
removed.

Large exports run on the task queue (``zhijian.core.tasks.run_export``) as an ``ExportJob``:

    @exporter("entities", title=_("市场主体"))
    def entity_rows(user, params) -> Rows: ...   # headers, a total (or None) and the row iterator

    job = exports.start(user=request.user, kind="entities", params={...})
    return redirect(job_url(job))                # a page that shows progress, then the download link

The rows function runs in the worker with the requesting user, so the export sees exactly what its
requester may see (``.scoped(user)``). The file is written streaming (openpyxl write-only or the csv
module) to ``var/exports``; only its requester can download it, until ``EXPIRY`` has passed.
Higher apps register their exporters in their AppConfig.ready() (a registry in this lower layer).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Iterator

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from openpyxl import Workbook

from .models import ExportJob
from .tasks import run_export

EXPIRY = dt.timedelta(hours=24)
PROGRESS_EVERY = 2000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What openpyxl refuses in a cell (XML 1.0 forbids these code points): removed.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A text starting with one of these is read as a formula by Excel, WPS or LibreOffice.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """One value as a spreadsheet/CSV cell: text neutralised and cleaned, other types as they are."""
    if value is None or isinstance(value, (bool, int, float, Decimal, dt.date, dt.datetime)):
        return value
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, default=str)
    elif not isinstance(value, str):
        value = str(value)  # lazy translations, choices' labels, model instances
    value = ILLEGAL.sub("", value)
    if value.startswith(FORMULA_START):
        value = "'" + value
    return value


def row(values: Iterable) -> list:
    return [cell(v) for v in values]


def xlsx_bytes(sheet: str, rows: Iterable[Iterable]) -> bytes:
    """A small workbook built in memory (write-only: constant memory per row)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(sheet))
    for r in rows:
        ws.append(row(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: Iterable[Iterable]) -> bytes:
    """A small CSV in memory, UTF-8 with BOM (Excel opens it as UTF-8)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    for r in rows:
        w.writerow(row(r))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


class _Echo:
    def write(self, value):
        return value


def csv_lines(rows: Iterable[Iterable], *, bom: bool = True) -> Iterator[str]:
    """CSV text line by line, for a ``StreamingHttpResponse``."""
    w = csv.writer(_Echo())
    first = True
    for r in rows:
        line = w.writerow(row(r))
        yield ("\ufeff" + line) if first and bom else line
        first = False


def _sheet_title(title: str) -> str:
    return re.sub(r"[\\/*?:\[\]]", "-", str(title).replace("·", "-"))[:31] or "Sheet1"


# --- background export jobs ------------------------------------------------------------------

@dataclass
class Rows:
    headers: list
    total: int | None
    rows: Iterable[Iterable]


@dataclass
class Exporter:
    kind: str
    title: object            # lazy text: the file's and the sheet's name
    func: Callable[..., Rows]
    fmt: str = "xlsx"


EXPORTERS: dict[str, Exporter] = {}


def exporter(kind: str, *, title, fmt: str = "xlsx"):
    """Register ``func(user, params) -> Rows`` as the export ``kind``."""
    def decorator(func):
        EXPORTERS[kind] = Exporter(kind=kind, title=title, func=func, fmt=fmt)
        return func
    return decorator


def export_dir() -> Path:
    d = Path(settings.VAR_DIR) / "exports"
    d.mkdir(parents=True, exist_ok=True)
    return d


def start(*, user, kind: str, params: dict | None = None, fmt: str | None = None) -> ExportJob:
    """Queue an export for ``user``; the worker writes it (``run``)."""
    ex = EXPORTERS[kind]
    fmt = fmt if fmt in ("xlsx", "csv") else ex.fmt
    purge_expired()
    job = ExportJob.objects.create(kind=kind, title=str(ex.title)[:200], params=params or {}, fmt=fmt, created_by=user)
    transaction.on_commit(lambda: run_export.enqueue(job.pk))
    return job


def run(job_id: int) -> None:
    """Write one queued export (the worker's side). A job already finished is not run again."""
    claimed = ExportJob.objects.filter(pk=job_id, state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING]).update(
        state=ExportJob.State.RUNNING)
    if not claimed:
        return
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    ex = EXPORTERS.get(job.kind)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"{job.pk}-{secrets.token_hex(8)}.{job.fmt}"
    target = export_dir() / name
    try:
        if ex is None:
            raise LookupError(job.kind)
        data = ex.func(job.created_by, job.params)
        ExportJob.objects.filter(pk=job.pk).update(total=data.total or 0)
        done = _write(target, job.fmt, str(ex.title), data, lambda n: ExportJob.objects.filter(pk=job.pk).update(
            processed=n, total=max(n, data.total or 0)))
    except Exception as exc:  # keep the job's state honest; the worker logs the traceback
        target.unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.FAILED, message=_("导出失败：%(e)s") % {"e": exc},
                                                   finished_at=timezone.now())
        raise
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.DONE, processed=done, total=done, stored_name=name, size=target.stat().st_size,
        filename=f"{ex.title}-{stamp}.{job.fmt}", finished_at=now, expires_at=now + EXPIRY)


def _write(target: Path, fmt: str, title: str, data: Rows, progress) -> int:
    n = 0
    if fmt == "csv":
        with open(target, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(row(data.headers))
            for r in data.rows:
                w.writerow(row(r))
                n += 1
                if n % PROGRESS_EVERY == 0:
                    progress(n)
        return n
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(title))
    ws.append(row(data.headers))
    for r in data.rows:
        ws.append(row(r))
        n += 1
        if n % PROGRESS_EVERY == 0:
            progress(n)
    wb.save(target)
    return n


def purge_expired(now=None) -> int:
    """Delete the files of expired exports and mark them so."""
    now = now or timezone.now()
    gone = 0
    for job in ExportJob.objects.filter(state=ExportJob.State.DONE, expires_at__lt=now).only("id", "stored_name"):
        if job.stored_name:
            (export_dir() / job.stored_name).unlink(missing_ok=True)
        gone += ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.EXPIRED, stored_name="")
    return gone


def job_url(job: ExportJob) -> str:
    return reverse("exports:job", args=[job.pk])


def _own(request, pk: int) -> ExportJob:
    """The job, only for the person who asked for it (everyone else: not found)."""
    return get_object_or_404(ExportJob, pk=pk, created_by=request.user)


@login_required
def job_view(request, pk: int):
    job = _own(request, pk)
    expired = job.state == ExportJob.State.EXPIRED or (job.expires_at is not None and job.expires_at < timezone.now())
    ctx = {"job": job, "expired": expired}
    if request.headers.get("HX-Request"):
        return render(request, "exports/_job_status.html", ctx)
    ctx["jobs"] = ExportJob.objects.filter(created_by=request.user).exclude(pk=job.pk)[:10]
    return render(request, "exports/job.html", ctx)


@login_required
def job_list(request):
    return render(request, "exports/list.html", {"jobs": ExportJob.objects.filter(created_by=request.user)[:50], "now": timezone.now()})


@login_required
def job_download(request, pk: int):
    job = _own(request, pk)
    if job.state != ExportJob.State.DONE or not job.stored_name or (job.expires_at and job.expires_at < timezone.now()):
        raise Http404(_("导出文件不存在或已过期"))
    f = export_dir() / job.stored_name
    if not f.exists():
        raise Http404(_("导出文件不存在或已过期"))
    content_type = XLSX_TYPE if job.fmt == "xlsx" else "text/csv; charset=utf-8"
    return FileResponse(open(f, "rb"), as_attachment=True, filename=job.filename, content_type=content_type)


app_name = "exports"
urlpatterns = [
    path("", job_list, name="list"),
    path("<int:pk>/", job_view, name="job"),
    path("<int:pk>/download/", job_download, name="download"),
]
