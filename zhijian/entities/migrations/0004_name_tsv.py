"""PostgreSQL: keep the bigram tsvector in a stored generated column, so a phrase query's
recheck reads it instead of recomputing ``to_tsvector`` for every candidate row."""
from django.db import migrations

PG = [
    "DROP INDEX IF EXISTS entities_name_grams_gin",
    "ALTER TABLE entities_marketentity ADD COLUMN IF NOT EXISTS name_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', name_grams)) STORED",
    "CREATE INDEX IF NOT EXISTS entities_name_tsv_gin ON entities_marketentity USING gin (name_tsv)",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS entities_name_tsv_gin",
    "ALTER TABLE entities_marketentity DROP COLUMN IF EXISTS name_tsv",
    "CREATE INDEX IF NOT EXISTS entities_name_grams_gin ON entities_marketentity USING gin (to_tsvector('simple', name_grams))",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("entities", "0003_name_index")]
    operations = [migrations.RunPython(_run(PG), _run(PG_DOWN))]
