"""``zhijian createadmin``: a working system administrator on a fresh database, and a reset."""
import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from zhijian.org.models import User
from zhijian.security import otp
from zhijian.security.models import AuditLog

pytestmark = pytest.mark.django_db


def _run(*args) -> dict[str, str]:
    out = io.StringIO()
    call_command("createadmin", *args, stdout=out)
    text = out.getvalue()
    return {"login": re.search(r"login:\s+(\S+)", text)[1], "password": re.search(r"password:\s+(\S+)", text)[1],
            "secret": re.search(r"TOTP:\s+(\S+)", text)[1]}


def test_createadmin_signs_in_with_password_and_totp_and_enters_the_admin(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    printed = _run("--keep-password")
    assert printed["login"] == "sysadmin" and len(printed["password"]) >= 16
    user = User.objects.get(username="sysadmin")
    assert user.role_codes() == {"system_admin"} and user.is_staff
    client = Client()
    response = client.post("/accounts/login/?next=/admin/", {"username": "sysadmin", "password": printed["password"], "next": "/admin/"})
    assert response.status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/otp/")
    response = client.post("/accounts/otp/", {"token": otp.code_for(printed["secret"])})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/deadlines/holiday/").status_code == 200
    assert AuditLog.objects.filter(event="admin_action", detail__action="createadmin").exists()


def test_createadmin_resets_password_and_device_and_refuses_business_accounts(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    first = _run("root")
    second = _run("root")
    assert first["password"] != second["password"] and first["secret"] != second["secret"]
    user = User.objects.get(username="root")
    assert user.check_password(second["password"]) and otp.ensure_device(user) == second["secret"]
    from tests.factories import make_user

    make_user("leader", username="boss")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        _run("boss")
