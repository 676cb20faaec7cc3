"""Integrator API tokens (finding 7: "API tokens never expire and survive a password change"):
hashed keys shown once, expiry, read-only scope, rotation, revocation by the security
administrator, and every token revoked when the owner's password changes — by any path."""
import hashlib
import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, make_user
from zhijian.security import services
from zhijian.security.choices import AuditEvent, TokenRevocation
from zhijian.security.models import ApiToken, AuditLog

pytestmark = pytest.mark.django_db

INVALID_TOKEN = "接口令牌无效、已过期或已被撤销，请向系统管理员申请新令牌。"
READ_ONLY = "该接口令牌为只读令牌，不能新增、修改或删除数据。"


def api(key, method="get", path="/api/v1/people/", **kw):
    return getattr(Client(), method)(path, HTTP_AUTHORIZATION=f"Token {key}", content_type="application/json", **kw)


def assert_refused(response):
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"] == {"code": "token_invalid", "message": INVALID_TOKEN, "detail": {}}


@pytest.fixture
def integrator(db):
    return make_user("enforcement_officer", username="wjj-system")


def test_only_the_hash_is_stored_and_the_key_expires_after_90_days(integrator):
    key = services.issue_token(actor=None, user=integrator, integrator="卫健委审批系统")
    token = ApiToken.objects.get(user=integrator)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest() and token.key_prefix == key[:8]
    with connection.cursor() as cursor:  # the key itself is in no column of the table
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        assert not any(key in str(value) for row in cursor.fetchall() for value in row)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    assert api(key).status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_refused(api(key))
    assert_refused(api("0" * 40))


@pytest.mark.parametrize("path", ["page", "admin", "console"])
def test_a_password_change_revokes_every_token_of_the_owner(integrator, path, client, settings):
    """Finding 7 as reproduced: a token kept working after its owner's password changed."""
    settings.REQUIRE_OTP = False
    keys = [services.issue_token(actor=None, user=integrator), services.issue_token(actor=None, user=integrator, scope="read")]
    other = make_user("enforcement_officer", username="other-system")
    other_key = services.issue_token(actor=None, user=other)
    assert all(api(k).status_code == 200 for k in keys)
    new = "Lantern#Brook-7x"
    if path == "page":  # the person's own password page
        client.force_login(integrator)
        r = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
        assert r.status_code == 302, r.content.decode()[:2000]
    elif path == "admin":  # the system administrator's set-password form
        sysadmin = make_user("system_admin", username="sysadmin", is_staff=True)
        client.force_login(sysadmin)
        r = client.post(f"/admin/org/user/{integrator.pk}/password/", {"password1": new, "password2": new, "usable_password": "true"})
        assert r.status_code == 302, r.content.decode()[:2000]
    else:  # a script at the console
        integrator.set_password(new)
        integrator.save()
    for key in keys:
        assert_refused(api(key))
    assert set(ApiToken.objects.filter(user=integrator).values_list("revoked_reason", flat=True)) == {TokenRevocation.PASSWORD_CHANGED}
    assert api(other_key).status_code == 200  # nobody else's
    assert AuditLog.objects.filter(event=AuditEvent.TOKEN_REVOKED, detail__reason="password_changed").exists()


def test_disabling_the_password_revokes_tokens_but_a_rehash_at_sign_in_does_not(integrator, settings, client):
    key = services.issue_token(actor=None, user=integrator)
    # Signing in with a password stored under an older hasher upgrades the hash: not a change.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", "django.contrib.auth.hashers.MD5PasswordHasher"]
    old_hash = integrator.password
    assert old_hash.startswith("md5$")
    settings.REQUIRE_OTP = False
    assert client.post("/accounts/login/", {"username": integrator.username, "password": PASSWORD}).status_code == 302
    integrator.refresh_from_db()
    assert integrator.password.startswith("pbkdf2_sha256$")
    assert api(key).status_code == 200
    integrator.set_unusable_password()
    integrator.save()
    assert_refused(api(key))


def test_a_deactivated_owner_token_answers_401(integrator):
    key = services.issue_token(actor=None, user=integrator)
    integrator.is_active = False
    integrator.save(update_fields=["is_active"])
    assert_refused(api(key))


def test_a_read_only_token_reads_and_may_not_write(integrator):
    key = services.issue_token(actor=None, user=integrator, scope="read", integrator="统计报表系统")
    assert api(key).status_code == 200
    for method in ("post", "put", "patch", "delete"):
        r = api(key, method, "/api/v1/entities/1/")
        assert r.status_code == 403, (method, r.content)
        assert r.json()["error"]["message"] == READ_ONLY
    write = services.issue_token(actor=None, user=integrator, scope="write")
    assert api(write, "post", "/api/v1/entities/", data={}).status_code != 403


def test_rotation_gives_a_new_key_and_the_old_one_a_short_grace(integrator, settings):
    settings.API_TOKEN_ROTATION_GRACE_MINUTES = 30
    old = services.issue_token(actor=None, user=integrator, scope="read", integrator="统计报表系统")
    r = api(old, "post", "/api/v1/auth/token/rotate/")  # a write, allowed to a read-only token for itself
    assert r.status_code == 200, r.content
    body = r.json()
    new = body["token"]
    assert new != old and body["scope"] == "read"
    old_row, new_row = ApiToken.objects.get(key_prefix=old[:8]), ApiToken.objects.get(key_prefix=new[:8])
    assert old_row.replaced_by_id == new_row.pk and new_row.integrator == "统计报表系统"
    assert old_row.expires_at <= timezone.now() + timedelta(minutes=30)
    assert api(old).status_code == 200 and api(new).status_code == 200  # both during the grace
    ApiToken.objects.filter(pk=old_row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_refused(api(old))
    assert api(new).status_code == 200
    # Without a grace the old key stops at once.
    newer = services.rotate_token(actor=None, token=new_row, grace_minutes=0)
    assert_refused(api(new))
    assert api(newer).status_code == 200
    assert AuditLog.objects.filter(event=AuditEvent.TOKEN_ROTATED).count() == 2


def test_the_security_administrator_sees_and_revokes_tokens_but_never_a_key(integrator):
    key = services.issue_token(actor=None, user=integrator, integrator="卫健委审批系统")
    token = ApiToken.objects.get(user=integrator)
    secadmin = make_user("security_admin", username="secadmin", is_staff=True)
    admin = Client()
    admin.force_login(secadmin)
    page = admin.get("/admin/security/apitoken/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "卫健委审批系统" in html and key[:8] in html and key not in html
    r = admin.post("/admin/security/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert r.status_code == 302
    assert_refused(api(key))
    assert ApiToken.objects.get(pk=token.pk).revoked_reason == TokenRevocation.ADMIN
    # An officer may not see the tokens; the audit administrator neither.
    auditor = Client()
    auditor.force_login(make_user("audit_admin", username="auditadmin", is_staff=True))
    assert auditor.get("/admin/security/apitoken/").status_code in (302, 403)


def test_the_integrator_revokes_its_own_token(integrator):
    key = services.issue_token(actor=None, user=integrator)
    assert api(key, "post", "/api/v1/auth/token/revoke/").status_code == 204
    assert_refused(api(key))
    assert ApiToken.objects.get(user=integrator).revoked_reason == TokenRevocation.OWNER


def test_console_command_options(integrator):
    out = io.StringIO()
    call_command("token", "wjj-system", "--scope", "read", "--days", "7", "--integrator", "卫健委审批系统", stdout=out)
    key = out.getvalue().strip()
    token = ApiToken.objects.get(key_hash=hashlib.sha256(key.encode()).hexdigest())
    assert (token.scope, token.integrator) == ("read", "卫健委审批系统")
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="令牌有效期须在 1 到 366 天之间"):
        call_command("token", "wjj-system", "--days", "0", stdout=io.StringIO())


def test_an_account_keeps_at_most_ten_live_tokens(integrator):
    keys = [services.issue_token(actor=None, user=integrator) for _ in range(12)]
    assert ApiToken.objects.live().filter(user=integrator).count() == 10
    assert_refused(api(keys[0]))
    assert api(keys[-1]).status_code == 200
    assert ApiToken.objects.get(key_prefix=keys[0][:8]).revoked_reason == TokenRevocation.SUPERSEDED


def test_existing_drf_tokens_are_migrated_as_hashes(integrator):
    """Migration 0005 turns each rest_framework.authtoken key into an ApiToken (hash only, 90 days)
    and deletes the clear-text row; the integrator's key keeps working."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("zhijian.security.migrations.0005_api_tokens_rate_counters")
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp with time zone, user_id bigint)"
                       if connection.vendor == "postgresql" else
                       "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created datetime, user_id bigint)")
        cursor.execute("INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)", [old_key, timezone.now(), integrator.pk])
    migration.migrate_drf_tokens(apps, SimpleNamespace(connection=connection))  # it uses only the connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
        cursor.execute("DROP TABLE authtoken_token")
    token = ApiToken.objects.get(user=integrator)
    assert token.key_hash == hashlib.sha256(old_key.encode()).hexdigest() and token.scope == "write"
    assert api(old_key).status_code == 200
