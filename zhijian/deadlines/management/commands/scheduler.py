"""``zhijian scheduler``: run the registered periodic sweeps, each under its database lease."""
import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from zhijian.deadlines.scheduling import default_holder, registry, run_due_sweeps, run_sweep


class Command(BaseCommand):
    help = "Run periodic sweeps (registered with @periodic) when due; safe to run on several machines at once."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one tick, then exit")
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between ticks (default 30)")
        parser.add_argument("--only", action="append", help="run only this sweep (repeatable)")
        parser.add_argument("--force", action="store_true", help="with --once: run the sweeps now even if not due")
        parser.add_argument("--list", action="store_true", dest="list_only", help="list the registered sweeps and exit")

    def handle(self, *args, once=False, interval=30.0, only=None, force=False, list_only=False, **options):
        sweeps = registry()
        if list_only:
            for name, s in sorted(sweeps.items()):
                self.stdout.write(f"{name}\tevery={s.every}\tlease={s.lease}")
            return
        unknown = set(only or []) - set(sweeps)
        if unknown:
            raise CommandError(f"unknown sweep(s): {', '.join(sorted(unknown))}")
        holder = default_holder()
        stop = {"now": False}

        def _stop(signum, frame):
            stop["now"] = True

        if not once:
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        while True:
            if force:
                results = ((n, run_sweep(n, holder=holder, due_only=False)) for n in sorted(only or sweeps))
                ran = [(n, message) for n, (did, message) in results if did]
            else:
                ran = run_due_sweeps(holder=holder, only=only)
            for name, message in ran:
                self.stdout.write(f"ran {name}: {message}")
            if once or stop["now"]:
                return
            deadline = time.monotonic() + interval
            while not stop["now"] and time.monotonic() < deadline:
                time.sleep(min(1.0, interval))
            if stop["now"]:
                return
            close_old_connections()  # a long-lived loop must not keep a broken or stale connection
