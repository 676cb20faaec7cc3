"""Seed the deadline rules (seed_rules.py) and the holiday table (data/holidays/*.json).

Both loaders are idempotent and leave an administrator's edits alone, so re-running them later
(``load_deadline_rules``, ``load_holidays``) is safe.
"""
import logging

from django.db import migrations


def seed(apps, schema_editor):
    from zhijian.deadlines.services import holidays_dir, load_deadline_rules, load_holidays

    load_deadline_rules(model=apps.get_model("deadlines", "DeadlineRule"))
    if holidays_dir().is_dir():
        load_holidays(model=apps.get_model("deadlines", "Holiday"))
    else:  # an installation without data/: the library still knows 2004–2026
        logging.getLogger(__name__).warning("no %s: run load_holidays later", holidays_dir())


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
