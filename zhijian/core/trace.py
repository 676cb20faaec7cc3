"""Trace ledger (监管留痕): an append-only, hash-chained record of every state change.

``record(actor=, action=, obj=, before=, after=)`` appends one ``TraceEntry`` in the caller's
transaction: if the service rolls back, so does its entry.

Chains. The ledger is many short chains, not one. An entry goes to chain
``"<first 4 digits of its division code>:<shard>"`` where ``shard = crc32(object_type:object_id)
% TRACE_SHARDS`` (default 8), e.g. ``4419:3``; entries without a division go to ``00:<shard>``.
- One chain for the whole province would make its head row the hottest row in the system:
  every write in every bureau would queue on it. Per-city prefixes keep bureaus apart, and the
  shards keep one busy city from queueing on itself.
- All entries of one object land on the same chain (the shard comes from the object), so an
  object's history is one unbroken, totally ordered run inside one chain.
- A city's ledger can be verified (and archived) alone: its chains are named by its prefix.
Changing TRACE_SHARDS is safe for verification (every entry records its chain) but moves new
entries of existing objects to another chain; pick it once.

Each entry's ``hash`` is SHA-256 over the canonical JSON of its own fields plus ``prev_hash``
(the previous entry's hash in the same chain) and ``seq`` (1, 2, 3 … without gaps). The chain
head row (``TraceChain``) holds the last seq and hash and is locked with SELECT … FOR UPDATE for
the append, so two transactions never append to one chain at once (on SQLite the database write
lock already serialises them). ``verify()`` recomputes every hash and checks every link, the seq
sequence and the head: an edited entry, a deleted one, an inserted one or a cut tail is found and
named.
"""
from __future__ import annotations

import hashlib
import zlib
from datetime import timezone as dt_timezone
from dataclasses import dataclass, field

from django.apps import apps as django_apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy as _

from .signing import canonical_json, digest
from .models import TraceChain, TraceEntry
from . import signing

# The fields an entry's hash covers, in the order they are shown when something mismatches.
HASHED_FIELDS = (
    "chain", "seq", "occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id",
    "division_code", "before_digest", "after_digest", "prev_hash",
)


# --- what an action is called ------------------------------------------------------------------------------
# Action codes (``grid.assign``, ``draw.executed`` …) are for machines; people read these labels.
# Procedures register theirs (``<trace_action>.<action>`` → "<noun>：<action label>") when declared;
# the apps register the other actions they record in their AppConfig.ready().
ACTION_LABELS: dict[str, object] = {}
OBJECT_TYPE_LABELS: dict[str, object] = {}


def register_action_labels(labels: dict) -> None:
    ACTION_LABELS.update({str(k): v for k, v in labels.items()})


def register_object_type_labels(labels: dict) -> None:
    OBJECT_TYPE_LABELS.update({str(k): v for k, v in labels.items()})


def register_procedure_labels(*, trace_action: str, name: str, noun, actions) -> None:
    """A procedure's actions as the ledger names them (called by ``workflow.Procedure``)."""
    register_action_labels({f"{trace_action}.{a.value}": format_lazy("{}：{}", noun, a.label) for a in actions})
    OBJECT_TYPE_LABELS.setdefault(name, noun)


def action_label(code: str) -> str:
    """The Chinese (or active language's) label of a trace action; never the code itself."""
    label = ACTION_LABELS.get(str(code))
    return str(label) if label is not None else gettext("其他操作")


def object_type_label(object_type: str) -> str:
    """What kind of record an entry is about: a registered label, else the model's verbose name."""
    label = OBJECT_TYPE_LABELS.get(object_type)
    if label is not None:
        return str(label)
    try:
        return str(django_apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return gettext("其他记录")


register_action_labels({
    "event.replayed": _("重新分发事件"),
    "delivery.replayed": _("重新投递"),
})


def chain_for(division_code: str, object_type: str, object_id: str) -> str:
    shards = max(1, int(getattr(settings, "TRACE_SHARDS", 8)))
    shard = zlib.crc32(f"{object_type}:{object_id}".encode()) % shards
    return f"{(division_code or '')[:4] or '00'}:{shard}"


def entry_body(entry) -> dict:
    body = {name: getattr(entry, name) for name in HASHED_FIELDS}
    # Microseconds kept: the timestamp is hashed exactly as stored.
    body["occurred_at"] = entry.occurred_at.astimezone(dt_timezone.utc).isoformat()
    return body


def entry_hash(entry) -> str:
    return hashlib.sha256(canonical_json(entry_body(entry))).hexdigest()


def signed_body(entry) -> dict:
    return {**entry_body(entry), "hash": entry.hash}


def _division_of(obj) -> str:
    path = getattr(obj, "scope_field", "") or "division_code"
    value = obj
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return ""
    return str(value)


def _actor(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor[:150]
    label = getattr(actor, "username", "") or str(actor)
    return getattr(actor, "pk", None), label[:150]


def record(
    *,
    actor,
    action: str,
    obj=None,
    before: dict | None = None,
    after: dict | None = None,
    object_type: str = "",
    object_id: str = "",
    division_code: str = "",
    sign: bool = False,
):
    """Append one entry. ``actor`` is a user, a label such as ``"import:job-12"``, or ``None``
    (the system). ``obj`` fills object type/id/division unless they are given. With ``sign=True``
    the entry also carries an Ed25519 signature over its canonical JSON."""

    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        division_code = division_code or _division_of(obj)
    actor_id, actor_label = _actor(actor)
    name = chain_for(division_code, object_type, str(object_id))
    with transaction.atomic():
        # Insert-if-missing, then lock: safe when two transactions open a new chain together.
        TraceChain.objects.bulk_create([TraceChain(name=name)], ignore_conflicts=True)
        head = TraceChain.objects.select_for_update().get(name=name)
        entry = TraceEntry(
            chain=name,
            seq=head.head_seq + 1,
            occurred_at=timezone.now(),
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            division_code=division_code or "",
            before_digest=digest(before),
            after_digest=digest(after),
            prev_hash=head.head_hash,
        )
        entry.hash = entry_hash(entry)
        if sign:

            signed = signing.sign(signed_body(entry))
            entry.kid, entry.signature = signed["kid"], signed["sig"]
        entry.save(force_insert=True)
        TraceChain.objects.filter(pk=head.pk).update(head_seq=entry.seq, head_hash=entry.hash, updated_at=timezone.now())
    return entry


def lock_chains_in_order(names) -> None:
    """Take the chain heads ``names`` in sorted order (creating missing ones first).

    Hot locks in one transaction are always taken number sequences first, then chain heads in name
    order; a transaction that appends to several chains calls this (or :func:`record_many`) before
    its first append, so two such transactions never wait on each other in a cycle.
    """

    names = sorted(set(names))
    if len(names) < 2:
        return
    TraceChain.objects.bulk_create([TraceChain(name=n) for n in names], ignore_conflicts=True)
    list(TraceChain.objects.select_for_update().filter(name__in=names).order_by("name").values_list("name", flat=True))


def record_many(actor, entries: list[dict]) -> list:
    """Append several entries (each a dict of :func:`record` keyword arguments, ``actor`` optional
    per entry) with their chain heads taken in name order; entries of one chain keep their order."""
    if not entries:
        return []

    def name(e):
        obj = e.get("obj")
        ot = e.get("object_type") or (obj._meta.label_lower if obj is not None else "")
        oid = e.get("object_id") or (str(obj.pk) if obj is not None else "")
        div = e.get("division_code") or (_division_of(obj) if obj is not None else "")
        return chain_for(div, ot, str(oid))

    named = sorted(((name(e), i, e) for i, e in enumerate(entries)), key=lambda x: (x[0], x[1]))
    lock_chains_in_order([n for n, _i, _e in named])
    out = []
    for _n, _i, e in named:
        e = dict(e)
        out.append(record(actor=e.pop("actor", actor), **e))
    return out


@dataclass
class Break:
    entry_id: int | None
    chain: str
    seq: int | None
    problem: str

    def __str__(self):
        where = f"entry id={self.entry_id}" if self.entry_id is not None else "chain head"
        return f"{where} chain={self.chain} seq={self.seq}: {self.problem}"


@dataclass
class Report:
    checked: int = 0
    chains: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "chains": self.chains,
            "first_break": vars(self.breaks[0]) if self.breaks else None,
            "breaks": [vars(b) for b in self.breaks[:100]],
        }


def _check_entry(entry, prev, chain: str, breaks: list[Break], check_signatures: bool) -> None:
    expected_seq = (prev.seq + 1) if prev else 1
    expected_prev = prev.hash if prev else ""
    if entry.seq != expected_seq:
        if entry.seq > expected_seq:
            missing = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}..{entry.seq - 1}"
            breaks.append(Break(entry.id, chain, entry.seq, f"seq gap: entries seq {missing} are missing (deleted?)"))
        else:
            breaks.append(Break(entry.id, chain, entry.seq, f"seq out of order: expected {expected_seq}"))
    if entry.prev_hash != expected_prev:
        breaks.append(Break(entry.id, chain, entry.seq, f"prev_hash mismatch: stored {entry.prev_hash[:12]}…, previous entry's hash is {expected_prev[:12]}…"))
    actual = entry_hash(entry)
    if actual != entry.hash:
        breaks.append(Break(entry.id, chain, entry.seq, f"hash mismatch: the entry's content was altered (stored {entry.hash[:12]}…, computed {actual[:12]}…)"))
    if check_signatures and entry.signature:

        if not signing.verify(signed_body(entry), entry.kid, entry.signature):
            breaks.append(Break(entry.id, chain, entry.seq, f"signature invalid (kid {entry.kid})"))


def verify(*, chains: list[str] | None = None, check_signatures: bool = True, stop_at_first: bool = False, batch: int = 5000) -> Report:
    """Walk every chain (or the named ones) in seq order; report each break, first one first."""

    report = Report()
    names = set(TraceChain.objects.values_list("name", flat=True))
    names |= set(TraceEntry.objects.values_list("chain", flat=True).distinct())
    if chains is not None:
        names &= set(chains)
    heads = dict(TraceChain.objects.filter(name__in=names).values_list("name", "head_hash"))
    for name in sorted(names):
        report.chains += 1
        prev = None
        after = 0
        # Keyset pagination on seq keeps memory flat on a long chain.
        while True:
            rows = list(TraceEntry.objects.filter(chain=name, seq__gt=after).order_by("seq")[:batch])
            for entry in rows:
                report.checked += 1
                _check_entry(entry, prev, name, report.breaks, check_signatures)
                prev = entry
                if stop_at_first and report.breaks:
                    return report
            if len(rows) < batch:
                break
            after = rows[-1].seq
        head_hash = heads.get(name)
        if head_hash is None:
            report.breaks.append(Break(None, name, prev.seq if prev else None, "chain head row is missing"))
        elif head_hash != (prev.hash if prev else ""):
            report.breaks.append(
                Break(None, name, prev.seq if prev else None, "chain head does not match the last entry (entries cut from the end, or head edited)")
            )
        if stop_at_first and report.breaks:
            return report
    return report
