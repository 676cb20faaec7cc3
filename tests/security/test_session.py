"""Idle timeout and absolute session age, tested by moving the session's timestamps back."""
import time

import pytest

from tests.factories import make_user
from zhijian.security.choices import AuditEvent
from zhijian.security.middleware import SESSION_LAST_SEEN, SESSION_LOGIN_AT
from zhijian.security.models import AuditLog

pytestmark = pytest.mark.django_db


def age_session(client, *, idle=0, since_login=0):
    session = client.session
    now = time.time()
    session[SESSION_LAST_SEEN] = now - idle
    session[SESSION_LOGIN_AT] = now - since_login
    session.save()


def test_idle_session_is_logged_out(client):
    user = make_user(username="idle1")
    client.force_login(user)
    assert client.get("/").status_code == 200
    age_session(client, idle=29 * 60)
    assert client.get("/").status_code == 200  # 29 minutes idle is still fine
    age_session(client, idle=31 * 60)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert AuditLog.objects.filter(event=AuditEvent.SESSION_TIMEOUT, user=user, detail__reason="idle").exists()


def test_each_request_resets_the_idle_clock(client):
    client.force_login(make_user(username="idle2"))
    age_session(client, idle=20 * 60)
    assert client.get("/").status_code == 200
    assert time.time() - client.session[SESSION_LAST_SEEN] < 5


def test_absolute_session_age(client):
    client.force_login(make_user(username="longday"))
    age_session(client, idle=0, since_login=13 * 3600)
    assert client.get("/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_idle_timeout_is_configurable(client, settings):
    settings.IDLE_TIMEOUT_SECONDS = 3600
    client.force_login(make_user(username="idle3"))
    age_session(client, idle=45 * 60)
    assert client.get("/").status_code == 200


def test_api_session_timeout_answers_401(client):
    client.force_login(make_user(username="idle4"))
    age_session(client, idle=31 * 60)
    response = client.get("/api/v1/people/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"
