import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "启动 Web 服务（gunicorn），以及后台任务 worker、事件分发器和周期任务调度器"

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--no-worker", action="store_true", help="只启动 Web 服务（worker、分发器、调度器另行部署时）")

    def handle(self, port, host, workers, no_worker, **opts):
        procs = []
        env = dict(os.environ)
        if not no_worker:
            for command in ("worker", "dispatch_events", "scheduler"):
                procs.append(subprocess.Popen([sys.executable, "-m", "zhijian.cli", command], env=env))
        self.stdout.write(f"Zhijian 在 http://{host}:{port}/ 运行（Ctrl+C 停止）")
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "zhijian.wsgi:application", "-b", f"{host}:{port}",
                                "-w", str(workers), "--access-logfile", "-", "--timeout", "120"], env=env)
        procs.append(web)
        try:
            web.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
