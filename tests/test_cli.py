"""The console command: names as the README writes them, and ``zhijian serve`` stopping as a unit."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ZHIJIAN = str(Path(sys.executable).with_name("zhijian"))


def test_help_lists_commands_as_the_readme_writes_them():
    out = subprocess.run([ZHIJIAN, "--help"], capture_output=True, text=True, timeout=300, cwd=ROOT, check=True).stdout
    readme = (ROOT / "README.md").read_text()
    for name in ("verify-trace", "import-entities", "load-reference", "import-grids", "dispatch-events", "verify-draw", "createadmin",
                 "demo", "serve", "otp", "token", "worker", "scheduler"):
        assert f"  {name} " in out, name
        assert f"zhijian {name}" in readme, name
    assert "verify_trace" not in out and "import_entities" not in out
    usage = subprocess.run([ZHIJIAN, "verify-trace", "--help"], capture_output=True, text=True, timeout=300, cwd=ROOT, check=True).stdout
    assert usage.startswith("usage: zhijian verify-trace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, out, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.django_db(transaction=True)
def test_sigterm_on_serve_stops_every_process_and_frees_the_port():
    from django.db import connection

    port = _free_port()
    s = connection.settings_dict
    if connection.vendor == "postgresql":  # the test database itself, wherever the suite runs
        url = f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    else:
        url = f"sqlite:///{s['NAME']}"
    env = dict(os.environ, ZHIJIAN_DATABASE_URL=url, ZHIJIAN_TASKS="db")
    serve = subprocess.Popen([ZHIJIAN, "serve", "--port", str(port), "--workers", "1"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert serve.poll() is None, "serve exited early"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(1)
        started = _descendants(serve.pid)
        # worker, dispatcher, scheduler, gunicorn master and its worker
        assert len(started) >= 5, started
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    finally:
        if serve.poll() is None:
            serve.kill()
    survivors = [pid for pid in started if _alive(pid)]
    assert not survivors, survivors
    listening = [line for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"]
    assert not listening, listening
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a restarted server does (the client's TIME_WAIT)
        s.bind(("127.0.0.1", port))  # the port is free again
        s.listen()
