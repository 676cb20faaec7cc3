"""``zhijian dispatch-events``: the outbox worker (see zhijian.core.dispatch)."""
from django.core.management.base import BaseCommand

from zhijian.core import events
from zhijian.core.dispatch import Dispatcher


class Command(BaseCommand):
    help = "Deliver committed events to in-process handlers and webhook subscribers."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="work until nothing is due, then exit (for cron)")
        parser.add_argument("--batch", type=int, default=200)
        parser.add_argument("--concurrency", type=int, default=8, help="parallel webhook requests")
        parser.add_argument("--poll", type=float, default=1.0, help="seconds to sleep when idle")
        parser.add_argument("--timeout", type=float, default=None, help="webhook timeout (default WEBHOOK_TIMEOUT)")
        parser.add_argument("--lease", type=float, default=None, help="seconds a claimed delivery stays reserved (default from timeout and batch)")
        parser.add_argument("--handlers", action="append", default=[], help="extra module with @events.handler functions")

    def handle(self, *args, **opts):
        events.load_handlers(opts["handlers"])
        worker = Dispatcher(
            batch=opts["batch"], concurrency=opts["concurrency"], poll=opts["poll"], timeout=opts["timeout"], lease=opts["lease"]
        )
        try:
            if opts["once"]:
                n = worker.drain()
                self.stdout.write(f"processed {n} items")
            else:
                worker.run()
        finally:
            worker.close()
