"""``zhijian recount-entities``: rebuild the registry tally from the table (also run nightly)."""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from zhijian.entities import tally


class Command(BaseCommand):
    help = "Rebuild the registry tally (entities per division, status and type) from the entity table."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only compare the tally with COUNT(*) and report differences")

    def handle(self, *args, check=False, **options):
        t = time.perf_counter()
        if check:
            diff = tally.differences()
            for (d, s, ty), (kept, counted) in sorted(diff.items()):
                self.stdout.write(f"{d}\t{s}\t{ty}\t{kept}\t{counted}")
            self.stdout.write(_("计数不一致的组合：%(n)s 个") % {"n": len(diff)})
            return
        keys = tally.recount()
        self.stdout.write(_("已重新统计市场主体计数：%(n)s 个组合，用时 %(s).1f 秒") % {"n": keys, "s": time.perf_counter() - t})
