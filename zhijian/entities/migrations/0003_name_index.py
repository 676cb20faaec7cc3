"""The name search index: FTS5 over name bigrams on SQLite, a GIN tsvector index on PostgreSQL."""
from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS entities_name_fts USING fts5(name_grams, content='entities_marketentity', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER IF NOT EXISTS entities_fts_ai AFTER INSERT ON entities_marketentity BEGIN "
    "INSERT INTO entities_name_fts(rowid, name_grams) VALUES (new.id, new.name_grams); END",
    "CREATE TRIGGER IF NOT EXISTS entities_fts_ad AFTER DELETE ON entities_marketentity BEGIN "
    "INSERT INTO entities_name_fts(entities_name_fts, rowid, name_grams) VALUES ('delete', old.id, old.name_grams); END",
    "CREATE TRIGGER IF NOT EXISTS entities_fts_au AFTER UPDATE OF name_grams ON entities_marketentity BEGIN "
    "INSERT INTO entities_name_fts(entities_name_fts, rowid, name_grams) VALUES ('delete', old.id, old.name_grams); "
    "INSERT INTO entities_name_fts(rowid, name_grams) VALUES (new.id, new.name_grams); END",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS entities_fts_au", "DROP TRIGGER IF EXISTS entities_fts_ad",
               "DROP TRIGGER IF EXISTS entities_fts_ai", "DROP TABLE IF EXISTS entities_name_fts"]
PG = ["CREATE INDEX IF NOT EXISTS entities_name_grams_gin ON entities_marketentity USING gin (to_tsvector('simple', name_grams))"]
PG_DOWN = ["DROP INDEX IF EXISTS entities_name_grams_gin"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("entities", "0002_initial")]
    operations = [migrations.RunPython(_run({"sqlite": SQLITE, "postgresql": PG}), _run({"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN}))]
