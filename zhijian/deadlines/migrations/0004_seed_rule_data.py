"""Seed the rule data added with the clock registry: ``roll_forward`` and ``obligor`` on the seeded
rules, and the new rules (``inspection.max_correction``). Rows an administrator added are untouched."""
from django.db import migrations


def seed(apps, schema_editor):
    from zhijian.deadlines.services import load_deadline_rules

    load_deadline_rules(model=apps.get_model("deadlines", "DeadlineRule"), refresh=("roll_forward", "obligor"))


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0003_clock_registry")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
