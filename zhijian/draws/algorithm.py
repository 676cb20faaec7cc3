"""The public draw algorithm (docs/draws.md): pure functions over bytes, no Django.

Everything here can be recomputed with ``docs/draws_verify.py`` (standard library only) from the
published files. Byte encodings:

- seed: 32 random bytes; commitment = SHA-256(seed) in lower-case hex.
- pool file of stratum S (``entities-S.csv``): UTF-8, one line per entity ``credit_code,division_code\\n``,
  in the order the database read them (fixed and hashed before the seed exists).
- inspectors file (``inspectors.csv``): ``cert_no,prefix;prefix…,masked name\\n`` sorted by cert_no.
- selection: a partial Fisher–Yates shuffle of the line numbers of each pool file driven by
  SHA-256(seed ‖ b"entity:" ‖ stratum ‖ b":" ‖ step) (:func:`positions`); k = ceil(percent × n / 100)
  with percent given to two decimals.
- inspectors: drawn entities are taken in credit-code order; each picks ``per_entity`` times, at
  random by the words of SHA-256(seed ‖ b"inspector:" ‖ credit_code ‖ b":" ‖ block), among its eligible
  inspectors with the fewest entities given to them so far (:func:`assign_iter`).
"""
from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from decimal import Decimal
from operator import itemgetter

import numpy as np

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


ALGORITHM = "zhijian-draw/2"  # named in draw.json; docs/draws.md defines it byte for byte


def positions(seed: bytes, stratum: str, n: int, k: int) -> list[int]:
    """The 0-based line numbers drawn from a pool file of ``n`` lines, in draw order (rank 1 first).

    A partial Fisher–Yates shuffle of the places 0 … n−1: step i (0 ≤ i < k) swaps place i with
    place j = i + (u mod (n − i)), u = SHA-256(seed ‖ b"entity:" ‖ stratum ‖ b":" ‖ i in decimal) read
    as a big-endian integer, and the line then at place i is drawn. (u has 256 bits, so the modulo
    bias is below 2⁻²⁰⁰.) Only the places moved so far are remembered: k hashes, not n.
    """
    k = max(0, min(k, n))
    head = seed + b"entity:" + stratum.encode("ascii") + b":"
    sha256, moved, out = hashlib.sha256, {}, []
    for i in range(k):
        j = i + int.from_bytes(sha256(head + str(i).encode()).digest(), "big") % (n - i)
        out.append(moved.get(j, j))
        moved[j] = moved.get(i, i)
    return out


def select_stratum(seed: bytes, stratum: str, lines: list[bytes], k: int) -> list[tuple[str, str]]:
    """The drawn lines of a stratum's pool (a list of ``code,division`` lines), in rank order."""
    lines = [ln for ln in lines if ln.strip()]
    out = []
    for p in positions(seed, stratum, len(lines), k):
        code, division = lines[p].rstrip(b"\r\n").decode().split(",", 1)
        out.append((code, division))
    return out


# Printable ASCII except the comma: what a well-formed pool line holds besides its one comma.
_SAFE = bytes(b for b in range(0x20, 0x7F) if b != ord(","))


def line_ends(data) -> np.ndarray:
    """Offsets of every newline of ``data`` (bytes or any buffer), found in blocks so that no
    array as large as the file is ever allocated."""
    raw = np.frombuffer(data, dtype=np.uint8)
    block = 1 << 22
    found = np.empty(min(block, len(raw)), dtype=bool)
    parts = []
    for start in range(0, len(raw), block):
        part = raw[start : start + block]
        np.equal(part, 10, out=found[: len(part)])
        parts.append(np.flatnonzero(found[: len(part)]) + start)
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def pick_lines(data, picks: list[int], ends=None) -> list[tuple[str, str]] | None:
    """(code, division) of the lines ``picks`` (0-based, in that order) of a pool file held in
    ``data`` (bytes or any buffer; ``ends`` its :func:`line_ends` if known); None when ``data``
    is not whole lines or a picked line is not ``code,division``.

    The newlines are found by vectorised comparison; the picked lines are sliced, joined and
    split by two string operations: no Python work per line of the file, little per picked line.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    if len(raw) and raw[-1] != 10:
        return None
    if not len(picks):
        return []
    ends = line_ends(data) if ends is None else ends
    at = np.asarray(picks, dtype=np.int64)
    if at.min() < 0 or at.max() >= len(ends):
        return None
    stops = (ends[at] + 1).tolist()
    starts = np.where(at > 0, ends[np.maximum(at - 1, 0)] + 1, 0).tolist()
    blob = b"".join([data[a:b] for a, b in zip(starts, stops)])
    if blob.count(b",") != len(picks):
        return None
    try:
        fields = blob.decode("utf-8").replace("\n", ",").split(",")  # code, division, code, …, ""
    except UnicodeDecodeError:
        return None
    return list(zip(fields[0:-1:2], fields[1::2]))


def parse_inspectors(data: bytes) -> list[tuple[str, tuple[str, ...]]]:
    """[(cert_no, jurisdiction prefixes)] of ``inspectors.csv``; a cert listed twice is refused."""
    rows = []
    for line in data.decode("utf-8").splitlines():
        if line:
            cert, scope, _name = line.split(",", 2)
            rows.append((cert, tuple(scope.split(";"))))
    if len({cert for cert, _s in rows}) != len(rows):
        raise ValueError("inspectors.csv lists a cert_no twice")
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
    by_home: dict[str, list[str]] = {}  # division -> covering inspectors recused by the home rule, sorted

    def home_hits(division: str) -> list[str]:
        got = by_home.get(division)
        if got is None:
            got = by_home[division] = sorted(
                {cert for cert in cover(division) for level in levels
                 if len(h := home.get(cert, "")) >= level and len(division) >= level and h[:level] == division[:level]})
        return got

    # Entities of one division share their list: read it, never change it.
    out, none = {}, []
    for code, division in selected:
        hit = home_hits(division) if levels else none
        if (by_relation and code in related) or (by_last and code in last):
            extra = (related.get(code, set()) if by_relation else set()) | (last.get(code, set()) if by_last else set())
            hit = sorted(set(hit) | {cert for cert in cover(division) if cert in extra})
        out[code] = hit
    return out


_PICKED = float("inf")  # the load of an inspector already picked for the entity at hand


def assign_iter(seed: bytes, selected: list[tuple], cover: Coverage, excluded: dict[str, list[str]], per_entity: int):
    """Yield ``(row, picked)`` for the drawn entities in credit-code order: a row of ``selected``
    is ``(credit_code, division_code, …)`` (what follows is passed through), ``picked`` the tuple
    of the chosen inspectors' positions in ``cover.certs``, in pick order.

    Pick t (0-based) of an entity: among its eligible inspectors (covering it, not recused, not yet
    picked for it) those with the fewest entities given to them so far in this draw, in
    inspectors.csv order; the one at index (word t mod their number) is picked. Word t is bytes
    8(t mod 4) … 8(t mod 4)+7, big-endian, of SHA-256(seed ‖ b"inspector:" ‖ credit_code ‖ b":" ‖
    (t div 4) in decimal). Raises :class:`PoolTooSmall`.
    """
    certs = cover.certs
    load = [0] * len(certs)
    eligible_of: dict[tuple, list[int]] = {}  # (division, recused certs) -> eligible positions
    covering = cover.pos_cache
    head = seed + b"inspector:"
    sha256 = hashlib.sha256
    blocks = -(-per_entity // 4)
    for row in sorted(selected, key=itemgetter(0)):
        code, division = row[0], row[1]
        skip = excluded.get(code)
        if skip:
            eligible = eligible_of.get((division, *skip))
            if eligible is None:
                gone = set(skip)
                eligible = eligible_of[(division, *skip)] = [p for p in cover.positions(division) if certs[p] not in gone]
        else:
            eligible = covering.get(division) or cover.positions(division)
        if len(eligible) < per_entity:
            raise PoolTooSmall(code, len(eligible), per_entity)
        if per_entity <= 0:
            yield row, ()
            continue
        prefix = head + code.encode() + b":"
        digest = sha256(prefix + b"0").digest() if blocks == 1 else b"".join([sha256(prefix + str(b).encode()).digest() for b in range(blocks)])
        loads = [load[p] for p in eligible]
        low = min(loads)
        tied = [i for i, n in enumerate(loads) if n == low]
        if per_entity == 2:  # the usual pair, unrolled (the same rule as the loop below)
            i = tied.pop(int.from_bytes(digest[:8], "big") % len(tied))
            if not tied:
                loads[i] = _PICKED
                low = min(loads)
                tied = [t for t, n in enumerate(loads) if n == low]
            first, second = eligible[i], eligible[tied[int.from_bytes(digest[8:16], "big") % len(tied)]]
            load[first] += 1
            load[second] += 1
            yield row, (first, second)
            continue
        chosen = []
        for t in range(per_entity):
            if not tied:  # everyone at the lowest load is picked: the next lowest, without those picked
                low = min(loads)
                tied = [i for i, n in enumerate(loads) if n == low]
            # Removing the picked one leaves exactly the tied list the rule would recompute.
            i = tied.pop(int.from_bytes(digest[8 * t : 8 * t + 8], "big") % len(tied))
            loads[i] = _PICKED
            chosen.append(eligible[i])
        for p in chosen:
            load[p] += 1
        yield row, tuple(chosen)


def assign(seed: bytes, selected: list[tuple[str, str]], inspectors, excluded: dict[str, list[str]], per_entity: int,
           cover: Coverage | None = None) -> dict[str, list[str]]:
    """Inspectors per drawn entity: {credit_code: [cert, …]} (see :func:`assign_iter`)."""
    cover = cover or Coverage(inspectors)
    certs = cover.certs
    return {row[0]: [certs[p] for p in picked] for row, picked in assign_iter(seed, selected, cover, excluded, per_entity)}


def result_lines(strata: dict[str, list[tuple[str, str]]], chosen: dict[str, list[str]], excluded: dict[str, list[str]]) -> bytes:
    """``result.csv``: ``stratum,rank,credit_code,inspectors,excluded`` by stratum then rank."""
    return result_text(strata, {code: ";".join(certs) for code, certs in chosen.items()}, excluded)


def result_text(strata: dict[str, list[tuple]], chosen: dict[str, str], excluded: dict[str, list[str]]) -> bytes:
    """:func:`result_lines` from the inspectors already joined by ``;`` per credit code; the
    lines are built column by column (no Python work per line)."""
    parts = []
    for s in STRATA:
        rows = strata.get(s, [])
        if not rows:
            continue
        codes = [row[0] for row in rows]
        recused = map(";".join, map(excluded.get, codes, itertools.repeat(())))
        parts.append("\n".join(map(",".join, zip(itertools.repeat(s), map(str, range(1, len(rows) + 1)), codes,
                                                   map(chosen.__getitem__, codes), recused))) + "\n")
    return "".join(parts).encode("utf-8")


def draw(seed: bytes, pool: dict[str, Iterable[bytes]], percents: dict[str, str], inspectors, per_entity: int,
         *, recusal: dict | None = None, excluded: dict[str, list[str]] | None = None):
    """The whole draw: (selected per stratum, inspectors per entity, exclusions per entity)."""
    strata = {}
    for s in STRATA:
        if s in pool:
            lines = [ln for ln in pool[s] if ln.strip()]
            strata[s] = select_stratum(seed, s, lines, quota(percents.get(s, "0"), len(lines)))
    selected = [row for s in STRATA for row in strata.get(s, [])]
    cover = Coverage(inspectors)
    if excluded is None:
        excluded = exclusions(selected, inspectors, recusal or {}, cover)
    chosen = assign(seed, selected, inspectors, excluded, per_entity, cover)
    return strata, chosen, excluded
