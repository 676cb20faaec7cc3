"""The commit pass on PostgreSQL: the pool read once and written into the stratum files, on one
connection per core for a large registry.

Each part is one plain aggregate (no sort, no per-stratum FILTER): PostgreSQL returns the lines
``credit_code,division_code`` joined by newlines, the entity ids as 8-byte big-endian integers and
the credit-risk classes as one character per line, all three in the same row order (the aggregates
of one group see the rows in the same order), as raw bytes (binary results: no decoding). Python
splits the lines by stratum only when a part holds more than one. A registry is split into ranges
of heap pages (a TID range scan reads only its own pages), each read on a connection of its own
inside the commit transaction's exported snapshot, so the parts add up to exactly one moment's
pool; the parts' files are joined in page order.
"""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psycopg
from psycopg import IsolationLevel

from . import algorithm

STRATA = algorithm.STRATA
# At most this many heap pages per part: even rows of 60 bytes (far narrower than a registry's)
# keep a part's text (≤ 32 bytes a line) under half of PostgreSQL's 1 GB per value.
PART_PAGES = 100_000


class BadPool(Exception):
    """A pool the files cannot hold: ``code`` is ``bad_risk_class`` or ``bad_code``, ``value`` the culprit."""

    def __init__(self, code: str, value: str):
        super().__init__(code, value)
        self.code, self.value = code, value


def part_sql(inner: str, params: list) -> tuple[str, list]:
    """One pass over (a page range of) the pool: the count, the lines, the ids and the classes."""
    return ("SELECT count(*), convert_to(string_agg(p.credit_code || ',' || p.division_code, E'\\n'), 'UTF8'), "
            "string_agg(int8send(p.id), ''::bytea), convert_to(string_agg(p.risk, ''), 'UTF8') "
            f"FROM ({inner}) p", params)


def setup(cur) -> None:
    cur.execute("SET LOCAL work_mem = '1GB'")
    cur.execute("SET LOCAL jit = off")  # one long scan: compiling costs more than it saves


def bad_line(text: str) -> str:
    """The credit code of the first line that is not ``code,division`` (one comma, nothing that splits lines)."""
    for line in text.split("\n")[:-1]:
        if line.count(",") != 1 or len(line.splitlines()) != 1:
            return line.split(",", 1)[0]
    return ""


def by_stratum(n: int, lines: bytes, ids: bytes, risks: bytes) -> dict[str, tuple[int, bytes, bytes]]:
    """Check a part (``lines`` newline-terminated) and split it by stratum, keeping the order:
    {stratum: (count, lines, ids)}."""
    if lines.translate(None, algorithm._SAFE) != b",\n" * n:  # only non-ASCII text needs a closer look
        text = lines.decode("utf-8", "replace")
        raise BadPool("bad_code", bad_line(text) or "?")
    if len(ids) != 8 * n or len(risks) != n:
        raise BadPool("bad_risk_class", "?")
    classes = set(risks)
    if not classes <= {ord(s) for s in STRATA}:
        raise BadPool("bad_risk_class", bytes(sorted(classes - {ord(s) for s in STRATA})).decode("utf-8", "replace"))
    if len(classes) == 1:
        return {chr(classes.pop()): (n, lines, ids)}
    # Several classes: every byte of a line goes with its line's class (vectorised, no per-line Python).
    raw = np.frombuffer(lines, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    lengths = np.diff(ends, prepend=-1)
    cls = np.frombuffer(risks, dtype=np.uint8)
    per_byte = np.repeat(cls, lengths)
    id_rows = np.frombuffer(ids, dtype=np.uint8).reshape(n, 8)
    out = {}
    for s in STRATA:
        mask = cls == ord(s)
        count = int(mask.sum())
        if count:
            out[s] = (count, raw[per_byte == ord(s)].tobytes(), id_rows[mask].tobytes())
    return out


def write_part(rows, folder: str, tag: str) -> dict[str, int]:
    """Write parts' ``(count, lines, ids, classes)`` into ``entities-S.csv.<tag>`` and
    ``ids-S.bin.<tag>``; return {stratum: count}."""
    out = dict.fromkeys(STRATA, 0)
    handles = {}
    try:
        for n, lines, ids, risks in rows:
            if not n:
                continue
            for s, (count, text, id_bytes) in by_stratum(n, lines + b"\n", ids, risks).items():
                if s not in handles:
                    handles[s] = (open(Path(folder) / f"entities-{s}.csv.{tag}", "wb"), open(Path(folder) / f"ids-{s}.bin.{tag}", "wb"))
                handles[s][0].write(text)
                handles[s][1].write(id_bytes)
                out[s] += count
    finally:
        for pair in handles.values():
            for fh in pair:
                fh.close()
    return out


def run_part(conn, sql: str, params: list) -> tuple:
    """Run one part on a psycopg connection (server-side binding: only it returns binary results)."""
    with psycopg.Cursor(conn) as cur:
        setup(cur)
        cur.execute(sql, params, binary=True)
        n, lines, ids, risks = cur.fetchone()
    return n, bytes(lines or b""), bytes(ids or b""), bytes(risks or b"")


def run_parts(connect, snapshot: str, jobs: list[tuple[str, list]], folder: str, workers: int) -> list[dict]:
    """Run ``jobs`` ((sql, params) per page range), each on a new connection (``connect()``) in
    the exported snapshot, ``workers`` at a time in threads (the work is the database's); results
    in job order."""

    def run(i: int) -> dict:
        sql, params = jobs[i]
        conn = connect()
        try:
            conn.isolation_level = IsolationLevel.REPEATABLE_READ
            with conn.cursor() as cur:
                cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # checked by the caller: 00000003-0000001B-1
            return write_part([run_part(conn, sql, params)], folder, f"part{i}")
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(run, range(len(jobs))))


def join_parts(folder: str, tags: list[str], results: list[dict]) -> tuple[dict, dict, dict]:
    """Join the parts' files in order into ``entities-S.csv`` and ``ids-S.bin``; returns (counts,
    SHA-256 per pool file, SHA-256 per ids file)."""
    folder_path = Path(folder)
    counts, files, ids = {}, {}, {}
    for s in STRATA:
        for name, digests, key in ((f"entities-{s}.csv", files, f"entities-{s}.csv"), (f"ids-{s}.bin", ids, s)):
            h = hashlib.sha256()
            with open(folder_path / name, "wb") as out:
                for tag in tags:
                    part = folder_path / f"{name}.{tag}"
                    if not part.exists():
                        continue
                    with open(part, "rb") as fh:
                        while chunk := fh.read(1 << 23):
                            h.update(chunk)
                            out.write(chunk)
                    part.unlink()
            digests[key] = h.hexdigest()
        counts[s] = sum(r[s] for r in results)
    return counts, files, ids
