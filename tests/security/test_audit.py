"""Audit log: written for the listed events, readable (page, CSV, API) by the audit administrator
only, and append-only in the database itself (raw SQL UPDATE/DELETE refused)."""
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, make_entity, make_user
from zhijian.core.errors import ApplicationError
from zhijian.security import audit, services
from zhijian.security.choices import AuditEvent
from zhijian.security.models import AuditLog

pytestmark = pytest.mark.django_db


def as_user(user):
    c = Client()
    c.force_login(user)
    return c


def raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_raw_sql_update_and_delete_are_refused():
    entry = audit.record(AuditEvent.EXPORT, username="someone", detail={"rows": 3})
    with pytest.raises(DatabaseError, match="append-only"):
        raw("UPDATE security_auditlog SET username = 'nobody' WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="younger than 184 days"):
        raw("DELETE FROM security_auditlog WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            AuditLog.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.username == "someone"


def test_rows_past_retention_can_be_deleted_but_not_changed():
    old = audit.record(AuditEvent.EXPORT, username="old")
    # Inserting is allowed, with any time: put a row 200 days back.
    raw("INSERT INTO security_auditlog (created_at, username, event, outcome, object_type, object_id, object_repr, detail) "
        "VALUES (%s, 'ancient', 'export', 'success', '', '', '', '{}')", [timezone.now() - timedelta(days=200)])
    ancient = AuditLog.objects.get(username="ancient")
    with pytest.raises(DatabaseError):
        raw("UPDATE security_auditlog SET username = 'x' WHERE id = %s", [ancient.pk])
    raw("DELETE FROM security_auditlog WHERE id = %s", [ancient.pk])
    assert not AuditLog.objects.filter(username="ancient").exists()
    assert AuditLog.objects.filter(pk=old.pk).exists()


def test_retention_floor_is_six_months_in_any_month(secadmin):
    """Six consecutive months are up to 184 days (July to December): a row 182 days old is still
    inside six months and must stay, whatever the purge asks and whatever raw SQL tries."""
    raw("INSERT INTO security_auditlog (created_at, username, event, outcome, object_type, object_id, object_repr, detail) "
        "VALUES (%s, 'six-months', 'export', 'success', '', '', '', '{}')", [timezone.now() - timedelta(days=182)])
    row = AuditLog.objects.get(username="six-months")
    with pytest.raises(DatabaseError, match="younger than 184 days"):
        raw("DELETE FROM security_auditlog WHERE id = %s", [row.pk])
    with pytest.raises(ApplicationError, match="至少保存 184 天"):
        services.purge_audit_log(actor=secadmin, older_than_days=181)
    assert AuditLog.objects.filter(pk=row.pk).exists()
    assert services.AUDIT_RETENTION_FLOOR_DAYS == 184


def test_purge_command_by_security_admin_only_and_logged(secadmin, sysadmin):
    raw("INSERT INTO security_auditlog (created_at, username, event, outcome, object_type, object_id, object_repr, detail) "
        "VALUES (%s, 'ancient', 'export', 'success', '', '', '', '{}')", [timezone.now() - timedelta(days=400)])
    recent = audit.record(AuditEvent.EXPORT, username="recent")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="只有安全管理员"):
        call_command("purge_audit_log", "--by", sysadmin.username, "--older-than-days", "365")
    with pytest.raises(CommandError, match="至少保存 184 天"):
        call_command("purge_audit_log", "--by", secadmin.username, "--older-than-days", "30")
    call_command("purge_audit_log", "--by", secadmin.username, "--older-than-days", "365")
    assert not AuditLog.objects.filter(username="ancient").exists()
    assert AuditLog.objects.filter(pk=recent.pk).exists()
    assert AuditLog.objects.get(event=AuditEvent.AUDIT_PURGE).detail["deleted"] == 1


def test_login_logout_and_failures_are_recorded(client, login_page):
    user = make_user(username="traced")
    login_page(client, "traced", "Wrong-Passw0rd!")
    login_page(client, "traced", PASSWORD)
    client.post("/accounts/logout/")
    events = list(AuditLog.objects.filter(username="traced").order_by("id").values_list("event", "outcome", "ip"))
    assert events == [
        ("login_failure", "failure", "127.0.0.1"),
        ("login_success", "success", "127.0.0.1"),
        ("logout", "success", "127.0.0.1"),
    ]
    assert AuditLog.objects.filter(event="login_success", user=user).exists()


def test_out_of_scope_and_forbidden_are_recorded(outsider, sysadmin):
    entity = make_entity("441900003001")
    assert as_user(outsider).get(f"/entities/{entity.credit_code}/").status_code == 404
    assert AuditLog.objects.filter(event=AuditEvent.PERMISSION_DENIED, user=outsider, detail__status=404).exists()
    assert as_user(sysadmin).get("/security/audit/").status_code == 403
    assert AuditLog.objects.filter(event=AuditEvent.PERMISSION_DENIED, user=sysadmin, detail__status=403).exists()


def test_admin_actions_are_recorded(sysadmin, bureau):
    response = as_user(sysadmin).post(f"/admin/org/bureau/{bureau.pk}/change/", {
        "name": "东莞市市场监督管理局", "short_name": "莞市监", "level": "city", "division_code": "4419", "jurisdiction": "4419",
    })
    assert response.status_code == 302
    entry = AuditLog.objects.get(event=AuditEvent.ADMIN_ACTION, user=sysadmin)
    assert entry.object_type == "org.bureau" and entry.detail["action"] == "change"


def test_audit_admin_lists_filters_and_exports(auditadmin, sysadmin, secadmin):
    audit.record(AuditEvent.LOGIN_FAILURE, outcome="failure", username="mallory")
    audit.record(AuditEvent.EXPORT, username="alice")
    auditor = as_user(auditadmin)
    page = auditor.get("/security/audit/?event=login_failure").content.decode()
    assert "mallory" in page and "alice" not in page
    response = auditor.get("/security/audit/export.csv?username=mallory")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff时间,用户名") and "mallory" in body and "alice" not in body
    assert AuditLog.objects.filter(event=AuditEvent.EXPORT, user=auditadmin).exists()
    for other in (sysadmin, secadmin):
        assert as_user(other).get("/security/audit/export.csv").status_code == 403


def test_audit_api_is_read_only_and_for_the_audit_admin(auditadmin, sysadmin):
    entry = audit.record(AuditEvent.EXPORT, username="bob")
    auditor = as_user(auditadmin)
    data = auditor.get("/api/v1/audit-log/?username=bob").json()
    assert [r["id"] for r in data["results"]] == [entry.pk]
    assert auditor.delete(f"/api/v1/audit-log/{entry.pk}/").status_code == 405
    assert auditor.patch(f"/api/v1/audit-log/{entry.pk}/", {"username": "x"}, content_type="application/json").status_code == 405
    assert as_user(sysadmin).get("/api/v1/audit-log/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_database_and_keeps_the_guard():
    """Wiping the whole database (test runners between transactional tests) still works, and the
    guard is back in place afterwards."""
    audit.record(AuditEvent.EXPORT, username="before-flush")
    call_command("flush", interactive=False, verbosity=0)
    assert AuditLog.objects.count() == 0
    entry = audit.record(AuditEvent.EXPORT, username="after-flush")
    with pytest.raises(DatabaseError):
        raw("DELETE FROM security_auditlog WHERE id = %s", [entry.pk])
