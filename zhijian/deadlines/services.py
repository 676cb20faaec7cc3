"""Writes: holiday and rule loading, document numbers, sweep leases."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core.errors import ApplicationError

from .choices import DEFAULT_NUMBER_FORMAT, DOC_TYPE_CODES, DOC_TYPE_FORMATS, DocType, HolidaySource, SweepStatus
from .models import DeadlineRule, DocumentSequence, Holiday, SweepLease
from .workdays import invalidate_cache

# --- holidays ------------------------------------------------------------------------------------


def holidays_dir() -> Path:
    return Path(settings.DATA_DIR) / "holidays"


def read_holiday_files(directory: Path | None = None) -> list[dict]:
    """The day entries of every ``YYYY.json`` (holiday-cn format) in ``directory``."""
    directory = Path(directory or holidays_dir())
    entries = []
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9].json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        paper = (data.get("papers") or [""])[0]
        for day in data.get("days", []):
            entries.append(
                {"date": dt.date.fromisoformat(day["date"]), "is_off_day": bool(day["isOffDay"]), "name": day["name"], "year": int(data["year"]), "note": paper[:200]}
            )
    return entries


@transaction.atomic
def load_holidays(*, directory: Path | None = None, model=Holiday) -> dict[str, int]:
    """Load the holiday files into the table. Idempotent.

    Rows that came from the files (source holiday-cn) are created or brought up to date; a row an
    administrator entered for the same date (any other source) wins and is left alone.
    ``model`` lets the data migration pass its historical model.
    """
    counts = {"created": 0, "updated": 0, "unchanged": 0, "kept_admin": 0}
    existing = {h.date: h for h in model.objects.all()}
    new = []
    for e in read_holiday_files(directory):
        row = existing.get(e["date"])
        if row is None:
            new.append(model(source=HolidaySource.HOLIDAY_CN, **e))
            existing[e["date"]] = new[-1]
            counts["created"] += 1
        elif row.source != HolidaySource.HOLIDAY_CN:
            counts["kept_admin"] += 1
        elif row.pk and any(getattr(row, k) != v for k, v in e.items()):
            for k, v in e.items():
                setattr(row, k, v)
            row.save()
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    model.objects.bulk_create(new, batch_size=500)
    invalidate_cache()
    transaction.on_commit(invalidate_cache)
    return counts


# --- deadline rules ------------------------------------------------------------------------------


@transaction.atomic
def load_deadline_rules(*, update: bool = False, model=DeadlineRule) -> dict[str, int]:
    """Create the seed rules that are missing (by code and version). Idempotent.

    Existing rows are an administrator's to edit and are left alone unless ``update`` is true.
    """
    from .seed_rules import RULES

    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for seed in RULES:
        fields = {k: v for k, v in seed.items() if k not in ("code", "version")}
        row = model.objects.filter(code=seed["code"], version=seed["version"]).first()
        if row is None:
            model.objects.create(code=seed["code"], version=seed["version"], **fields)
            counts["created"] += 1
        elif update and any(getattr(row, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(row, k, v)
            row.save()
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts


# --- document numbers ----------------------------------------------------------------------------


def format_number(*, bureau, doc_type: str, year: int, n: int) -> str:
    """``莞市监罚〔2026〕12号``: the bureau's 机关代字, the type's 代字, the year in 〔〕, the number."""
    template = DOC_TYPE_FORMATS.get(doc_type, DEFAULT_NUMBER_FORMAT)
    return template.format(org=bureau.short_name, code=DOC_TYPE_CODES[doc_type], year=year, n=n)


@transaction.atomic
def next_number(*, bureau, doc_type: str, year: int | None = None) -> tuple[int, str]:
    """Allocate the next number of ``doc_type`` for ``bureau`` in ``year`` (default: this year).

    Gap-free and safe under concurrency: the sequence row is locked (``SELECT … FOR UPDATE`` on
    PostgreSQL; on SQLite the IMMEDIATE transaction already holds the database write lock) until
    the caller's transaction ends, so call this inside the transaction that stores the document:
    if that transaction rolls back, the number is not used up.
    """
    if doc_type not in DocType.values:
        raise ApplicationError(_("未知的文书类型：%(type)s") % {"type": doc_type}, code="unknown_doc_type")
    if not bureau.short_name:
        raise ApplicationError(_("机构“%(name)s”未设置机关代字（简称），无法编号") % {"name": bureau.name}, code="no_short_name")
    year = year or timezone.localdate().year
    key = {"bureau": bureau, "doc_type": doc_type, "year": year}
    locked = DocumentSequence.objects.select_for_update()
    seq = locked.filter(**key).first()
    if seq is None:
        try:
            with transaction.atomic():  # savepoint: a lost creation race leaves the outer transaction usable
                seq = DocumentSequence.objects.create(**key, last_number=0)
        except IntegrityError:
            # Another transaction created the row first (PostgreSQL waited for it to commit).
            seq = locked.get(**key)
    seq.last_number = F("last_number") + 1
    seq.save(update_fields=["last_number"])
    seq.refresh_from_db(fields=["last_number"])
    n = seq.last_number
    return n, format_number(bureau=bureau, doc_type=doc_type, year=year, n=n)


# --- sweep leases --------------------------------------------------------------------------------


def _ensure_lease_row(name: str) -> None:
    SweepLease.objects.bulk_create([SweepLease(name=name)], ignore_conflicts=True)


def acquire_lease(*, name: str, holder: str, ttl: dt.timedelta, due_only: bool = False, now: dt.datetime | None = None) -> bool:
    """Take the lease of sweep ``name`` for ``holder``; True if taken.

    One conditional ``UPDATE … WHERE expires_at IS NULL OR expires_at <= now``: of any number of
    concurrent attempts exactly one matches the row. An expired lease (a crashed holder) is taken
    over. With ``due_only`` the sweep must also be due (``next_run_at`` passed), so two schedulers
    do not run the same sweep twice in one period.
    """
    now = now or timezone.now()
    _ensure_lease_row(name)
    free = Q(expires_at__isnull=True) | Q(expires_at__lte=now)
    if due_only:
        free &= Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    with transaction.atomic():
        won = SweepLease.objects.filter(free, name=name).update(
            holder=holder, expires_at=now + ttl, last_started_at=now, last_status=SweepStatus.RUNNING
        )
    return won == 1


def release_lease(
    *, name: str, holder: str, status: str = SweepStatus.OK, message: str = "", next_run_at: dt.datetime | None = None
) -> bool:
    """Record the run's outcome and free the lease, only if ``holder`` still holds it."""
    now = timezone.now()
    fields = {
        "holder": "",
        "expires_at": None,
        "last_finished_at": now,
        "last_status": status,
        "last_message": message[:4000],
        "run_count": F("run_count") + 1,
    }
    if next_run_at is not None:
        fields["next_run_at"] = next_run_at
    with transaction.atomic():
        return SweepLease.objects.filter(name=name, holder=holder).update(**fields) == 1
