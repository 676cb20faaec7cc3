"""Lockout after 5 failed logins per account (15 min), the (address, account) slow-down under a
high per-address ceiling, unlock by the security administrator; the same for the login page and
API token acquisition."""
import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from tests.factories import PASSWORD, make_user
from zhijian.core.errors import ApplicationError
from zhijian.security import otp, services
from zhijian.security.choices import AuditEvent
from zhijian.security.models import ApiToken, AuditLog, LoginThrottle

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
    with freeze_time(timezone.now() + timedelta(minutes=15, seconds=1)):
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


def test_an_attacker_does_not_lock_out_the_office_behind_the_same_address(client, login_page):
    """Finding 7: the per-address slow-down (10 failures) also slowed other people's correct
    sign-ins from the same address — an office behind one NAT. Now an attacker hammering
    accounts from 10.8.0.1 locks those accounts (5 failures each) and slows the (address, account)
    pairs, while a colleague's correct sign-in from 10.8.0.1 goes straight through, until the
    address itself reaches the ceiling of 100 failures in 15 minutes."""
    office = {"REMOTE_ADDR": "10.8.0.1"}
    for name in ("director", "cashier", "clerk", "colleague", "latecomer"):
        make_user(username=name)
    for victim in ("director", "cashier", "clerk"):
        answers = [page_errors(login_page(client, victim, "Guess-Passw0rd!", **office)) for _ in range(10)]
        assert answers == [[INVALID]] * 4 + [[LOCKED]] * 6, answers
    assert AuditLog.objects.filter(ip="10.8.0.1", event=AuditEvent.LOGIN_FAILURE, outcome="failure").count() == 15
    # 15 failures from the address: the colleague signs in at once.
    colleague = type(client)()
    assert login_page(colleague, "colleague", PASSWORD, **office).status_code == 302
    # The hammered accounts stay locked, whatever the password, from this address or another.
    assert page_errors(login_page(type(client)(), "director", PASSWORD, **office)) == [LOCKED]
    assert page_errors(login_page(type(client)(), "director", PASSWORD, REMOTE_ADDR="10.9.9.9")) == [LOCKED]
    # The address's ceiling: 100 failed sign-ins (any accounts) within 15 minutes.
    for i in range(85):
        assert page_errors(login_page(client, f"guess{i // 5}", "Guess-Passw0rd!", **office))
    assert AuditLog.objects.filter(ip="10.8.0.1", event=AuditEvent.LOGIN_FAILURE, outcome="failure").count() == 100
    errors = page_errors(login_page(type(client)(), "latecomer", PASSWORD, **office))
    assert len(errors) == 1 and errors[0].startswith("尝试过于频繁"), errors
    assert services.ip_wait_seconds("10.8.0.1") > 800  # until the oldest failures leave the 15 minutes
    # Another address is not affected; the ceiling lifts when the window has passed.
    assert login_page(type(client)(), "latecomer", PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 302
    with freeze_time(timezone.now() + timedelta(minutes=16)):
        assert services.ip_wait_seconds("10.8.0.1") == 0
        assert login_page(type(client)(), "latecomer", PASSWORD, **office).status_code == 302


def test_the_pair_slow_down_holds_after_an_unlock_for_the_attackers_address_only(client, login_page, settings, secadmin):
    """With a higher lock threshold (or after the lock), repeated failures for one account from
    one address wait 2ⁿ seconds — for that pair only."""
    settings.LOGIN_LOCKOUT_ATTEMPTS = 50
    settings.LOGIN_PAIR_FREE_ATTEMPTS = 5
    make_user(username="target")
    make_user(username="neighbour")
    attacker = {"REMOTE_ADDR": "10.8.0.2"}
    for _ in range(5):
        assert page_errors(login_page(client, "target", "Guess-Passw0rd!", **attacker)) == [INVALID]
    errors = page_errors(login_page(client, "target", "Guess-Passw0rd!", **attacker))
    assert errors == ["尝试过于频繁，请 1 秒后再试。"]
    assert page_errors(login_page(client, "target", PASSWORD, **attacker))[0].startswith("尝试过于频繁")
    # The same account from another address, another account from the same address: no wait.
    assert login_page(type(client)(), "neighbour", PASSWORD, **attacker).status_code == 302
    assert login_page(type(client)(), "target", PASSWORD, REMOTE_ADDR="10.8.0.3").status_code == 302
    # The wait doubles with each further failure and passes.
    later = timezone.now() + timedelta(seconds=2)
    assert services.pair_wait_seconds("10.8.0.2", "target", now=later) == 0
    with freeze_time(later):
        assert page_errors(login_page(client, "target", "Guess-Passw0rd!", **attacker)) == [INVALID]
        assert services.pair_wait_seconds("10.8.0.2", "target") == 2


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
    body = r.json()
    assert body["scope"] == "write" and len(body["token"]) == 40
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    assert Client().get("/api/v1/people/", HTTP_AUTHORIZATION=f"Token {body['token']}").status_code == 200
