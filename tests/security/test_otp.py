"""TOTP second factor: enrolment with an inline-SVG QR code, verification after the password,
enforced globally for pages and session API; integrator tokens exempt."""
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import make_user
from zhijian.security import otp
from zhijian.security.choices import AuditEvent
from zhijian.security.models import AuditLog

pytestmark = pytest.mark.django_db


def test_first_login_enrols_a_device(client, login_page):
    user = make_user(username="newcomer")
    response = login_page(client, "newcomer")
    assert response.status_code == 302
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/otp/enrol/")
    page = response.content.decode()
    assert "<svg" in page and "<img" not in page.split("<main>")[1]
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/accounts/otp/enrol/", {"token": otp.code_for(otp.secret_of(device))})
    assert response.status_code == 302
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/").status_code == 200
    assert AuditLog.objects.filter(event=AuditEvent.OTP_ENROLLED, user=user).exists()


def test_password_alone_opens_nothing(client, login_page):
    user = make_user(username="halfway")
    otp.ensure_device(user)
    assert login_page(client, "halfway").status_code == 302
    for url in ("/", "/entities/", "/admin/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/otp/"), url
    api = client.get("/api/v1/people/")
    assert api.status_code == 403 and api.json()["error"]["code"] == "otp_required"


def test_wrong_code_is_refused_and_audited_right_code_opens(client, login_page):
    user = make_user(username="verifier")
    otp.ensure_device(user)
    login_page(client, "verifier")
    response = client.post("/accounts/otp/", {"token": "000000" if otp.next_code(user) != "000000" else "111111"})
    assert response.status_code == 200
    assert "动态口令错误" in response.content.decode()
    assert AuditLog.objects.filter(event=AuditEvent.OTP_FAILURE, user=user).exists()
    TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    response = client.post("/accounts/otp/?next=/entities/", {"token": otp.next_code(user), "next": "/entities/"})
    assert response.status_code == 302 and response["Location"] == "/entities/"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/people/").status_code == 200


def test_otp_can_be_switched_off(client, login_page, settings):
    settings.REQUIRE_OTP = False
    make_user(username="nootp")
    login_page(client, "nootp")
    assert client.get("/").status_code == 200


def test_integrator_token_is_exempt(client):
    """A token issued by the console command works without any OTP step."""
    make_user("enforcement_officer", username="integrator")
    out = io.StringIO()
    call_command("token", "integrator", stdout=out)
    key = out.getvalue().strip()
    assert len(key) == 40
    response = Client().get("/api/v1/people/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    out2 = io.StringIO()
    call_command("token", "integrator", stdout=out2)
    key2 = out2.getvalue().strip()
    assert key2 != key  # a new key each time (only hashes are kept); the first one still works
    assert Client().get("/api/v1/people/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert Client().get("/api/v1/people/", HTTP_AUTHORIZATION=f"Token {key2}").status_code == 200
    assert AuditLog.objects.filter(event=AuditEvent.TOKEN_ISSUED).count() == 2


def test_otp_command_prints_a_working_code(client, login_page):
    user = make_user(username="demo1")
    out = io.StringIO()
    call_command("otp", "demo1", "--enrol", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    login_page(client, "demo1")
    assert client.post("/accounts/otp/", {"token": code}).status_code == 302
    assert client.get("/").status_code == 200
    assert AuditLog.objects.filter(event=AuditEvent.OTP_CODE_PRINTED, object_id=str(user.pk)).exists()


def test_ensure_device_is_idempotent_and_codes_match_django_otp():
    user = make_user(username="demo2")
    secret = otp.ensure_device(user)
    assert otp.ensure_device(user) == secret
    device = TOTPDevice.objects.get(user=user)
    assert device.verify_token(otp.code_for(secret))
