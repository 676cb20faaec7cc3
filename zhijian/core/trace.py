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

A chain is only consistent with itself: whoever writes to the database can also re-hash an edited
chain and its head, cut a tail and wind the head back, or delete a chain with its head row. So the
heads are checkpointed, signed, outside the database (``anchor``), and ``verify()`` also holds every
chain against the latest checkpoints: the chain must exist, reach the checkpointed seq and carry the
checkpointed hash there. Rows are read as stored (no converters): a malformed value is a named
break, not an exception. Threat model: docs/security.md.
"""
from __future__ import annotations

import hashlib
import os
import re
import zlib
from datetime import timezone as dt_timezone
from dataclasses import dataclass, field

from django.apps import apps as django_apps
from django.conf import settings
from django.db import transaction
from django.db.models import Max, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy as _

from .signing import canonical_json, digest
from .models import SigningKey, TraceAnchorLine, TraceChain, TraceEntry
from . import anchor, signing

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
    anchor.EVENT_TYPE: _("留痕链检查点"),  # an event type (webhooks), labelled like the trace actions
})
register_object_type_labels({"core.traceanchorline": _("留痕锚定记录")})


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


# --- verification ------------------------------------------------------------------------------------------
# Each kind of damage: (English for the operator's command, Chinese for people — the API, pages).
PROBLEMS = {
    "seq_gap": ("seq gap: entries seq {missing} are missing (deleted?)", _("序号缺号：第 %(missing)s 条记录缺失（被删除？）")),
    "seq_order": ("seq out of order: expected {expected}", _("序号错乱：此处应为第 %(expected)s 条")),
    "prev_hash": ("prev_hash mismatch: stored {stored}…, previous entry's hash is {expected}…",
                  _("与前一条记录的链接断开（记录被删除、插入或调换）")),
    "hash": ("hash mismatch: the entry's content was altered (stored {stored}…, computed {computed}…)", _("哈希不符：记录内容被改动")),
    "malformed": ("malformed row: cannot read {fields} ({values})", _("记录格式损坏，无法读取：%(fields)s")),
    "signature": ("signature invalid (kid {kid})", _("签名无效（密钥 %(kid)s）")),
    "head_missing": ("chain head row is missing", _("链头记录缺失")),
    "head_mismatch": ("chain head does not match the last entry (entries cut from the end, or head edited)",
                      _("链头与最后一条记录不符（末尾记录被截去，或链头被改）")),
    "checkpoint_hash": ("hash differs from checkpoint n={n} of {source}: stored {stored}…, checkpointed {expected}… "
                        "(this entry or one before it was edited and the chain re-hashed)",
                        _("与第 %(n)s 号检查点记录的哈希不符：这条或之前的记录被改动后重算了哈希")),
    "checkpoint_missing": ("entry seq {seq} recorded by checkpoint n={n} of {source} is missing",
                           _("第 %(n)s 号检查点记录的第 %(seq)s 条已不存在")),
    "checkpoint_behind": ("chain ends at seq {last} but checkpoint n={n} of {source} recorded it up to seq {cp_seq}: entries {missing} "
                          "are gone (tail cut and head wound back, or the database restored from an older copy)",
                          _("链只到第 %(last)s 条，而第 %(n)s 号检查点已记录到第 %(cp_seq)s 条：末尾记录缺失（截去末尾并回拨链头，或数据库被恢复到较早的副本）")),
    "chain_missing": ("chain is missing from the database (deleted with its head row?); checkpoint n={n} of {source} recorded it "
                      "up to seq {seq}", _("整条链已从数据库中消失（连同链头被删除？），而第 %(n)s 号检查点记录其到第 %(seq)s 条")),
    "key_mismatch": ("signing key {kid} in the database has another public key than the anchor pins (key replaced in the database)",
                     _("数据库中签名密钥 %(kid)s 的公钥与锚定文件登记的不同（密钥在数据库中被替换）")),
    "anchor_unreadable": ("anchor file {source} cannot be read: {error}", _("锚定文件无法读取")),
    "anchor_not_found": ("anchor file {source} does not exist", _("锚定文件不存在")),
    "anchor_bad_line": ("anchor file {source} line {line}: not a valid anchor line", _("锚定文件第 %(line)s 行不是有效的锚定记录")),
    "anchor_key_signature": ("anchor file {source} line {line}: the first key {kid} is not signed by itself",
                             _("锚定文件第 %(line)s 行：首个密钥 %(kid)s 的自签名无效")),
    "anchor_untrusted_root": ("anchor file {source} line {line}: the first key {kid} is not among the trusted keys "
                              "(TRACE_ANCHOR_KEYS / --trust-key)", _("锚定文件第 %(line)s 行：首个密钥 %(kid)s 不在配置的可信公钥之列")),
    "anchor_key_change": ("anchor file {source} line {line}: the change to key {kid} is not signed by the previous key {prev}; refused",
                          _("锚定文件第 %(line)s 行：更换为密钥 %(kid)s 的记录没有上一把密钥 %(prev)s 的有效签名，不予承认")),
    "anchor_no_key": ("anchor file {source} line {line}: checkpoint n={n} comes before any key line",
                      _("锚定文件第 %(line)s 行：第 %(n)s 号检查点之前没有密钥登记")),
    "anchor_untrusted_key": ("anchor file {source} line {line}: checkpoint n={n} is signed with key {kid}, which the anchor does not "
                             "pin (forged?); refused", _("锚定文件第 %(line)s 行：第 %(n)s 号检查点用未经登记的密钥 %(kid)s 签名（伪造？），不予承认")),
    "anchor_signature": ("anchor file {source} line {line}: checkpoint n={n} does not verify with the pinned key {kid} (forged or "
                         "altered); refused", _("锚定文件第 %(line)s 行：第 %(n)s 号检查点的签名无效（伪造或被改动），不予承认")),
    "anchor_conflict": ("anchor file {source} line {line}: a second, different checkpoint n={n}",
                        _("锚定文件第 %(line)s 行：出现第二个编号为 %(n)s 的不同检查点")),
    "anchor_regress": ("anchor file {source} line {line}: checkpoint n={n} drops or winds back chain {chain} (seq {seq} in checkpoint "
                       "n={prev})", _("锚定文件第 %(line)s 行：第 %(n)s 号检查点丢失或回退了链 %(chain)s（第 %(prev)s 号检查点记录到第 %(seq)s 条）")),
    "anchor_missing": ("the anchor file {source} is missing or holds no checkpoint, but the database lists checkpoints up to n={n} "
                       "(file deleted or replaced?)", _("锚定文件缺失或没有检查点，而数据库记录了到第 %(n)s 号的检查点（文件被删除或替换？）")),
    "anchor_behind": ("the anchor file {source} ends at checkpoint n={last}, the database lists checkpoints up to n={n} (file truncated "
                      "or replaced?)", _("锚定文件只到第 %(last)s 号检查点，而数据库记录了到第 %(n)s 号（文件被截断或替换？）")),
    "anchor_disagree": ("anchor files {source} and {other} hold different checkpoints n={n} (one of them was rewritten)",
                        _("两份锚定文件的第 %(n)s 号检查点不同（其中一份被改写）")),
}


@dataclass
class Break:
    entry_id: int | None
    chain: str
    seq: int | None
    problem: str  # English, for the operator's console
    code: str = ""
    params: dict = field(default_factory=dict)

    @classmethod
    def of(cls, code: str, *, entry_id=None, chain: str = "", seq=None, **params):
        params = {"chain": chain, "seq": seq, **params}
        return cls(entry_id, chain, seq, PROBLEMS[code][0].format(**params), code, params)

    @property
    def message(self) -> str:
        """What a person reads (Chinese, or the active language)."""
        if self.code not in PROBLEMS:
            return gettext("留痕链损坏")
        return str(PROBLEMS[self.code][1]) % self.params

    def __str__(self):
        if self.entry_id is not None:
            where = f"entry id={self.entry_id} chain={self.chain} seq={self.seq}"
        elif self.chain:
            where = f"chain head chain={self.chain} seq={self.seq}"
        else:
            where = "anchor"
        return f"{where}: {self.problem}"

    def as_dict(self) -> dict:
        return {"entry_id": self.entry_id, "chain": self.chain, "seq": self.seq, "code": self.code, "problem": self.message}


@dataclass
class Report:
    checked: int = 0
    chains: int = 0
    breaks: list[Break] = field(default_factory=list)
    anchors: list[dict] = field(default_factory=list)  # the checkpoints verified against

    @property
    def ok(self) -> bool:
        return not self.breaks

    def summary(self) -> str:
        if self.ok:
            text = gettext("留痕链完好：%(chains)s 条链共 %(checked)s 条记录") % {"chains": self.chains, "checked": self.checked}
        else:
            text = gettext("留痕链已损坏：发现 %(n)s 处问题，第一处：%(first)s") % {"n": len(self.breaks), "first": self.breaks[0].message}
        if self.anchors:
            latest = max(self.anchors, key=lambda a: a["n"])
            text += gettext("；已与第 %(n)s 号检查点（%(at)s）核对") % {"n": latest["n"], "at": latest["at"]}
        else:
            text += gettext("；尚无检查点可供核对")
        return text

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "checked": self.checked,
            "chains": self.chains,
            "anchors": self.anchors,
            "first_break": self.breaks[0].as_dict() if self.breaks else None,
            "breaks": [b.as_dict() for b in self.breaks[:100]],
        }


_HEX64 = re.compile(r"[0-9a-f]{64}")
_ROW_FIELDS = ("id", "seq", "actor_id", "actor_label", "action", "object_type", "object_id", "division_code", "before_digest",
               "after_digest", "prev_hash", "hash", "kid", "signature")
_TEXT_FIELDS = ("actor_label", "action", "object_type", "object_id", "division_code", "before_digest", "after_digest", "kid", "signature")


class _Row:
    """One entry as stored, read without Django's converters (a garbage value must not raise)."""

    __slots__ = ("chain", "occurred_at", *_ROW_FIELDS)

    def __init__(self, chain: str, values) -> None:
        self.chain = chain
        for name, value in zip(_ROW_FIELDS, values):
            setattr(self, name, value)
        self.occurred_at = values[len(_ROW_FIELDS)]


def _read_rows(name: str, after, batch: int) -> list[_Row]:
    # occurred_at as text: a stored value Python cannot take (SQLite garbage, PostgreSQL 'infinity')
    # becomes a named break instead of an exception inside the query's converters.
    rows = (TraceEntry.objects.filter(chain=name, seq__gt=after).order_by("seq")
            .annotate(occurred_text=Cast("occurred_at", TextField())).values_list(*_ROW_FIELDS, "occurred_text")[:batch])
    return [_Row(name, values) for values in rows]


def _malformed(row: _Row) -> list[str]:
    """The fields of a row that cannot be read as what they should be; parses occurred_at in place."""
    bad = []
    if type(row.seq) is not int or row.seq < 1:
        bad.append("seq")
    when = None
    if isinstance(row.occurred_at, str):
        try:
            when = parse_datetime(row.occurred_at.strip())
        except ValueError:
            when = None
    if when is None:
        bad.append("occurred_at")
    else:
        row.occurred_at = when if when.tzinfo else when.replace(tzinfo=dt_timezone.utc)
    if row.actor_id is not None and type(row.actor_id) is not int:
        bad.append("actor_id")
    bad += [f for f in _TEXT_FIELDS if not isinstance(getattr(row, f), str)]
    if not isinstance(row.hash, str) or not _HEX64.fullmatch(row.hash):
        bad.append("hash")
    if not isinstance(row.prev_hash, str) or (row.prev_hash and not _HEX64.fullmatch(row.prev_hash)):
        bad.append("prev_hash")
    return bad


def _short(value) -> str:
    return value[:12] if isinstance(value, str) else repr(value)


def _verify_signature(row: _Row, pinned: dict[str, str]) -> bool:
    if row.kid in pinned:  # the anchor file's key, not the database's
        return anchor.signature_valid(pinned[row.kid], {**signed_body(row)}, row.signature)
    return signing.verify(signed_body(row), row.kid, row.signature)


def _check_row(row: _Row, prev: _Row | None, breaks: list[Break], check_signatures: bool, pinned: dict[str, str]) -> bool:
    """Check one row against its predecessor; False when the row is malformed."""
    where = {"entry_id": row.id, "chain": row.chain, "seq": row.seq if type(row.seq) is int else None}
    bad = _malformed(row)
    if bad:
        values = ", ".join(f"{f}={getattr(row, f)!r}"[:80] for f in bad)
        breaks.append(Break.of("malformed", **where, fields=", ".join(bad), values=values))
    if "seq" in bad:
        return False
    expected_seq = (prev.seq + 1) if prev else 1
    expected_prev = (prev.hash if isinstance(prev.hash, str) else "") if prev else ""
    if row.seq != expected_seq:
        if row.seq > expected_seq:
            missing = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}..{row.seq - 1}"
            breaks.append(Break.of("seq_gap", **where, missing=missing))
        else:
            breaks.append(Break.of("seq_order", **where, expected=expected_seq))
    if "prev_hash" not in bad and row.prev_hash != expected_prev:
        breaks.append(Break.of("prev_hash", **where, stored=_short(row.prev_hash), expected=_short(expected_prev)))
    if bad:
        return False
    actual = entry_hash(row)
    if actual != row.hash:
        breaks.append(Break.of("hash", **where, stored=_short(row.hash), computed=_short(actual)))
    if check_signatures and row.signature and not _verify_signature(row, pinned):
        breaks.append(Break.of("signature", **where, kid=row.kid))
    return True


def _label(source: str) -> str:
    return os.path.basename(source) or source


def _anchor_views(report: Report, *, local: bool, files, trusted) -> list:
    """Read the anchor files and check them against each other and the database's copy."""
    views = []
    if local:
        path = anchor.anchor_path()
        view = anchor.read_anchor(path, source=str(path), trusted_roots=trusted)
        views.append(view)
        db_last = TraceAnchorLine.objects.aggregate(n=Max("n"))["n"] or 0
        last = view.latest["n"] if view.latest else 0
        if db_last > last:
            if last:
                report.breaks.append(Break.of("anchor_behind", source=view.source, last=last, n=db_last))
            else:
                report.breaks.append(Break.of("anchor_missing", source=view.source, n=db_last))
    for path in files or ():
        view = anchor.read_anchor(path, source=str(path), trusted_roots=trusted)
        if not view.exists and not view.problems:
            report.breaks.append(Break.of("anchor_not_found", source=str(path)))
        views.append(view)
    for view in views:
        for p in view.problems:
            report.breaks.append(Break.of(p.code, **{"chain": p.chain, **p.params}))
    for i, a in enumerate(views):
        for b in views[i + 1:]:
            for n in sorted(set(a.digests) & set(b.digests)):
                if a.digests[n] != b.digests[n]:
                    report.breaks.append(Break.of("anchor_disagree", source=a.source, other=b.source, n=n))
    return views


def verify(*, chains: list[str] | None = None, check_signatures: bool = True, stop_at_first: bool = False, batch: int = 5000,
           anchor_files: list[str] | None = None, local_anchor: bool = True, trusted_keys: list[str] | None = None) -> Report:
    """Walk every chain (or the named ones) in seq order; report each break, first one first.

    Besides each chain's own links, every chain is held against the latest checkpoint of the local
    anchor file (``local_anchor``) and of each of ``anchor_files`` (copies kept elsewhere): it must
    exist, its entry at the checkpointed seq must carry the checkpointed hash, and it must reach at
    least that seq. Checkpoints count only when signed with keys the anchor file itself pins."""

    report = Report()
    trusted = list(trusted_keys or []) + list(getattr(settings, "TRACE_ANCHOR_KEYS", []) or [])
    views = _anchor_views(report, local=local_anchor, files=anchor_files, trusted=trusted)
    pinned: dict[str, str] = {}
    expect: dict[str, list[tuple[int, str, str, int]]] = {}
    for view in views:
        for kid, public in view.keys.items():
            pinned.setdefault(kid, public)
        if view.latest:
            report.anchors.append({"source": _label(view.source), "n": view.latest["n"], "at": view.latest["at"],
                                   "chains": len(view.latest["chains"])})
            for c in view.latest["chains"]:
                if chains is None or c["name"] in chains:
                    expect.setdefault(c["name"], []).append((c["seq"], c["hash"], view.source, view.latest["n"]))
    if check_signatures and pinned:
        for kid, public in SigningKey.objects.filter(kid__in=list(pinned)).values_list("kid", "public_key"):
            if public != pinned[kid]:
                report.breaks.append(Break.of("key_mismatch", kid=kid))
    if stop_at_first and report.breaks:
        return report

    names = set(TraceChain.objects.values_list("name", flat=True))
    # order_by(): Meta.ordering would put id into the DISTINCT and fetch every row of the ledger.
    names |= set(TraceEntry.objects.order_by().values_list("chain", flat=True).distinct())
    present = set(names)
    names |= set(expect)
    if chains is not None:
        names &= set(chains)
    heads = dict(TraceChain.objects.filter(name__in=names).values_list("name", "head_hash"))
    for name in sorted(names):
        report.chains += 1
        wanted = {}
        for seq, h, source, n in expect.get(name, ()):
            wanted.setdefault(seq, []).append((h, source, n))
        if name not in present:
            for seq, h, source, n in expect[name]:
                report.breaks.append(Break.of("chain_missing", chain=name, n=n, source=source, seq=seq))
            if stop_at_first:
                return report
            continue
        prev = None
        after = 0
        seen: set[int] = set()
        # Keyset pagination on seq keeps memory flat on a long chain.
        while True:
            rows = _read_rows(name, after, batch)
            stop = False
            for row in rows:
                report.checked += 1
                if not _check_row(row, prev, report.breaks, check_signatures, pinned) and type(row.seq) is not int:
                    stop = True  # SQLite sorts a text seq after every number: nothing numeric follows
                    continue
                if row.seq in wanted:
                    seen.add(row.seq)
                    for h, source, n in wanted[row.seq]:
                        if row.hash != h:
                            report.breaks.append(Break.of("checkpoint_hash", entry_id=row.id, chain=name, seq=row.seq, n=n, source=source,
                                                          stored=_short(row.hash), expected=h[:12]))
                prev = row
                if stop_at_first and report.breaks:
                    return report
            if stop or len(rows) < batch:
                break
            after = rows[-1].seq
        last = prev.seq if prev else 0
        head_hash = heads.get(name)
        if head_hash is None:
            report.breaks.append(Break.of("head_missing", chain=name, seq=prev.seq if prev else None))
        elif head_hash != (prev.hash if prev else ""):
            report.breaks.append(Break.of("head_mismatch", chain=name, seq=prev.seq if prev else None))
        for seq in sorted(set(wanted) - seen):
            for h, source, n in wanted[seq]:
                if seq > last:
                    missing = f"{last + 1}" if seq == last + 1 else f"{last + 1}..{seq}"
                    report.breaks.append(Break.of("checkpoint_behind", chain=name, seq=last or None, last=last, n=n, source=source,
                                                  cp_seq=seq, missing=missing))
                else:
                    report.breaks.append(Break.of("checkpoint_missing", chain=name, seq=seq, n=n, source=source))
        if stop_at_first and report.breaks:
            return report
    return report
