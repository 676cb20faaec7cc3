"""The audit log's retention floor goes from 180 to 184 days (six months whatever the month):
the triggers are dropped and installed again from zhijian/security/dbguard.py."""
from django.db import migrations

from zhijian.security import dbguard


def reinstall(apps, schema_editor):
    dbguard.uninstall(schema_editor.connection)
    dbguard.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("security", "0003_alter_storedupload_kind")]

    # Backwards keeps the 184-day triggers: a longer floor never loses an entry.
    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
