"""CSP and secure headers, secure cookies, no inline script in pages."""
import os
import re
import subprocess
import sys

import pytest

from tests.factories import make_user
from zhijian.security.middleware import content_security_policy

pytestmark = pytest.mark.django_db


def directives(header):
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_security_headers_on_pages(client):
    response = client.get("/accounts/login/")
    csp = directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["object-src"] == ["'none'"]
    assert "geolocation=(self)" in response["Permissions-Policy"]
    assert "camera=(self)" in response["Permissions-Policy"] and "microphone=(self)" in response["Permissions-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response


def test_hsts_when_https_is_on(client, settings):
    settings.HTTPS = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/accounts/login/")
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_tile_host_is_allowed_for_images(settings):
    settings.TILE_URL = "https://{s}.tiles.example.cn/{z}/{x}/{y}.png"
    assert directives(content_security_policy())["img-src"] == ["'self'", "data:", "blob:", "https://*.tiles.example.cn"]
    settings.TILE_URL = "http://10.1.2.3:8080/tiles/{z}/{x}/{y}.png"
    assert "http://10.1.2.3:8080" in directives(content_security_policy())["img-src"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.I)


def test_pages_have_no_inline_script(client):
    user = make_user(username="cspcheck")
    pages = ["/accounts/login/"]
    client.force_login(user)
    pages += ["/", "/accounts/password/"]
    for url in pages:
        body = client.get(url).content.decode()
        assert not INLINE_SCRIPT.search(body), (url, INLINE_SCRIPT.search(body))


def test_session_cookie_flags(client, login_page):
    make_user(username="cookie")
    response = login_page(client, "cookie")
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_https_setting_makes_cookies_secure():
    """With ZHIJIAN_HTTPS on, settings turn on secure cookies and HSTS (checked in a fresh process)."""
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='zhijian.settings'; django.setup();"
            "from django.conf import settings as s;"
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_HTTPONLY)")
    env = dict(os.environ, ZHIJIAN_HTTPS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "31536000", "True"]
    env["ZHIJIAN_HTTPS"] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "0", "True"]
