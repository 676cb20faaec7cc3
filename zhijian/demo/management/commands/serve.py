"""``zhijian serve``: the web server (gunicorn) and, unless ``--no-worker``, the task worker, the
event dispatcher and the scheduler — as one unit: Ctrl-C, SIGTERM or SIGHUP stops every one of
them (each runs in its own process group, which is signalled whole, so gunicorn's workers and any
grandchild go too) and frees the port; if one of them dies, the others are stopped as well.
"""
import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 10


class Stop(Exception):
    pass


def _signal_group(proc, sig) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def stop_all(procs, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM every process group, wait up to ``grace`` seconds in total, then SIGKILL the rest."""
    for p in procs:
        _signal_group(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:
        _signal_group(p, signal.SIGKILL)  # the group: also a grandchild its parent left behind
        if p.poll() is None:
            p.wait()


class Command(BaseCommand):
    help = "启动 Web 服务（gunicorn），以及后台任务 worker、事件分发器和周期任务调度器（Ctrl-C 或 SIGTERM 全部停止）"

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--no-worker", action="store_true", help="只启动 Web 服务（worker、分发器、调度器另行部署时）")

    def handle(self, port, host, workers, no_worker, **opts):
        def _stop(signum, frame):
            raise Stop(signum)

        previous = {sig: signal.signal(sig, _stop) for sig in STOP_SIGNALS}
        procs = []
        env = dict(os.environ)
        try:
            if not no_worker:
                for command in ("worker", "dispatch-events", "scheduler"):
                    procs.append(subprocess.Popen([sys.executable, "-m", "zhijian.cli", command], env=env, start_new_session=True))
            self.stdout.write(f"Zhijian 在 http://{host}:{port}/ 运行（Ctrl+C 停止）")
            self.stdout.flush()
            procs.append(subprocess.Popen([sys.executable, "-m", "gunicorn", "zhijian.wsgi:application", "-b", f"{host}:{port}",
                                           "-w", str(workers), "--access-logfile", "-", "--timeout", "120"],
                                          env=env, start_new_session=True))
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
            dead = [p.args[-1] if "cli" in " ".join(map(str, p.args)) else "gunicorn" for p in procs if p.poll() is not None]
            self.stderr.write(f"进程已退出：{', '.join(dead)}；停止其余进程。")
        except (Stop, KeyboardInterrupt):
            self.stdout.write("正在停止 Web 服务、worker、分发器和调度器…")
        finally:
            for sig in STOP_SIGNALS:  # a second Ctrl-C while stopping must not leave a half-stopped set
                signal.signal(sig, signal.SIG_IGN)
            stop_all(procs)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
