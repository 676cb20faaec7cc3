"""Transaction helpers shared by the services."""
from __future__ import annotations

from django.db import connection


def no_flush_wait() -> None:
    """Let the current transaction commit without waiting for the WAL flush (PostgreSQL only;
    a no-op elsewhere and outside a transaction).

    Only for work that is safe to lose in a crash: the caller says why (a redelivered event, an
    idempotent sweep, a recomputable execution). A later ordinary commit flushes the WAL up to and
    including this one, so anything that acts on the result durably also makes it durable.
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
