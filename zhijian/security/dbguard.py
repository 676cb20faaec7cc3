"""Database triggers that keep the audit log append-only, per vendor.

UPDATE is always refused; DELETE only for rows older than the retention floor (等保 2.0 requires
≥ 6 months; six consecutive months are at most 184 days — July to December — so 184 days is six
months whatever the month). They hold against raw SQL too, not just the ORM. Whoever owns the
table can still drop the trigger or TRUNCATE it: in production the application's database role
should not own ``security_auditlog`` (see docs/security.md).
"""
from __future__ import annotations

TABLE = "security_auditlog"
# Days an audit entry is kept at least: the longest six consecutive months (31+31+30+31+30+31).
RETENTION_FLOOR_DAYS = 184

POSTGRES_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION security_auditlog_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'security_auditlog is append-only: UPDATE refused';
        END IF;
        IF OLD.created_at > now() - interval '%(days)d days' THEN
            RAISE EXCEPTION 'security_auditlog: rows younger than %(days)d days cannot be deleted';
        END IF;
        RETURN OLD;
    END
    $$ LANGUAGE plpgsql;
    """ % {"days": RETENTION_FLOOR_DAYS},
    f"""
    CREATE TRIGGER security_auditlog_guard BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION security_auditlog_guard();
    """,
]
POSTGRES_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS security_auditlog_guard ON {TABLE};",
    "DROP FUNCTION IF EXISTS security_auditlog_guard();",
]

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS security_auditlog_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'security_auditlog is append-only: UPDATE refused'); END;
    """,
    # Django stores UTC as 'YYYY-MM-DD HH:MM:SS[.ffffff]', which compares as text with datetime().
    f"""
    CREATE TRIGGER IF NOT EXISTS security_auditlog_no_delete BEFORE DELETE ON {TABLE}
    WHEN OLD.created_at > datetime('now', '-{RETENTION_FLOOR_DAYS} days')
    BEGIN SELECT RAISE(ABORT, 'security_auditlog: rows younger than {RETENTION_FLOOR_DAYS} days cannot be deleted'); END;
    """,
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS security_auditlog_no_update;",
    "DROP TRIGGER IF EXISTS security_auditlog_no_delete;",
]


def _statements(vendor: str, install: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_UNINSTALL
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_UNINSTALL
    raise NotImplementedError(f"no audit-log guard for database vendor {vendor!r}")


def install(connection) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, True):
            cursor.execute(sql)


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, False):
            cursor.execute(sql)
