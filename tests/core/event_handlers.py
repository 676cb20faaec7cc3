"""Handlers used by the dispatcher tests; the dispatcher subprocess imports this module too.

The effect is a row in a plain table without a unique key, so a repeated effect would show.
"""
from django.db import connection

from zhijian.core import events

EFFECT_TABLE = "zj_test_effect"


def create_effect_table():
    with connection.cursor() as c:
        c.execute(f"CREATE TABLE IF NOT EXISTS {EFFECT_TABLE} (event_id bigint NOT NULL, handler varchar(40) NOT NULL)")
        c.execute(f"DELETE FROM {EFFECT_TABLE}")


def drop_effect_table():
    with connection.cursor() as c:
        c.execute(f"DROP TABLE IF EXISTS {EFFECT_TABLE}")


def effect_counts() -> tuple[int, int]:
    """(rows, rows beyond the first per (handler, event)) — the second must stay 0."""
    with connection.cursor() as c:
        c.execute(f"SELECT COUNT(*) FROM {EFFECT_TABLE}")
        total = c.fetchone()[0]
        c.execute(f"SELECT COUNT(*) FROM (SELECT event_id, handler FROM {EFFECT_TABLE} GROUP BY event_id, handler) t")
        distinct = c.fetchone()[0]
    return total, total - distinct


@events.handler("bulk.*", name="tests.bulk_effect")
def bulk_effect(event):
    with connection.cursor() as c:
        c.execute(f"INSERT INTO {EFFECT_TABLE} (event_id, handler) VALUES (%s, %s)", [event.id, "bulk"])
