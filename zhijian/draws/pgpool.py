"""The commit pass on PostgreSQL: the pool read once, written into the stratum files, and the
sealed candidates found, on one process per core for a large registry.

PostgreSQL builds the lines (``credit_code,division_code\\n``) and returns them per stratum as
one text, with the entity ids in the same order. Python computes the entity keys: its SHA-256 costs
half of PostgreSQL's per call (PostgreSQL sets up a fresh digest context for every row), so the
hashing moved out of the query. A large pool is split into id ranges; each range is read and
hashed by a process of its own, on its own connection, inside the commit transaction's exported
snapshot, so the parts add up to exactly one moment's pool. The parts' files are joined in id-range
order by the caller.

Plain psycopg and the algorithm module only: the worker processes never touch Django.
"""
from __future__ import annotations

import hashlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import algorithm

STRATA = algorithm.STRATA
LINE = "p.credit_code || ',' || p.division_code"  # joined by newlines; the last one is added here


class BadPool(Exception):
    """A pool the files cannot hold: ``code`` is ``bad_risk_class`` or ``bad_code``, ``value`` the culprit."""

    def __init__(self, code: str, value: str):
        super().__init__(code, value)
        self.code, self.value = code, value


def part_sql(inner: str, params: list, bounds: dict, grouped: bool, lo=None, hi=None) -> tuple[str, list]:
    """One pass over (an id range of) the pool: per stratum the count, the lines and, for strata
    with a candidate bound, the ids in the lines' order (two aggregates of one node see the rows in
    the same order).

    Plain aggregates with a FILTER per stratum (no sort: before PostgreSQL 16 ``string_agg``
    cannot be hash-grouped); ``grouped`` (pools above ``FLAT_MAX``) groups by stratum and range of
    ids instead, to keep each text well under PostgreSQL's 1 GB per value.
    """
    where, where_params = "", []
    if lo is not None:
        where, where_params = " WHERE p.id >= %s AND p.id < %s", [lo, hi]
    if grouped:
        ids = "string_agg(p.id::text, ',')" if bounds else "''"
        return (f"SELECT p.risk, count(*), string_agg({LINE}, E'\\n'), {ids} FROM ({inner}) p{where} "
                "GROUP BY p.risk, p.id >> 16 ORDER BY p.risk, p.id >> 16", [*params, *where_params])
    cols = []
    for r in STRATA:
        cols.append(f"count(*) FILTER (WHERE p.risk = '{r}'), string_agg({LINE}, E'\\n') FILTER (WHERE p.risk = '{r}')")
        cols.append(f"string_agg(p.id::text, ',') FILTER (WHERE p.risk = '{r}')" if r in bounds else "''")
    return f"SELECT count(*), {', '.join(cols)} FROM ({inner}) p{where}", [*params, *where_params]


def setup(cur) -> None:
    cur.execute("SET LOCAL work_mem = '1GB'")
    cur.execute("SET LOCAL jit = off")  # one long scan: compiling costs more than it saves


def rows_of(cur, grouped: bool):
    """The pass's result as (stratum, count, lines, ids) rows."""
    if grouped:
        for r, n, text, ids in cur:
            yield r, n, text or "", ids or ""
        return
    n_all, *rest = cur.fetchone()
    rows = [(STRATA[i // 3], rest[i], rest[i + 1] or "", rest[i + 2] or "") for i in range(0, len(rest), 3)]
    if n_all != sum(r[1] for r in rows):
        raise BadPool("bad_risk_class", "?")
    yield from rows


def bad_line(text: str) -> str:
    """The credit code of the first line that is not ``code,division`` (one comma, nothing that splits lines)."""
    for line in text.split("\n")[:-1]:
        if line.count(",") != 1 or len(line.splitlines()) != 1:
            return line.split(",", 1)[0]
    return ""


def candidates(seed: bytes, bound: bytes, data: bytes, ids: str) -> bytes:
    """The lines ``id,credit_code,division_code\\n`` of a block whose entity key lies below ``bound``."""
    parsed = algorithm.split_pool(data)
    if parsed is None:  # valid but not plain ASCII: split line by line
        pairs = [ln.split(b",", 1) for ln in data.split(b"\n")[:-1]]
        parsed = [p[0] for p in pairs], [p[1] for p in pairs]
    codes, divisions = parsed
    id_list = ids.split(",")
    if len(id_list) != len(codes):
        raise BadPool("bad_code", "ids")
    fresh = hashlib.sha256(seed + b"entity:").copy

    def key(code: bytes) -> bytes:
        h = fresh()
        h.update(code)
        return h.digest()

    keep = [j for j, k in enumerate(map(key, codes)) if k < bound]
    return b"".join(b"%s,%s,%s\n" % (id_list[j].encode(), codes[j], divisions[j]) for j in keep)


def write_part(rows, seed: bytes, bounds: dict, folder: str, tag: str) -> dict:
    """Write one part's lines into ``entities-S.csv.<tag>``; return {stratum: (count, candidates)}."""
    out = {s: [0, []] for s in STRATA}
    handles = {}
    try:
        for risk, n, text, ids in rows:
            if risk not in out:
                raise BadPool("bad_risk_class", risk)
            if not n:
                continue
            text += "\n"
            data = text.encode("utf-8")
            if data.translate(None, algorithm._SAFE) != b",\n" * n:  # only non-ASCII text needs a closer look
                code = bad_line(text)
                if code or text.count("\n") != n:
                    raise BadPool("bad_code", code)
            if risk not in handles:
                handles[risk] = open(Path(folder) / f"entities-{risk}.csv.{tag}", "wb")
            handles[risk].write(data)
            out[risk][0] += n
            if risk in bounds:
                out[risk][1].append(candidates(seed, bounds[risk], data, ids))
    finally:
        for fh in handles.values():
            fh.close()
    return {s: (n, b"".join(parts)) for s, (n, parts) in out.items()}


def part_worker(conninfo: dict, snapshot: str, sql: str, params: list, grouped: bool, seed: bytes, bounds: dict,
                folder: str, tag: str) -> dict:
    """One id range on a connection of its own, in the exporting transaction's snapshot."""
    import psycopg

    with psycopg.connect(**conninfo, cursor_factory=psycopg.ClientCursor) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.cursor() as cur:
            cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # checked by the caller: 00000003-0000001B-1
            setup(cur)
            cur.execute(sql, params)
            return write_part(rows_of(cur, grouped), seed, bounds, folder, tag)


def run_parts(conninfo: dict, snapshot: str, jobs: list[tuple[str, list]], grouped: bool, seed: bytes, bounds: dict,
              folder: str) -> list[dict]:
    """Run ``jobs`` ((sql, params) per id range) in forked processes; results in job order."""
    ctx = multiprocessing.get_context("fork")  # the workers need nothing but this module, already loaded
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=ctx) as pool:
        futures = [pool.submit(part_worker, conninfo, snapshot, sql, params, grouped, seed, bounds, folder, f"part{i}")
                   for i, (sql, params) in enumerate(jobs)]
        return [f.result() for f in futures]


def join_parts(folder: str, tags: list[str], results: list[dict], bounds: dict) -> tuple[dict, dict, dict]:
    """Join the parts' files in order into ``entities-S.csv`` (and ``sealed-S.csv`` for strata with a
    bound); returns (counts, SHA-256 per pool file, SHA-256 per sealed file)."""
    folder_path = Path(folder)
    counts, files, sealed = {}, {}, {}
    for s in STRATA:
        h = hashlib.sha256()
        with open(folder_path / f"entities-{s}.csv", "wb") as out:
            for tag in tags:
                part = folder_path / f"entities-{s}.csv.{tag}"
                if not part.exists():
                    continue
                with open(part, "rb") as fh:
                    while chunk := fh.read(1 << 23):
                        h.update(chunk)
                        out.write(chunk)
                part.unlink()
        files[f"entities-{s}.csv"] = h.hexdigest()
        counts[s] = sum(r[s][0] for r in results)
        if s in bounds:
            data = b"".join(r[s][1] for r in results)
            (folder_path / f"sealed-{s}.csv").write_bytes(data)
            sealed[s] = hashlib.sha256(data).hexdigest()
    return counts, files, sealed
