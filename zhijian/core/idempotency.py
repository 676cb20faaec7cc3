"""Idempotency: the one mechanism for every replayable write.

A phone that lost its answer, a department system retrying a webhook-triggered call, a double
click: each sends the same **client key** again. The first call claims the key inside its own
transaction (one row in ``IdempotencyRecord``, unique per actor and key) and records what it
produced; a replay finds the row and answers with the stored result without writing again. Two
concurrent calls with one key: the second waits on the unique index until the first commits and
then sees it as a replay (PostgreSQL), or is serialised by SQLite's write lock. If the first
call's transaction rolls back, its claim disappears with it, so a retry runs again.

Use it through :func:`claim` inside a transaction::

    c = idempotency.claim(key=key, actor=user, operation="push.finish")
    if c.replayed:
        return c.record.response  # or re-read c.record.object_id
    ...do the work...
    c.done(object_type="coordination.pushitem", object_id=item.pk, response={...}, status=200)

:func:`Procedure.move <zhijian.core.workflow.Procedure.move>` takes ``client_key=`` and does this
itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .errors import ApplicationError
from .models import IdempotencyRecord

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


class KeyConflict(ApplicationError):
    """The key was already used for a different operation or object."""

    status = 409

    def __init__(self, message):
        super().__init__(message, code="idempotency_conflict")


def check_key(key: str) -> str:
    key = (key or "").strip()
    if not KEY_PATTERN.match(key):
        raise ApplicationError(_("客户端编号须为 8–64 位字母、数字或 _.:-"), code="bad_client_key", extra={"client_key": [_("格式不正确")]})
    return key


@dataclass
class Claim:
    record: object
    replayed: bool

    def done(self, *, object_type: str = "", object_id=None, response=None, status: int | None = None) -> None:
        if self.replayed:
            return
        rec = self.record
        rec.object_type = object_type or rec.object_type
        rec.object_id = str(object_id) if object_id is not None else rec.object_id
        if response is not None:
            rec.response = response
        if status is not None:
            rec.status = status
        rec.save(update_fields=["object_type", "object_id", "response", "status"])


def _actor_id(actor) -> int:
    """The system (no actor) has its own key space, 0."""
    return (getattr(actor, "pk", None) or 0) if actor is not None else 0


def claim(*, key: str, actor, operation: str) -> Claim:
    """Claim ``key`` for ``actor`` and ``operation`` in the caller's transaction, or find the
    earlier claim (a replay). A key reused for another operation is refused."""

    key = check_key(key)
    actor_id = _actor_id(actor)
    lookup = {"actor_id": actor_id, "key": key}
    existing = IdempotencyRecord.objects.filter(**lookup).first()
    if existing is None:
        try:
            with transaction.atomic():  # savepoint: a lost race leaves the caller's transaction usable
                rec = IdempotencyRecord.objects.create(**lookup, operation=operation[:80])
            return Claim(rec, False)
        except IntegrityError:
            existing = IdempotencyRecord.objects.get(**lookup)
    if existing.operation != operation[:80]:
        raise KeyConflict(_("该客户端编号已用于其他操作"))
    return Claim(existing, True)


def lookup(*, key: str, actor, operation: str):
    """The earlier record for ``key`` (or None) without claiming it."""

    rec = IdempotencyRecord.objects.filter(actor_id=_actor_id(actor), key=(key or "").strip()).first()
    if rec is not None and rec.operation != operation[:80]:
        raise KeyConflict(_("该客户端编号已用于其他操作"))
    return rec
