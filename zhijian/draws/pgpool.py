"""The commit pass on PostgreSQL: the pool read once and written into the stratum files, on one
connection per core for a large registry.

Each part is one plain aggregate (no sort, no per-stratum FILTER): PostgreSQL returns the lines
``credit_code,division_code`` joined by newlines and the entity ids as 8-byte big-endian integers,
in the same row order (the aggregates of one group see the rows in the same order), as raw bytes
(binary results: no decoding). The credit-risk classes other than B are read once, in the same
snapshot, and looked up by id for a whole part (:class:`Classes`); Python splits the lines by
stratum only when a part holds more than one. A registry is split into ranges of heap pages (a TID
range scan reads only its own pages), read on connections of their own inside the commit
transaction's exported snapshot, so the parts add up to exactly one moment's pool; the parts are
written in page order.
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
LETTERS = {ord(s) for s in STRATA}
# At most this many heap pages per part: even rows of 60 bytes (far narrower than a registry's)
# keep a part's text (≤ 32 bytes a line) under half of PostgreSQL's 1 GB per value.
PART_PAGES = 100_000


class BadPool(Exception):
    """A pool the files cannot hold: ``code`` is ``bad_risk_class`` or ``bad_code``, ``value`` the culprit."""

    def __init__(self, code: str, value: str):
        super().__init__(code, value)
        self.code, self.value = code, value


def part_sql(inner: str, params: list, classes_table: str = "") -> tuple[str, list]:
    """One pass over (a page range of) the pool: the count, the lines and the ids; with
    ``classes_table`` also :func:`classes_sql`'s two columns, read in the same statement."""
    sql = ("SELECT count(*), convert_to(string_agg(p.credit_code || ',' || p.division_code, E'\\n'), 'UTF8'), "
           f"string_agg(int8send(p.id), ''::bytea) FROM ({inner}) p")
    if classes_table:
        sql = f"SELECT * FROM ({sql}) part, ({classes_sql(classes_table)}) classes"
    return sql, params


def classes_sql(table: str) -> str:
    """The entities with a credit-risk class other than B (the default) and their classes: one pass
    over the class table, read once rather than joined into every part (a join would hash the
    whole table again for each)."""
    return (f"SELECT string_agg(int8send(r.entity_id), ''::bytea), convert_to(string_agg(r.risk_class, ''), 'UTF8') "
            f"FROM {table} r WHERE r.risk_class <> 'B'")


class Classes:
    """Credit-risk class per entity id (B unless listed), looked up for a whole part at once."""

    def __init__(self, ids: bytes, letters: bytes):
        if len(ids) != 8 * len(letters):
            raise BadPool("bad_risk_class", "?")
        if bad := set(letters) - LETTERS:
            raise BadPool("bad_risk_class", bytes(sorted(bad)).decode("utf-8", "replace"))
        keys = np.frombuffer(ids, dtype=">i8").astype(np.int64)
        order = np.argsort(keys)
        self.keys, self.letters = keys[order], np.frombuffer(letters, dtype=np.uint8)[order]

    def of(self, ids: bytes) -> bytes:
        """One class letter per 8-byte id of ``ids``."""
        want = np.frombuffer(ids, dtype=">i8")
        out = np.full(len(want), ord("B"), dtype=np.uint8)
        if len(self.keys) and len(want):
            at = np.minimum(np.searchsorted(self.keys, want), len(self.keys) - 1)
            hit = self.keys[at] == want
            out[hit] = self.letters[at[hit]]
        return out.tobytes()


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
    if not classes <= LETTERS:
        raise BadPool("bad_risk_class", bytes(sorted(classes - LETTERS)).decode("utf-8", "replace"))
    if len(classes) == 1:
        return {chr(classes.pop()): (n, lines, ids)}
    # Several classes: every byte of a line goes with its line's class (vectorised, no per-line Python).
    raw = np.frombuffer(lines, dtype=np.uint8)
    lengths = np.diff(algorithm.line_ends(lines), prepend=-1)
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


class PoolWriter:
    """The stratum files (``entities-S.csv`` and the private ``ids-S.bin``), written part after
    part in order and hashed as they are written."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.counts = dict.fromkeys(STRATA, 0)
        self.handles: dict[str, tuple] = {}
        self.hashes = {s: (hashlib.sha256(), hashlib.sha256()) for s in STRATA}

    def __enter__(self):
        for s in STRATA:  # every stratum has its files, empty ones included
            self.handles[s] = (open(self.folder / f"entities-{s}.csv", "wb"), open(self.folder / f"ids-{s}.bin", "wb"))
        return self

    def __exit__(self, *exc):
        for pair in self.handles.values():
            for fh in pair:
                fh.close()

    def add(self, part: dict[str, tuple[int, bytes, bytes]]) -> None:
        for s, (count, lines, ids) in part.items():
            for fh, h, data in zip(self.handles[s], self.hashes[s], (lines, ids)):
                h.update(data)
                fh.write(data)
            self.counts[s] += count

    def result(self) -> tuple[dict, dict, dict]:
        """(counts, SHA-256 per pool file, SHA-256 per ids file)."""
        return (dict(self.counts), {f"entities-{s}.csv": h[0].hexdigest() for s, h in self.hashes.items()},
                {s: h[1].hexdigest() for s, h in self.hashes.items()})


def split_part(n: int, lines: bytes, ids: bytes, risks: bytes) -> dict[str, tuple[int, bytes, bytes]]:
    """One part as the database returned it (lines without the last newline) by stratum."""
    return by_stratum(n, lines + b"\n", ids, risks) if n else {}


def run_part(conn, sql: str, params: list, classes=None) -> dict[str, tuple[int, bytes, bytes]]:
    """Run one part on a psycopg connection (server-side binding: only it returns binary
    results); the part by stratum. ``classes`` is a :class:`Classes`, or a callable returning one
    (waited for only once the part's own rows are in), or None when ``sql`` reads them itself."""
    with psycopg.Cursor(conn) as cur:
        setup(cur)
        cur.execute(sql, params, binary=True)
        row = cur.fetchone()
    n, lines, ids = row[0], bytes(row[1] or b""), bytes(row[2] or b"")
    if classes is None:
        classes = Classes(bytes(row[3] or b""), bytes(row[4] or b""))
    elif not isinstance(classes, Classes):
        classes = classes()
    return split_part(n, lines, ids, classes.of(ids))


def run_parts(connect, snapshot: str, jobs: list[tuple[str, list]], classes_table: str, writer: PoolWriter, workers: int) -> None:
    """Run ``jobs`` ((sql, params) per page range), each on a new connection (``connect()``) in
    the exported snapshot, ``workers`` at a time in threads (the work is the database's); the
    classes are read first, in the same snapshot, by one job of their own. Each part is written
    as soon as those before it are."""

    def on_snapshot(work):
        conn = connect()
        try:
            conn.isolation_level = IsolationLevel.REPEATABLE_READ
            with conn.cursor() as cur:
                cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # checked by the caller: 00000003-0000001B-1
            return work(conn)
        finally:
            conn.close()

    def read_classes(conn) -> Classes:
        with psycopg.Cursor(conn) as cur:
            cur.execute(classes_sql(classes_table), binary=True)
            ids, letters = cur.fetchone()
        return Classes(bytes(ids or b""), bytes(letters or b""))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        classes = pool.submit(on_snapshot, read_classes)
        parts = [pool.submit(on_snapshot, lambda conn, job=job: run_part(conn, *job, classes.result)) for job in jobs]
        for part in parts:
            writer.add(part.result())
