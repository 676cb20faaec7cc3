"""Event payloads compressed with LZ4 instead of PostgreSQL's default pglz.

A ``push.created`` payload lists up to 500 items (~200 kB of JSON); pglz compressing the few dozen
of them an import chunk writes took about as long as parsing them. LZ4 is several times faster
and compresses such JSON about as well. Needs PostgreSQL 14+ built with lz4 (Debian's is); on
any other database, or a server without it, nothing changes. Existing rows keep their compression.
"""
from django.db import migrations


def lz4(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cur:
        cur.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        row = cur.fetchone()
        if row and row[0]:
            cur.execute("ALTER TABLE core_event ALTER COLUMN payload SET COMPRESSION lz4")


def pglz(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE core_event ALTER COLUMN payload SET COMPRESSION pglz")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_event_priority")]
    operations = [migrations.RunPython(lz4, pglz)]
