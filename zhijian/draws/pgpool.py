"""The commit pass on PostgreSQL: the pool read once, written into the stratum files with the
sealed candidates, on one connection per core for a large registry.

PostgreSQL builds the lines (``credit_code,division_code``, joined by newlines) and returns them
per stratum as one text; with the seed and a bound per stratum, the same pass computes every
entity key SHA-256(seed ‖ "entity:" ‖ code) and returns the lines ``id,credit_code,division_code``
whose key lies below the bound: the few candidates the execution ranks. (Hashing in Python worker
processes instead was measured: its SHA-256 is cheaper per call, but splitting the lines and
carrying the ids cost as much again.) A large pool is split into id ranges, each read on a
connection of its own inside the commit transaction's exported snapshot, so the parts add up to
exactly one moment's pool; the parts' files are joined in id-range order.
"""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from psycopg import IsolationLevel

from . import algorithm

STRATA = algorithm.STRATA
LINE = "p.credit_code || ',' || p.division_code"  # joined by newlines; the last one is added here
KEY = "sha256(%s::bytea || textsend(p.credit_code))"


class BadPool(Exception):
    """A pool the files cannot hold: ``code`` is ``bad_risk_class`` or ``bad_code``, ``value`` the culprit."""

    def __init__(self, code: str, value: str):
        super().__init__(code, value)
        self.code, self.value = code, value


def part_sql(inner: str, params: list, seed: bytes, bounds: dict, grouped: bool, lo=None, hi=None) -> tuple[str, list]:
    """One pass over (an id range of) the pool: per stratum the count, the lines and, for strata
    with a bound, the sealed candidates.

    Plain aggregates with a FILTER per stratum (no sort: before PostgreSQL 16 ``string_agg``
    cannot be hash-grouped); ``grouped`` (pools above ``FLAT_MAX``) groups by stratum and range of
    ids instead, to keep each text well under PostgreSQL's 1 GB per value.
    """
    where, where_params = "", []
    if lo is not None:
        where, where_params = " WHERE p.id >= %s AND p.id < %s", [lo, hi]
    sealed_line = f"p.id::text || ',' || {LINE} || E'\\n'"
    if grouped:
        bound = "CASE p.risk " + " ".join("WHEN %s THEN %s::bytea" for _s in bounds) + " ELSE '\\x'::bytea END"
        sealed = f"string_agg({sealed_line}, '') FILTER (WHERE {KEY} < {bound})" if bounds else "''"
        sql_params = ([seed + b"entity:"] + [x for item in bounds.items() for x in item]) if bounds else []
        return (f"SELECT p.risk, count(*), string_agg({LINE}, E'\\n'), {sealed} FROM ({inner}) p{where} "
                "GROUP BY p.risk, p.id >> 16 ORDER BY p.risk, p.id >> 16", [*sql_params, *params, *where_params])
    cols, sql_params = [], []
    for r in STRATA:
        cols.append(f"count(*) FILTER (WHERE p.risk = '{r}'), string_agg({LINE}, E'\\n') FILTER (WHERE p.risk = '{r}')")
        if r in bounds:
            cols.append(f"string_agg({sealed_line}, '') FILTER (WHERE p.risk = '{r}' AND {KEY} < %s::bytea)")
            sql_params += [seed + b"entity:", bounds[r]]
        else:
            cols.append("''")
    return f"SELECT count(*), {', '.join(cols)} FROM ({inner}) p{where}", [*sql_params, *params, *where_params]


def setup(cur) -> None:
    cur.execute("SET LOCAL work_mem = '1GB'")
    cur.execute("SET LOCAL jit = off")  # one long scan: compiling costs more than it saves


def rows_of(cur, grouped: bool):
    """The pass's result as (stratum, count, lines, sealed candidates) rows."""
    if grouped:
        for r, n, text, sealed in cur:
            yield r, n, text or "", sealed or ""
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


def write_part(rows, folder: str, tag: str) -> dict:
    """Write one part's lines into ``entities-S.csv.<tag>``; return {stratum: (count, sealed candidates)}."""
    out = {s: [0, []] for s in STRATA}
    handles = {}
    try:
        for risk, n, text, sealed in rows:
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
            if sealed:
                out[risk][1].append(sealed.encode("utf-8"))
    finally:
        for fh in handles.values():
            fh.close()
    return {s: (n, b"".join(parts)) for s, (n, parts) in out.items()}


def run_parts(connect, snapshot: str, jobs: list[tuple[str, list]], grouped: bool, folder: str) -> list[dict]:
    """Run ``jobs`` ((sql, params) per id range), each on a new connection (``connect()``) in the
    exported snapshot, in threads (the work is the database's); results in job order."""

    def run(i: int) -> dict:
        sql, params = jobs[i]
        conn = connect()
        try:
            conn.isolation_level = IsolationLevel.REPEATABLE_READ
            with conn.cursor() as cur:
                cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # checked by the caller: 00000003-0000001B-1
                setup(cur)
                cur.execute(sql, params)
                return write_part(rows_of(cur, grouped), folder, f"part{i}")
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, range(len(jobs))))


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
