#!/usr/bin/env python
"""The API contract run: schemathesis over every operation of /api/v1/schema/, for two tokens.

Builds a small demo city with the real builder (``zhijian demo --build-only --entities 300``) on a
throwaway SQLite database, starts ``zhijian serve`` on it, issues read-write tokens with ``zhijian
token`` for a city-wide account (the demo city's leader) and a one-street account (grid1, the grid
officer of 解放路街道), and runs schemathesis for each with the checks the published schema promises:
no server error, documented status codes, content types, headers and response bodies. Negative
data is generated too, to look for 5xx; its rejection is not itself required.

Every operation is tested for both tokens. To stay within a few minutes on two cores each token's
operations are split into two shards run at the same time (one schemathesis process each, single
threaded: CPython 3.11's compiler is not thread-safe for the lambdas hypothesis describes). The
operations that revoke or rotate the caller's own token run last, each with a token of its own, so
they do not turn the rest of the run into 401s.

Exit status 0 when every run passed; the closing lines give, per token, the operations tested, the
requests the server answered (counted in its access log) and the failures. ``scripts/test.sh``
runs it as its own step.

    python scripts/api_contract.py [--max-examples 5] [--seed N|random] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_schema_conformance", "response_headers_conformance"])
# Operations that end the caller's token: run after the rest, one fresh token each.
TOKEN_ENDING = ["/api/v1/auth/token/revoke/", "/api/v1/auth/token/rotate/"]
ROLES = [("city-wide (leader)", "leader"), ("one street (grid1)", "grid1")]
# The first shard: the operations with the largest bodies (about half of the requests); the second: the rest.
HEAVY = r"^/api/v1/(entities|inspections|imports)/"
# Requests with a method the operation does not have only measure Django's 405: not sent.
CONFIG = """\
[phases.coverage]
unexpected-methods = []
"""


def bin_path(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zhijian(env, *args, log: Path | None = None) -> str:
    """Run a ``zhijian`` command; its progress bars go to ``log`` (printed if it fails)."""
    with (log.open("w") if log else open(os.devnull, "w")) as err:
        out = subprocess.run([bin_path("zhijian"), *args], env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                             stderr=err if log else None)
    if out.returncode:
        print(out.stdout, log.read_text(errors="replace")[-5000:] if log else "", sep="\n")
        raise SystemExit(f"zhijian {' '.join(args)} failed ({out.returncode})")
    return out.stdout.strip()


def token_for(env, username: str) -> str:
    help_text = zhijian(env, "token", "--help")
    args = ["token", username]
    if "--scope" in help_text:
        args += ["--scope", "write"]
    if "--integrator" in help_text:
        args += ["--integrator", "schemathesis"]
    return zhijian(env, *args).splitlines()[-1].strip()


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the server did not answer {url} within {timeout:.0f} s")
        time.sleep(0.5)


class Run:
    """One schemathesis process (a token and a set of operations), started at once, read when done."""

    def __init__(self, work: Path, name: str, schema_url: str, token: str, agent: str, args, *, filters: list[str]):
        self.name, self.dir = name, work / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "schemathesis.txt"
        cmd = [bin_path("schemathesis"), "--config-file", str(work / "schemathesis.toml"), "run", schema_url,
               "-H", f"Authorization: Token {token}", "-H", f"User-Agent: {agent}", "--checks", CHECKS,
               "--max-examples", str(args.max_examples), "--workers", "1", "--no-color",
               "--report", "json", "--report-dir", str(self.dir), "--request-timeout", "60",
               "--suppress-health-check", "all", "--warnings", "off", *filters]
        if str(args.seed).isdigit():
            cmd += ["--seed", str(args.seed)]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=self.log.open("w"), stderr=subprocess.STDOUT, text=True)

    def result(self) -> dict:
        code = self.proc.wait()
        reports = sorted(self.dir.glob("json-*.json"), key=lambda p: p.stat().st_mtime)
        report = json.loads(reports[-1].read_text()) if reports else {}
        return {"exit": code, "seconds": time.monotonic() - self.started,
                "operations": report.get("operations", {}).get("tested", 0),
                "cases": report.get("test_cases", {}).get("generated", 0),
                "failures": sum(f.get("count", 0) for f in report.get("failures", [])),
                "errors": len(report.get("errors", [])), "seed": report.get("seed")}

    def show_problems(self) -> None:
        """Print schemathesis's own account of what failed (from its FAILURES or ERRORS section)."""
        text = self.log.read_text(errors="replace")
        start = min((i for i in (text.find("==== FAILURES"), text.find("==== ERRORS")) if i >= 0), default=0)
        print(f"---- {self.name} ----")
        print(text[start:][-20000:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=300)
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("ZHIJIAN_CONTRACT_EXAMPLES", "5")))
    parser.add_argument("--seed", default=os.environ.get("ZHIJIAN_CONTRACT_SEED", "20261207"),
                        help="schemathesis's seed: the same cases on every run (CI), or 'random' for new ones")
    parser.add_argument("--keep", type=Path, default=None, help="keep the database, logs and reports in this folder")
    args = parser.parse_args(argv)

    work = Path(args.keep or tempfile.mkdtemp(prefix="zhijian-contract-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    (work / "schemathesis.toml").write_text(CONFIG)
    env = {**os.environ, "ZHIJIAN_DATABASE_URL": f"sqlite:///{work / 'demo.sqlite3'}", "ZHIJIAN_VAR_DIR": str(work / "var"),
           "ZHIJIAN_TASKS": "db", "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    print(f"==> demo city ({args.entities} entities) on {work / 'demo.sqlite3'}", flush=True)
    zhijian(env, "demo", "--build-only", "--entities", str(args.entities), log=work / "build.log")
    port = free_port()
    log = work / "serve.log"
    server = subprocess.Popen([bin_path("zhijian"), "serve", "--port", str(port), "--workers", "4"], env=env, cwd=ROOT,
                              start_new_session=True, stdout=log.open("w"), stderr=subprocess.STDOUT)
    results, runs, operations = {}, [], 0
    try:
        schema_url = f"http://127.0.0.1:{port}/api/v1/schema/?format=json"
        wait_for(schema_url, 90)
        schema = json.loads(urllib.request.urlopen(schema_url, timeout=60).read())
        operations = sum(1 for item in schema["paths"].values() for m in item if m in {"get", "put", "post", "patch", "delete"})
        ending = [p for p in TOKEN_ENDING if p in schema["paths"]]
        not_ending = [arg for p in ending for arg in ("--exclude-path", p)]
        print(f"==> schemathesis on {schema_url}: {operations} operations, checks {CHECKS}", flush=True)
        for label, username in ROLES:
            agent = f"zhijian-contract/{username}"
            runs.append((username, Run(work, f"{username}-heavy", schema_url, token_for(env, username), agent, args,
                                       filters=["--include-path-regex", HEAVY])))
            runs.append((username, Run(work, f"{username}-rest", schema_url, token_for(env, username), agent, args,
                                       filters=["--exclude-path-regex", HEAVY, *not_ending])))
        done = [(username, run, run.result()) for username, run in runs]
        for label, username in ROLES:  # the token-ending operations, each with a fresh token
            agent = f"zhijian-contract/{username}"
            for i, path in enumerate(ending):
                run = Run(work, f"{username}-end{i}", schema_url, token_for(env, username), agent, args,
                          filters=["--include-path", path])
                done.append((username, run, run.result()))
        access = log.read_text(errors="replace")
        for label, username in ROLES:
            mine = [(run, r) for u, run, r in done if u == username]
            results[username] = {"label": label, "operations": sum(r["operations"] for _run, r in mine),
                                 "requests": access.count(f'"zhijian-contract/{username}"'),
                                 "cases": sum(r["cases"] for _run, r in mine), "failures": sum(r["failures"] for _run, r in mine),
                                 "errors": sum(r["errors"] for _run, r in mine), "exit": max(r["exit"] for _run, r in mine),
                                 "seconds": max(r["seconds"] for _run, r in mine), "runs": mine}
    finally:
        for _username, run in runs:
            if run.proc.poll() is None:
                run.proc.kill()
        try:
            os.killpg(server.pid, signal.SIGTERM)  # zhijian serve stops its gunicorn, worker, dispatcher and scheduler
            server.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
    # Any 5xx the server logged (schemathesis reports those it saw; this catches the rest).
    server_errors = len(re.findall(r'" 5\d\d ', log.read_text(errors="replace"))) if log.exists() else 0
    ok = len(results) == len(ROLES) and not server_errors and all(
        r["exit"] == 0 and r["failures"] == 0 and r["errors"] == 0 for r in results.values())
    for r in results.values():
        for run, outcome in r["runs"]:
            if outcome["exit"] or outcome["failures"] or outcome["errors"]:
                run.show_problems()
    print(f"==> API contract: {operations} operations in the schema, {time.monotonic() - started:.0f} s in all")
    for r in results.values():
        print(f"    {r['label']:<20} operations {r['operations']}, requests {r['requests']} ({r['cases']} test cases), "
              f"failures {r['failures']}, errors {r['errors']}")
    if server_errors:
        print(f"    the server answered {server_errors} request(s) with a 5xx (see {log})")
    if ok and args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    elif not ok:
        print(f"    logs and reports kept in {work}")
    print(f"API contract: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
