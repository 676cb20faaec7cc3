"""Database triggers keeping the audit log append-only (see zhijian/security/dbguard.py)."""
from django.db import migrations

from zhijian.security import dbguard


def install(apps, schema_editor):
    dbguard.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    dbguard.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("security", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
