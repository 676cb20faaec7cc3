"""The public draw algorithm (docs/draws.md): pure functions over bytes, no Django.

Everything here can be recomputed with ``docs/draws_verify.py`` (standard library only) from the
published files. Byte encodings:

- seed: 32 random bytes; commitment = SHA-256(seed) in lower-case hex.
- pool file of stratum S (``entities-S.csv``): UTF-8, one line per entity ``credit_code,division_code\\n``,
  sorted by credit code in byte order.
- inspectors file (``inspectors.csv``): ``cert_no,prefix;prefix…,masked name\\n`` sorted by cert_no.
- entity key = SHA-256(seed ‖ b"entity:" ‖ credit_code); the k smallest keys of a stratum are drawn,
  k = ceil(percent × n / 100) with percent given to two decimals.
- inspector key = SHA-256(seed ‖ b"inspector:" ‖ credit_code ‖ b":" ‖ cert_no); drawn entities are
  taken in credit-code order; each takes the ``per_entity`` eligible inspectors with the smallest
  (inspections already given in this draw, key).
"""
from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections.abc import Iterable
from decimal import Decimal

STRATA = ("A", "B", "C", "D")


class PoolTooSmall(Exception):
    def __init__(self, credit_code: str, eligible: int, needed: int):
        super().__init__(f"{credit_code}: {eligible} eligible inspectors, {needed} needed")
        self.credit_code, self.eligible, self.needed = credit_code, eligible, needed


def commitment(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def quota(percent, n: int) -> int:
    """ceil(percent × n / 100) in exact integer arithmetic (percent has at most two decimals)."""
    hundredths = int((Decimal(str(percent)) * 100).to_integral_exact())
    return -(-hundredths * n // 10000)


def select_stratum(seed: bytes, lines: Iterable[bytes], k: int) -> list[tuple[str, str]]:
    """The k pool lines with the smallest entity keys, in key order: [(credit_code, division_code)].

    The general (line by line) form; :func:`select_blocks` computes the same faster.
    """
    base = hashlib.sha256(seed + b"entity:")

    def key(line: bytes) -> bytes:
        h = base.copy()
        h.update(line[: line.index(b",")])
        return h.digest()

    out = []
    for line in heapq.nsmallest(k, (ln for ln in lines if ln.strip()), key=key):
        code, division = line.rstrip(b"\r\n").decode().split(",", 1)
        out.append((code, division))
    return out


# Printable ASCII except the comma: what a well-formed pool line holds besides its one comma.
_SAFE = bytes(b for b in range(0x20, 0x7F) if b != ord(","))


def split_pool(data: bytes) -> tuple[list[bytes], list[bytes]] | None:
    """(codes, divisions) of a block of whole pool lines, each printable ASCII ``code,division\\n``
    with exactly one comma; None when the block is not of that form (then use the general path)."""
    n = data.count(b"\n")
    if (data and not data.endswith(b"\n")) or data.translate(None, _SAFE) != b",\n" * n:
        return None
    parts = data.replace(b"\n", b",").split(b",")  # code, division, code, division, …, b""
    return parts[0:-1:2], parts[1::2]


def entity_keys(seed: bytes, codes: list[bytes]) -> list[bytes]:
    """SHA-256(seed ‖ "entity:" ‖ code) for every code."""
    sha256 = hashlib.sha256
    return [h.digest() for h in map(sha256, map((seed + b"entity:").__add__, codes))]


def key_bound(k: int, n: int) -> bytes | None:
    """A key bound below which well over k of n uniformly random keys fall (8 standard deviations
    of margin); None when nearly everything is needed anyway. Only a filter: the caller falls back
    to all keys when fewer than k pass, so the result never depends on it."""
    want = k + 8 * math.isqrt(k) + 64
    if k <= 0 or want >= n:
        return None
    return ((want << 256) // n).to_bytes(32, "big")


def fraction_bound(share) -> bytes | None:
    """The key below which a ``share`` (a Decimal in (0, 1)) of uniformly random keys fall."""
    if share >= 1:
        return None
    num, den = share.as_integer_ratio()
    return ((num << 256) // den).to_bytes(32, "big")


def select_blocks(seed: bytes, blocks, k: int, n_hint: int = 0) -> list[tuple[str, str]]:
    """:func:`select_stratum` over a pool file given as blocks of whole lines (any iterable of bytes
    that may be consumed once); identical result.

    Keys are computed block by block and only those below a bound that more than k keys pass with
    overwhelming probability are kept; then the k smallest (key, line number) win, which is exactly
    the stable key order of ``heapq.nsmallest``. When fewer than k pass, or a block is not in the
    plain form, everything is recomputed the general way.
    """
    if k <= 0:
        for _b in blocks:
            pass
        return []
    bound = key_bound(k, n_hint)
    sha256, salted = hashlib.sha256, (seed + b"entity:").__add__
    kept: list[tuple[bytes, int, bytes, bytes]] = []
    seen: list[bytes] = []  # the blocks, only while the general path may still be needed
    plain, base = True, 0
    for block in blocks:
        seen.append(block)
        if not plain:
            continue
        parsed = split_pool(block)
        if parsed is None:
            plain = False
            continue
        codes, divisions = parsed
        if bound is None:
            keys = entity_keys(seed, codes)
            kept.extend(zip(keys, itertools.count(base), codes, divisions))
        else:  # hash and filter in one pass; only the few kept keys are computed a second time
            rows = [i for i, h in enumerate(map(sha256, map(salted, codes))) if h.digest() < bound]
            kept.extend((sha256(salted(codes[i])).digest(), base + i, codes[i], divisions[i]) for i in rows)
        base += len(codes)
    if not plain or (bound is not None and len(kept) < k):
        if plain:  # too few below the bound (practically never): take every key
            return select_blocks(seed, seen, k, 0)
        return select_stratum(seed, b"".join(seen).splitlines(keepends=True), k)
    return [(code.decode(), division.decode()) for _key, _i, code, division in heapq.nsmallest(k, kept)]


def parse_inspectors(data: bytes) -> list[tuple[str, tuple[str, ...]]]:
    rows = []
    for line in data.decode("utf-8").splitlines():
        if line:
            cert, scope, _name = line.split(",", 2)
            rows.append((cert, tuple(scope.split(";"))))
    return rows


def covering(inspectors: list[tuple[str, tuple[str, ...]]], division: str) -> list[str]:
    """Cert numbers of the inspectors whose jurisdiction contains the division."""
    return [cert for cert, prefixes in inspectors if any(division.startswith(p) for p in prefixes)]


class Coverage:
    """:func:`covering` through an index of the inspectors by jurisdiction prefix, cached per division."""

    def __init__(self, inspectors: list[tuple[str, tuple[str, ...]]]):
        self.certs = [cert for cert, _p in inspectors]
        self.by_prefix: dict[str, list[int]] = {}
        for pos, (_cert, prefixes) in enumerate(inspectors):
            for p in set(prefixes):
                self.by_prefix.setdefault(p, []).append(pos)
        self.lengths = sorted({len(p) for p in self.by_prefix})
        self.cache: dict[str, list[str]] = {}
        self.pos_cache: dict[str, list[int]] = {}

    def positions(self, division: str) -> list[int]:
        """Positions (in inspectors.csv order) of the inspectors covering the division."""
        got = self.pos_cache.get(division)
        if got is None:
            found = set()
            for n in self.lengths:
                if n > len(division):
                    break
                found.update(self.by_prefix.get(division[:n], ()))
            got = self.pos_cache[division] = sorted(found)
        return got

    def __call__(self, division: str) -> list[str]:
        got = self.cache.get(division)
        if got is None:
            got = self.cache[division] = [self.certs[i] for i in self.positions(division)]
        return got


def exclusions(selected: list[tuple[str, str]], inspectors, recusal: dict, cover: Coverage | None = None) -> dict[str, list[str]]:
    """Recused covering inspectors per drawn entity, from the recusal inputs frozen at commit."""
    cover = cover or Coverage(inspectors)
    home = recusal.get("home", {})
    related: dict[str, set[str]] = {}
    for cert, code in recusal.get("relations", []):
        related.setdefault(code, set()).add(cert)
    last = {code: set(certs) for code, certs in recusal.get("last", {}).items()}
    kinds = [rule["kind"] for rule in recusal.get("rules", [])]
    for kind in kinds:
        if kind not in ("home_division", "declared_relation", "last_inspector"):
            raise ValueError(f"unknown recusal kind {kind}")
    levels = [int(rule["level"]) for rule in recusal.get("rules", []) if rule["kind"] == "home_division"]
    by_relation, by_last = "declared_relation" in kinds, "last_inspector" in kinds
    by_home: dict[str, set[str]] = {}  # division -> covering inspectors recused by the home rule

    def home_hits(division: str) -> set[str]:
        got = by_home.get(division)
        if got is None:
            got = by_home[division] = {
                cert for cert in cover(division) for level in levels
                if len(h := home.get(cert, "")) >= level and len(division) >= level and h[:level] == division[:level]}
        return got

    out = {}
    for code, division in selected:
        hit = home_hits(division) if levels else set()
        extra = (related.get(code, set()) if by_relation else set()) | (last.get(code, set()) if by_last else set())
        if extra:
            hit = hit | {cert for cert in cover(division) if cert in extra}
        out[code] = sorted(hit)
    return out


def assign(seed: bytes, selected: list[tuple[str, str]], inspectors, excluded: dict[str, list[str]], per_entity: int,
           cover: Coverage | None = None) -> dict[str, list[str]]:
    """Inspectors per drawn entity (see the module docstring for the rule).

    Only the eligible inspectors whose load is at most the ``per_entity``-th smallest load can be
    chosen, so only their keys are computed.
    """
    cover = cover or Coverage(inspectors)
    sha256 = hashlib.sha256
    certs = cover.certs
    encoded = [cert.encode() for cert in certs]
    load = [0] * len(certs)  # per position; every position of a cert carries that cert's count
    by_cert: dict[str, list[int]] = {}
    for pos, cert in enumerate(certs):
        by_cert.setdefault(cert, []).append(pos)
    unique = len(by_cert) == len(certs)
    head = seed + b"inspector:"
    eligible_of: dict[tuple, list[int]] = {}  # (division, recused certs) -> eligible positions
    out = {}
    for code, division in sorted(selected):
        skip = excluded.get(code)
        if skip:
            eligible = eligible_of.get((division, *skip))
            if eligible is None:
                gone = set(skip)
                eligible = eligible_of[(division, *skip)] = [p for p in cover.positions(division) if certs[p] not in gone]
        else:
            eligible = cover.positions(division)
        if len(eligible) < per_entity:
            raise PoolTooSmall(code, len(eligible), per_entity)
        if per_entity <= 0:
            out[code] = []
            continue
        loads = [load[p] for p in eligible]
        bound = sorted(loads)[per_entity - 1] if len(loads) > per_entity else max(loads)
        prefix = head + code.encode() + b":"
        # Positions rise with the eligible order, so (load, key, position) is the plain rule's stable order.
        ranked = sorted([(n, sha256(prefix + encoded[p]).digest(), p) for p, n in zip(eligible, loads) if n <= bound])[:per_entity]
        out[code] = chosen = [certs[p] for _n, _key, p in ranked]
        if unique:
            for _n, _key, p in ranked:
                load[p] += 1
        else:
            for c in chosen:
                for p in by_cert[c]:
                    load[p] += 1
    return out


def result_lines(strata: dict[str, list[tuple[str, str]]], chosen: dict[str, list[str]], excluded: dict[str, list[str]]) -> bytes:
    """``result.csv``: ``stratum,rank,credit_code,inspectors,excluded`` by stratum then rank."""
    lines = []
    for s in STRATA:
        for rank, (code, *_rest) in enumerate(strata.get(s, []), 1):
            lines.append(f"{s},{rank},{code},{';'.join(chosen[code])},{';'.join(excluded.get(code, []))}\n")
    return "".join(lines).encode("utf-8")


def draw(seed: bytes, pool: dict[str, Iterable[bytes]], percents: dict[str, str], inspectors, per_entity: int,
         *, recusal: dict | None = None, excluded: dict[str, list[str]] | None = None):
    """The whole draw: (selected per stratum, inspectors per entity, exclusions per entity)."""
    strata = {}
    for s in STRATA:
        if s in pool:
            lines = list(pool[s]) if not hasattr(pool[s], "__len__") else pool[s]
            n = sum(1 for ln in lines if ln.strip())
            strata[s] = select_stratum(seed, lines, quota(percents.get(s, "0"), n))
    selected = [row for s in STRATA for row in strata.get(s, [])]
    cover = Coverage(inspectors)
    if excluded is None:
        excluded = exclusions(selected, inspectors, recusal or {}, cover)
    chosen = assign(seed, selected, inspectors, excluded, per_entity, cover)
    return strata, chosen, excluded
