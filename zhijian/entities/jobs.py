"""Running a queued bulk import (the worker's side of ``services.import_job_create``)."""
from __future__ import annotations

import re

from pathlib import Path

from django.utils.translation import gettext as _

from . import importer, parsing
from .models import ImportJob


def import_job_run(*, job_id: int):
    """Run one queued job (called by the worker). A job already finished is not run again."""
    claimed = ImportJob.objects.filter(pk=job_id, state__in=[ImportJob.State.QUEUED, ImportJob.State.RUNNING]).update(state=ImportJob.State.RUNNING)
    if not claimed:
        return
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        summary = importer.Importer(actor=job.created_by, dry_run=job.dry_run, job=job).run(Path(job.stored_path))
    except parsing.FileProblem as exc:
        ImportJob.objects.filter(pk=job_id).update(state=ImportJob.State.FAILED, message=str(exc))
        return
    except Exception as exc:  # keep the job's state honest; the worker logs the traceback
        # A person reads the job's message: a Python exception's English text is for the log only.
        message = str(exc) if re.search(r"[\u4e00-\u9fff]", str(exc)) else _("导入失败：系统内部错误，已记录，请联系系统管理员并查看导入结果。")
        ImportJob.objects.filter(pk=job_id).update(state=ImportJob.State.FAILED, message=message)
        raise
    errors = [e.__dict__ for e in summary.errors[:importer.MAX_KEPT_ERRORS]] + [dict(e.__dict__, warning=True) for e in summary.warnings]
    ImportJob.objects.filter(pk=job_id).update(
        state=ImportJob.State.DONE, total=summary.total, processed=summary.total, imported=summary.imported,
        updated=summary.updated, rejected=summary.rejected, warned=summary.warned, errors=errors,
        message=summary.line(),
    )
