"""Django's ``flush`` (empty every table), aware of the audit-log guard.

On SQLite a flush is ``DELETE FROM`` each table, which the audit-log trigger refuses; wiping the
whole database is an operator act equivalent to deleting the database file, so the SQLite
triggers are dropped for the flush and put back in the same transaction. (PostgreSQL flushes with
TRUNCATE, which row triggers do not see.) Test runners call this between transactional tests.
"""
from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from zhijian.security import dbguard


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        with transaction.atomic(using=connection.alias):
            dbguard.uninstall(connection)
            try:
                return super().handle(**options)
            finally:
                dbguard.install(connection)
