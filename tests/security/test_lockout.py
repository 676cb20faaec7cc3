"""Lockout after 5 failed logins per account (15 min), per-IP slow-down, unlock by the security
administrator; the same for the login page and API token acquisition."""
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD, make_user
from zhijian.core.errors import ApplicationError
from zhijian.security import otp, services
from zhijian.security.choices import AuditEvent
from zhijian.security.models import AuditLog, LoginThrottle

pytestmark = pytest.mark.django_db

INVALID = "用户名或密码错误。"
LOCKED = "登录失败次数过多，账户已被临时锁定。请 15 分钟后再试，或联系安全管理员解锁。"


def page_errors(response):
    return [str(e) for e in response.context["form"].non_field_errors()] if response.context else []


def test_five_failures_lock_the_account_even_for_the_right_password(client, login_page):
    user = make_user(username="chenjing")
    for _ in range(4):
        assert page_errors(login_page(client, "chenjing", "wrong-Passw0rd!")) == [INVALID]
    assert page_errors(login_page(client, "chenjing", "wrong-Passw0rd!")) == [LOCKED]
    response = login_page(client, "chenjing", PASSWORD)
    assert page_errors(response) == [LOCKED]
    assert "_auth_user_id" not in client.session
    assert AuditLog.objects.filter(event=AuditEvent.LOCKOUT, username="chenjing").count() == 1
    assert AuditLog.objects.filter(event=AuditEvent.LOGIN_FAILURE, username="chenjing").count() == 6
    # The lock lapses after 15 minutes.
    LoginThrottle.objects.filter(username="chenjing").update(locked_until=timezone.now() - timedelta(seconds=1))
    assert login_page(client, user.username, PASSWORD).status_code == 302


def test_messages_do_not_reveal_whether_the_account_exists(client, login_page):
    make_user(username="realperson")
    real = [page_errors(login_page(client, "realperson", "Bad-Passw0rd!")) for _ in range(5)]
    ghost = [page_errors(login_page(client, "nobody-here", "Bad-Passw0rd!")) for _ in range(5)]
    assert real == ghost == [[INVALID]] * 4 + [[LOCKED]]


def test_security_admin_unlocks_and_others_cannot(client, login_page, secadmin, sysadmin):
    make_user(username="locked1")
    for _ in range(5):
        login_page(client, "locked1", "Bad-Passw0rd!")
    with pytest.raises(ApplicationError, match="只有安全管理员可以解锁账户"):
        services.unlock_account(actor=sysadmin, username="locked1")
    assert services.unlock_account(actor=secadmin, username="locked1") is True
    assert login_page(client, "locked1", PASSWORD).status_code == 302
    assert AuditLog.objects.filter(event=AuditEvent.UNLOCK, user=secadmin, object_id="locked1").exists()


def test_security_admin_unlocks_from_the_admin_site(client, login_page, secadmin):
    target = make_user(username="locked2")
    for _ in range(5):
        login_page(client, "locked2", "Bad-Passw0rd!")
    admin_client = type(client)()
    admin_client.force_login(secadmin)
    response = admin_client.post("/admin/org/user/", {"action": "unlock_accounts", "_selected_action": [target.pk]})
    assert response.status_code == 302
    assert not LoginThrottle.objects.filter(username="locked2").exists()


def test_per_ip_slow_down(client, login_page, settings):
    """After LOGIN_IP_FREE_ATTEMPTS failures from one address, further attempts wait, whatever
    account they name (so spreading guesses over accounts does not help)."""
    settings.LOGIN_IP_FREE_ATTEMPTS = 6
    make_user(username="target")
    for i in range(6):
        assert page_errors(login_page(client, f"guess{i}", "Bad-Passw0rd!")) == [INVALID]
    errors = page_errors(login_page(client, "target", PASSWORD))
    assert len(errors) == 1 and errors[0].startswith("尝试过于频繁")
    # Another address is not affected.
    assert login_page(client, "target", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302
    # Once the wait has passed, the address may try again.
    assert services.ip_wait_seconds("127.0.0.1", now=timezone.now() + timedelta(seconds=2)) == 0


def test_api_token_acquisition_shares_the_lockout(client, login_page):
    user = make_user(username="integrator1")
    otp.ensure_device(user)
    for _ in range(4):
        r = client.post("/api/v1/auth/token/", {"username": "integrator1", "password": "Bad-Passw0rd!"})
        assert r.status_code == 400 and r.json()["error"]["message"] == INVALID
    r = client.post("/api/v1/auth/token/", {"username": "integrator1", "password": "Bad-Passw0rd!"})
    assert r.json()["error"] == {"code": "locked", "message": LOCKED, "detail": {}}
    r = client.post("/api/v1/auth/token/", {"username": "integrator1", "password": PASSWORD, "otp": otp.next_code(user)})
    assert r.json()["error"]["code"] == "locked"
    assert page_errors(login_page(client, "integrator1", PASSWORD)) == [LOCKED]


def test_api_token_needs_password_and_totp(client):
    user = make_user(username="integrator2")
    otp.ensure_device(user)
    r = client.post("/api/v1/auth/token/", {"username": "integrator2", "password": PASSWORD, "otp": "000000"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "otp_invalid"
    # django-otp makes the next try wait after a wrong code; let that delay pass.
    TOTPDevice.objects.filter(user=user).update(throttling_failure_timestamp=timezone.now() - timedelta(minutes=5))
    r = client.post("/api/v1/auth/token/", {"username": "integrator2", "password": PASSWORD, "otp": otp.next_code(user)})
    assert r.status_code == 200
    token = r.json()["token"]
    from rest_framework.authtoken.models import Token

    assert Token.objects.get(user=user).key == token
