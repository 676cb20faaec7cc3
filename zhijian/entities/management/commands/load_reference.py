"""Load the shipped reference data (divisions, GB/T 4754 industries). Safe to re-run.

A registry command: it loads geo's divisions and the registry's industries (geo sits below the
registry and loads its own data only)."""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from zhijian.entities import reference as industries
from zhijian.geo import reference


class Command(BaseCommand):
    help = "Load divisions (levels 1–4 of 2023, villages of 2021) and GB/T 4754-2017 industries; idempotent upsert."

    def add_arguments(self, parser):
        parser.add_argument("--only", choices=["divisions", "industries"], help="load only this data set")
        parser.add_argument("--province", default="", help="comma-separated 2-digit province codes, e.g. 44,37 (divisions only)")

    def handle(self, *args, only=None, province="", verbosity=1, **options):
        provinces = [p.strip() for p in province.split(",") if p.strip()]
        bad = [p for p in provinces if len(p) != 2 or not p.isdigit()]
        if bad:
            raise CommandError(_("省级代码应为两位数字：%(codes)s") % {"codes": ", ".join(bad)})
        progress = None if verbosity == 0 else (lambda **kw: tqdm(mininterval=0.5, disable=None, **kw))
        if only in (None, "divisions"):
            started = time.monotonic()
            stats = reference.load_divisions(provinces=provinces or None, progress=progress)
            if stats.total() == 0:
                raise CommandError(_("没有找到符合条件的区划（--province %(p)s）") % {"p": province})
            self.stdout.write(
                _("区划：新增 %(c)d，更新 %(u)d，未变 %(n)d；村级挂接到最近上级 %(r)d，跳过 %(s)d；用时 %(t).1f 秒")
                % {"c": stats.created, "u": stats.updated, "n": stats.unchanged, "r": stats.reparented, "s": stats.skipped, "t": time.monotonic() - started}
            )
        if only in (None, "industries"):
            stats = industries.load_industries(progress=progress)
            self.stdout.write(_("国民经济行业：新增 %(c)d，更新 %(u)d，未变 %(n)d") % {"c": stats.created, "u": stats.updated, "n": stats.unchanged})
