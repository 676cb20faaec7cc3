"""Trace anchor (留痕锚定): signed checkpoints of every chain head, kept where the database writer
cannot rewrite them. The threat model is docs/security.md ("The trace ledger").

Hash chains alone (``trace``) show that a chain is consistent with itself, not that it is the chain
that was written: whoever can write to the database can edit an entry and recompute every later hash
and the head, cut a tail and wind the head back, or delete a chain with its head row. A checkpoint
pins the chains from outside:

- **What.** ``{"type": "checkpoint", "n", "at", "reason", "kid", "public_key", "chains":
  [{"name", "seq", "hash"}, …]}`` — every chain's head (name, last seq, last hash), a counter ``n``
  (1, 2, 3 …), the time, and the key, signed with the bureau's Ed25519 key (``signing.active_key``)
  over its canonical JSON (``sig``). A checkpoint never drops or winds back a chain: when the
  database disagrees with the previous checkpoint (a chain gone, behind, or its checkpointed entry
  changed), that chain's previous head is carried over unchanged (and logged), so the newest
  checkpoint always holds everything ever anchored and ``verify-trace`` keeps naming the damage.
- **When.** Every 10 minutes when a head changed (the ``trace.checkpoint`` sweep), after every
  sealed inspection record (on commit, ``checkpoint_on_commit``) and on demand
  (``zhijian trace-checkpoint``).
- **Where.** (a) Appended as one JSON line to ``settings.TRACE_ANCHOR_FILE`` (opened in append
  mode, under an exclusive lock, fsync'd) — the authoritative copy, meant to live on storage the
  database host cannot rewrite; (b) a copy in ``TraceAnchorLine`` for the public portal
  (``/p/trace/``: the page, ``anchor.jsonl``, ``checkpoints.json``), from which anyone keeps copies;
  (c) the event ``trace.checkpoint`` (webhooks: an auditor's or a higher bureau's system).
- **Keys.** The file pins its keys itself: its first line is a key line (kid, public key, signed by
  that key); a key change is a key line signed by the *previous* key (``sig``) and by the new one
  (``proof``). A checkpoint is trusted only if signed by the key pinned at that point of the file,
  so a key put into the database's ``SigningKey`` table is never trusted, and old checkpoints stay
  verifiable after rotation. ``settings.TRACE_ANCHOR_KEYS`` (public keys) may pin the first key too.

Verification (``read_anchor``, used by ``trace.verify``) reads a file line by line (memory grows only
with the number of checkpoints' digests) and reports problems as ``Problem(code, params)``.
"""
from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import logging
import os
import zlib
from datetime import timezone as dt_timezone
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from . import events, signing
from .errors import ApplicationError
from .models import SigningKey, TraceAnchorLine, TraceChain, TraceEntry

log = logging.getLogger(__name__)

EVENT_TYPE = "trace.checkpoint"
SCHEDULE, SEAL, MANUAL = "schedule", "seal", "manual"
REASON_LABELS = {SCHEDULE: _("定时"), SEAL: _("笔录签章后"), MANUAL: _("手动")}
_LOCK_KEY = zlib.crc32(b"zhijian.trace_anchor")  # PostgreSQL advisory lock: one checkpoint at a time


def anchor_path() -> Path:
    value = getattr(settings, "TRACE_ANCHOR_FILE", "") or str(Path(settings.VAR_DIR) / "trace-anchor.jsonl")
    return Path(value)


def line_text(obj: dict) -> str:
    return signing.canonical_json(obj).decode("utf-8")


def signed_part(obj: dict) -> dict:
    """What a line's signatures cover: everything but the signatures themselves."""
    return {k: v for k, v in obj.items() if k not in ("sig", "proof")}


def line_digest(obj: dict) -> str:
    return hashlib.sha256(signing.canonical_json(obj)).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_b64(private: Ed25519PrivateKey) -> str:
    return _b64(private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _sign(private: Ed25519PrivateKey, obj: dict) -> str:
    return _b64(private.sign(signing.canonical_json(signed_part(obj))))


def signature_valid(public_key: str, obj: dict, sig) -> bool:
    """Does ``sig`` sign ``obj`` (without its signatures) under this base64url public key?"""
    if not isinstance(public_key, str) or not isinstance(sig, str):
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(_unb64(public_key))
        key.verify(_unb64(sig), signing.canonical_json(signed_part(obj)))
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False
    return True


# --- taking a checkpoint -------------------------------------------------------------------------------------
def _read_tail(path: Path) -> tuple[dict | None, dict | None]:
    """The last line and the last checkpoint of the anchor file (``None`` when there is none),
    read backwards from the end in blocks: the file grows for years, a checkpoint reads a few KB."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return None, None
    last = None
    with fh:
        fh.seek(0, os.SEEK_END)
        pos = fh.tell()
        carry = b""
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            fh.seek(pos)
            parts = (fh.read(step) + carry).split(b"\n")
            carry = parts[0] if pos > 0 else b""
            for raw in reversed(parts[1:] if pos > 0 else parts):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError as exc:
                    raise ApplicationError(_("锚定文件末尾有无法解析的行，请先运行 zhijian verify-trace 查明"), code="anchor_file") from exc
                if not isinstance(obj, dict):
                    raise ApplicationError(_("锚定文件末尾有无法解析的行，请先运行 zhijian verify-trace 查明"), code="anchor_file")
                last = last or obj
                if obj.get("type") == "checkpoint":
                    return last, obj
    return last, None


def _entry_hashes(pairs) -> dict[tuple[str, int], str]:
    """{(chain, seq): stored hash} for the given pairs (in chunks: one OR of a few hundred terms)."""
    pairs = sorted(pairs)
    found: dict[tuple[str, int], str] = {}
    for start in range(0, len(pairs), 300):
        cond = Q()
        for name, seq in pairs[start:start + 300]:
            cond |= Q(chain=name, seq=seq)
        for name, seq, h in TraceEntry.objects.filter(cond).values_list("chain", "seq", "hash"):
            found[(name, seq)] = h
    return found


def current_chains(previous: dict | None) -> tuple[list[dict], list[str]]:
    """The chain heads to checkpoint, and the chains held at their previous checkpointed head.

    A chain moves on only when its head row agrees with its last entry and, if it was checkpointed
    before, its entry at the previous checkpointed seq still has the checkpointed hash. Otherwise
    (and when it has disappeared) its previous head is carried over: a checkpoint never launders
    damage into the anchor."""
    heads = {name: (seq, h) for name, seq, h in TraceChain.objects.filter(head_seq__gt=0).values_list("name", "head_seq", "head_hash")}
    before = {c["name"]: c for c in (previous or {}).get("chains", [])}
    wanted = set()
    for name, (seq, h) in heads.items():
        p = before.get(name)
        if p and (p["seq"], p["hash"]) == (seq, h):
            continue
        wanted.add((name, seq))
        if p:
            wanted.add((name, p["seq"]))
    found = _entry_hashes(wanted)
    out: dict[str, dict] = {}
    held: list[str] = []
    for name, (seq, h) in heads.items():
        p = before.get(name)
        if p and (p["seq"], p["hash"]) == (seq, h):
            out[name] = p
            continue
        ok = bool(h) and found.get((name, seq)) == h
        if p:
            ok = ok and seq >= p["seq"] and found.get((name, p["seq"])) == p["hash"]
        if ok:
            out[name] = {"name": name, "seq": seq, "hash": h}
        else:
            held.append(name)
            if p:
                out[name] = p
    for name, p in before.items():
        if name not in heads:
            out[name] = p
            held.append(name)
    return [out[k] for k in sorted(out)], sorted(held)


def _serialise() -> None:
    """One checkpoint at a time across processes (SQLite: the IMMEDIATE transaction's write lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _private_for(kid: str, public_key: str, seed: bytes | None) -> Ed25519PrivateKey | None:
    """The private half of the key ``(kid, public_key)`` if this process can obtain it: the given
    seed, ZHIJIAN_SIGNING_KEY, or a key in the database wrapped under SECRET_KEY — checked against
    the public key the anchor file names, not against the database's."""
    candidates = []
    if seed:
        candidates.append(Ed25519PrivateKey.from_private_bytes(seed))
    env = signing._env_seed()
    if env:
        candidates.append(Ed25519PrivateKey.from_private_bytes(env))
    for blob in SigningKey.objects.filter(kid=kid).exclude(private_key_enc="").values_list("private_key_enc", flat=True):
        try:
            candidates.append(Ed25519PrivateKey.from_private_bytes(signing._unwrap(blob, kid)))
        except (InvalidTag, ValueError):
            pass
    return next((p for p in candidates if public_b64(p) == public_key), None)


def _previous_private(kid: str, public_key: str, seed: bytes | None) -> Ed25519PrivateKey:
    """The private half of the key the anchor file pins now, to sign the change to a new key."""
    private = _private_for(kid, public_key, seed)
    if private is None:
        raise _unknown_key(kid)
    return private


def _unknown_key(kid) -> ApplicationError:
    return ApplicationError(
        _("锚定文件末尾的记录用密钥 %(kid)s 签名，本系统无法取得其私钥，不能在其上继续：如系更换了 ZHIJIAN_SIGNING_KEY，请用 zhijian trace-checkpoint "
          "--previous-seed-file 提供原密钥种子；否则锚定文件可能被篡改，请运行 zhijian verify-trace 查明") % {"kid": kid}, code="anchor_key")


def _ours(checkpoint: dict, active: tuple[str, str], seed: bytes | None) -> bool:
    """Is the file's last checkpoint one this bureau signed? Its chains are carried over into the
    next checkpoint, so a line appended by someone without the bureau's key must not be."""
    kid, public = checkpoint.get("kid"), checkpoint.get("public_key")
    if not (isinstance(kid, str) and isinstance(public, str) and type(checkpoint.get("n")) is int
            and _valid_chains(checkpoint.get("chains"))):
        return False
    if (kid, public) != active and _private_for(kid, public, seed) is None:
        return False
    return signature_valid(public, checkpoint, checkpoint.get("sig"))


@dataclass
class Taken:
    checkpoint: dict | None  # None: nothing changed since the last checkpoint
    lines: list[dict] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    path: str = ""


def take(*, reason: str = MANUAL, only_if_changed: bool = False, previous_seed: bytes | None = None, restart: bool = False) -> Taken:
    """Sign the current chain heads and anchor them (file, portal copy, event). See the module doc.

    ``only_if_changed``: nothing is written when every head equals the last checkpoint's.
    ``restart``: allowed to begin a new anchor file although the database lists checkpoints (after
    the old file was archived, e.g. once a restore from backup is on record).
    """
    path = anchor_path()
    if only_if_changed and not path.exists() and not TraceChain.objects.filter(head_seq__gt=0).exists():
        return Taken(None, [], [], str(path))  # nothing to anchor yet: not even an empty file
    path.parent.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        _serialise()
        created = not path.exists()
        with open(path, "ab") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            last, previous = _read_tail(path)
            db_last = TraceAnchorLine.objects.aggregate(n=Max("n"))["n"] or 0
            if last is None and db_last and not restart:
                raise ApplicationError(
                    _("锚定文件 %(path)s 不存在或为空，而数据库记录了 %(n)s 个检查点：请先找回该文件；确需重新开始时运行 zhijian trace-checkpoint --restart-anchor")
                    % {"path": path, "n": db_last}, code="anchor_file")
            kid, private = signing.active_key()
            public = public_b64(private)
            old_private = None
            if last is not None and (last.get("kid"), last.get("public_key")) != (kid, public):
                old_private = _previous_private(last.get("kid", ""), last.get("public_key", ""), previous_seed)
            if previous is not None and not _ours(previous, (kid, public), previous_seed):
                raise _unknown_key(previous.get("kid"))
            chains, held = current_chains(previous)
            if held:
                log.warning("trace checkpoint: chains %s disagree with the last checkpoint and are held at it; run verify-trace", held)
            if only_if_changed and (chains == (previous or {}).get("chains") or (previous is None and not chains)):
                return Taken(None, [], held, str(path))
            now = timezone.now()
            at = now.astimezone(dt_timezone.utc).isoformat()
            lines: list[dict] = []
            if last is None:
                root = {"type": "key", "kid": kid, "public_key": public, "prev_kid": "", "at": at}
                if restart and db_last:
                    root["restart_after"] = db_last
                root["sig"] = _sign(private, root)
                lines.append(root)
            elif old_private is not None:
                change = {"type": "key", "kid": kid, "public_key": public, "prev_kid": last.get("kid", ""), "at": at}
                change["sig"] = _sign(old_private, change)
                change["proof"] = _sign(private, change)
                lines.append(change)
            n = max(int((previous or {}).get("n", 0)), db_last) + 1
            checkpoint = {"type": "checkpoint", "n": n, "at": at, "reason": reason, "kid": kid, "public_key": public, "chains": chains}
            checkpoint["sig"] = _sign(private, checkpoint)
            lines.append(checkpoint)
            TraceAnchorLine.objects.bulk_create([
                TraceAnchorLine(kind=line["type"], n=line.get("n"), kid=line["kid"], at=now, reason=line.get("reason", ""), line=line_text(line))
                for line in lines
            ])
            prefixes = sorted({c["name"].split(":", 1)[0] for c in chains})
            events.emit(EVENT_TYPE, payload={
                "checkpoint": checkpoint,
                "keys": [line for line in lines if line["type"] == "key"],
                # Subscriptions limited to a jurisdiction hear the checkpoints holding its chains.
                "items": [{"division_code": p} for p in prefixes],
            }, object_type="core.traceanchorline", object_id=str(n))
            # Last: a failed write rolls the database copy and the event back with it.
            fh.write("".join(line_text(line) + "\n" for line in lines).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        if created:
            _fsync_dir(path.parent)
    return Taken(checkpoint, lines, held, str(path))


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def scheduled_checkpoint() -> str:
    """The periodic sweep: a checkpoint only when some head changed. Returns a one-line summary."""
    taken = take(reason=SCHEDULE, only_if_changed=True)
    held = ""
    if taken.held:
        held = gettext("；%(n)s 条链与上一检查点不符，保持原检查点，请运行 zhijian verify-trace") % {"n": len(taken.held)}
    if taken.checkpoint is None:
        return gettext("留痕链无变化，未生成检查点") + held
    return gettext("已生成第 %(n)s 号留痕检查点（%(chains)s 条链）") % {"n": taken.checkpoint["n"], "chains": len(taken.checkpoint["chains"])} + held


def _checkpoint_after_commit() -> None:
    take(reason=SEAL, only_if_changed=True)


def checkpoint_on_commit() -> None:
    """After the current transaction commits, checkpoint the heads (once per transaction, however
    many records it sealed). A failure is logged, never raised into the committed request; the
    next scheduled checkpoint covers the record."""
    conn = transaction.get_connection()
    if any(item[1] is _checkpoint_after_commit for item in conn.run_on_commit):
        return
    transaction.on_commit(_checkpoint_after_commit, robust=True)


# --- reading an anchor file --------------------------------------------------------------------------------
@dataclass
class Problem:
    code: str
    params: dict
    chain: str = ""


@dataclass
class AnchorView:
    """What one anchor file establishes: its latest valid checkpoint and the keys it pins."""

    source: str
    exists: bool = False
    latest: dict | None = None
    keys: dict[str, str] = field(default_factory=dict)  # kid → public key, pinned by the file
    digests: dict[int, str] = field(default_factory=dict)  # n → digest of the checkpoint line
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)


def _valid_chains(chains) -> bool:
    return isinstance(chains, list) and all(
        isinstance(c, dict) and isinstance(c.get("name"), str) and type(c.get("seq")) is int and isinstance(c.get("hash"), str)
        for c in chains)


def read_anchor(path, *, source: str | None = None, trusted_roots=()) -> AnchorView:
    """Read and check an anchor file (ours, or a copy an auditor kept): every line parses, the key
    chain is continuous (each change signed by the previous key), every checkpoint is signed by
    the key pinned at its place, no two checkpoints share a number, none drops or winds back a chain
    of the checkpoint before it. ``trusted_roots``: public keys the first key must be one of."""
    view = AnchorView(source=source or str(path))
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return view
    except OSError as exc:
        view.problems.append(Problem("anchor_unreadable", {"source": view.source, "error": str(exc)}))
        return view
    view.exists = True
    current: tuple[str, str] | None = None
    with fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = None
            if not isinstance(obj, dict) or obj.get("type") not in ("key", "checkpoint"):
                view.problems.append(Problem("anchor_bad_line", {"source": view.source, "line": number}))
                continue
            if obj["type"] == "key":
                current = _read_key(view, obj, number, current, trusted_roots)
            else:
                _read_checkpoint(view, obj, number, current)
    return view


def _read_key(view: AnchorView, obj: dict, number: int, current, trusted_roots):
    kid, public = obj.get("kid"), obj.get("public_key")
    if not isinstance(kid, str) or not isinstance(public, str):
        view.problems.append(Problem("anchor_bad_line", {"source": view.source, "line": number}))
        return current
    if view.keys.get(kid) == public:
        return current  # already pinned: the same line again (a copy fetched twice) changes nothing
    if current is None:
        if not signature_valid(public, obj, obj.get("sig")):
            view.problems.append(Problem("anchor_key_signature", {"source": view.source, "line": number, "kid": kid}))
            return None
        if trusted_roots and public not in trusted_roots:
            view.problems.append(Problem("anchor_untrusted_root", {"source": view.source, "line": number, "kid": kid}))
            return None
    elif not (obj.get("prev_kid") == current[0] and signature_valid(current[1], obj, obj.get("sig"))
              and signature_valid(public, obj, obj.get("proof"))):
        view.problems.append(Problem("anchor_key_change", {"source": view.source, "line": number, "kid": kid, "prev": current[0]}))
        return current
    view.keys[kid] = public
    return kid, public


def _read_checkpoint(view: AnchorView, obj: dict, number: int, current) -> None:
    n, chains = obj.get("n"), obj.get("chains")
    if type(n) is not int or n < 1 or not _valid_chains(chains):
        view.problems.append(Problem("anchor_bad_line", {"source": view.source, "line": number}))
        return
    kid, public = obj.get("kid"), obj.get("public_key")
    digest = line_digest(obj)
    if n in view.digests:
        if view.digests[n] != digest:
            view.problems.append(Problem("anchor_conflict", {"source": view.source, "line": number, "n": n}))
        return
    latest_n = view.latest["n"] if view.latest else 0
    if current is None:
        view.problems.append(Problem("anchor_no_key", {"source": view.source, "line": number, "n": n}))
        return
    if (kid, public) != current and not (n < latest_n and view.keys.get(kid) == public):
        # Only an older checkpoint (a copy fetched again) may carry an earlier pinned key.
        view.problems.append(Problem("anchor_untrusted_key", {"source": view.source, "line": number, "n": n, "kid": kid}))
        return
    if not signature_valid(public, obj, obj.get("sig")):
        view.problems.append(Problem("anchor_signature", {"source": view.source, "line": number, "n": n, "kid": kid}))
        return
    view.digests[n] = digest
    view.checkpoints += 1
    if n < latest_n:
        return
    if view.latest:
        now = {c["name"]: c["seq"] for c in chains}
        for c in view.latest["chains"]:
            if now.get(c["name"], -1) < c["seq"]:
                view.problems.append(Problem("anchor_regress", {"source": view.source, "line": number, "n": n, "prev": latest_n,
                                                                "chain": c["name"], "seq": c["seq"]}, chain=c["name"]))
    view.latest = obj


def portal_lines(limit: int = 200) -> list[str]:
    """Every key line and the last ``limit`` checkpoints, in the order they were written: a file in
    the anchor's own format that ``verify-trace --anchor`` reads."""
    keys = list(TraceAnchorLine.objects.filter(kind=TraceAnchorLine.Kind.KEY).values_list("id", "line"))
    recent = list(TraceAnchorLine.objects.filter(kind=TraceAnchorLine.Kind.CHECKPOINT).order_by("-id").values_list("id", "line")[:limit])
    return [line for _id, line in sorted(keys + recent)]
