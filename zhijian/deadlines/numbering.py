"""Numbers: every document and record number comes from here (``DocumentSequence``).

One row per (bureau, type, year) holds the last number given. ``next_number`` and
``next_numbers`` lock that row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the IMMEDIATE
transaction already holds the database write lock) and raise it in the caller's transaction, so:

* numbers are **gap-free**: if the caller's transaction rolls back, so does the increment, and
  the next caller gets the same number again;
* numbers are **unique under concurrency**: a second caller waits for the first to commit;
* a batch (``next_numbers(count=500)``) takes the lock once and gets a consecutive run.

Formats are data (``choices.DOC_TYPE_CODES`` / ``DOC_TYPE_FORMATS``); see docs/deadlines.md.
A record that has no bureau of its own (a task or a clue filed against a division) is numbered
under the bureau responsible for its division: :func:`bureau_for_division`.
"""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core.errors import ApplicationError

from .choices import DEFAULT_NUMBER_FORMAT, DOC_TYPE_CODES, DOC_TYPE_FORMATS, DocType
from .models import DocumentSequence

__all__ = ["bureau_for_division", "format_number", "next_number", "next_numbers"]


def format_number(*, bureau, doc_type: str, year: int, n: int) -> str:
    """``莞市监罚〔2026〕12号``: the bureau's 机关代字, the type's 代字, the year in 〔〕, the number."""
    template = DOC_TYPE_FORMATS.get(doc_type, DEFAULT_NUMBER_FORMAT)
    return template.format(org=bureau.short_name, code=DOC_TYPE_CODES[doc_type], year=year, n=n)


def _check(bureau, doc_type: str) -> None:
    if doc_type not in DocType.values:
        raise ApplicationError(_("未知的文书类型：%(type)s") % {"type": doc_type}, code="unknown_doc_type")
    if bureau is None:
        raise ApplicationError(_("没有责任机构，无法编号"), code="no_bureau")
    if not bureau.short_name:
        raise ApplicationError(_("机构“%(name)s”未设置机关代字（简称），无法编号") % {"name": bureau.name}, code="no_short_name")


def _allocate(bureau, doc_type: str, year: int, count: int) -> int:
    """Raise the sequence by ``count`` under its row lock; the first number of the run."""
    key = {"bureau": bureau, "doc_type": doc_type, "year": year}
    # No ordering: Meta.ordering by bureau would join (and lock) the bureau row too, which deadlocks
    # against any insert that references the bureau.
    locked = DocumentSequence.objects.select_for_update(of=("self",)).order_by()
    seq = locked.filter(**key).first()
    if seq is None:
        try:
            with transaction.atomic():  # savepoint: a lost creation race leaves the outer transaction usable
                seq = DocumentSequence.objects.create(**key, last_number=0)
        except IntegrityError:
            # Another transaction created the row first (PostgreSQL waited for it to commit).
            seq = locked.get(**key)
    seq.last_number = F("last_number") + count
    seq.save(update_fields=["last_number"])
    seq.refresh_from_db(fields=["last_number"])
    return seq.last_number - count + 1


@transaction.atomic
def next_number(*, bureau, doc_type: str, year: int | None = None) -> tuple[int, str]:
    """Allocate the next number of ``doc_type`` for ``bureau`` in ``year`` (default: this year).

    Call it inside the transaction that stores the document: if that transaction rolls back, the
    number is not used up. Returns ``(n, text)``.
    """
    _check(bureau, doc_type)
    year = year or timezone.localdate().year
    n = _allocate(bureau, doc_type, year, 1)
    return n, format_number(bureau=bureau, doc_type=doc_type, year=year, n=n)


@transaction.atomic
def next_numbers(*, bureau, doc_type: str, count: int, year: int | None = None) -> list[str]:
    """``count`` consecutive numbers of ``doc_type`` for ``bureau`` in ``year``, one lock, gap-free."""
    if count <= 0:
        return []
    _check(bureau, doc_type)
    year = year or timezone.localdate().year
    first = _allocate(bureau, doc_type, year, count)
    return [format_number(bureau=bureau, doc_type=doc_type, year=year, n=n) for n in range(first, first + count)]


def bureau_for_division(division_code: str, *, level: str | None = None):
    """The most specific bureau whose jurisdiction covers ``division_code`` (optionally of one
    ``level``), or None.

    The bureau tree belongs to ``org``, which sits above this app: the model is reached through
    ``DocumentSequence.bureau`` (the relation this app already has) rather than by importing org.
    The same lookup is ``grid.services.responsible_bureau``; it belongs in org (see the report).
    """
    bureau_model = DocumentSequence._meta.get_field("bureau").related_model
    qs = bureau_model.objects.all()
    if level:
        qs = qs.filter(level=level)
    best, best_len = None, -1
    code = division_code or ""
    for b in qs.only("id", "jurisdiction", "level", "division_code", "name", "short_name").order_by("id"):
        for p in b.jurisdiction_prefixes():
            if code.startswith(p) and len(p) > best_len:
                best, best_len = b, len(p)
    return best
