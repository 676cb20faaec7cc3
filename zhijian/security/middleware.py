"""Security middleware, in the order they appear in settings.MIDDLEWARE:

- ``SecurityHeadersMiddleware`` (near the top): CSP, Permissions-Policy, Referrer-Policy, nosniff,
  HSTS when ZHIJIAN_HTTPS is on.
- ``RequestSizeLimitMiddleware`` (before anything reads the body): refuses oversize requests
  cleanly with 413 before they are read.
- after MessageMiddleware (needs auth, OTP and messages): ``RequestContextMiddleware`` (current request for audit and
  masking), ``SessionTimeoutMiddleware`` (idle and absolute age), ``OTPRequiredMiddleware``
  (second factor for every signed-in person, pages and session-authenticated API alike),
  ``PasswordExpiryMiddleware`` (expired password → change it first), ``AuditMiddleware``
  (403/404 on a resolved URL by a signed-in user is a permission-denied audit entry).
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from . import audit
from .choices import AuditEvent, AuditOutcome
from .otp import otp_required_for
from .passwords import password_expired

SESSION_LOGIN_AT = "_zj_login_at"
SESSION_LAST_SEEN = "_zj_last_seen"
SESSION_PASSWORD_OK = "_zj_password_ok"
# Rewrite the idle timestamp at most this often, so every request does not write the session.
LAST_SEEN_RESOLUTION = 30


def _tile_source() -> str:
    url = settings.TILE_URL
    if not url:
        return ""
    parts = urlsplit(url.replace("{s}", "SUBDOMAIN"))
    if not parts.scheme or not parts.hostname:
        return ""
    host = parts.hostname
    if "subdomain" in host.lower():
        host = "*." + host.split(".", 1)[1]
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def content_security_policy() -> str:
    img = ["'self'", "data:", "blob:"]
    tile = _tile_source()
    if tile:
        img.append(tile)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": img,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())


PERMISSIONS_POLICY = "geolocation=(self), camera=(self), microphone=(self), payment=(), usb=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY or "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if settings.HTTPS:
            # TLS usually ends at the reverse proxy, so do not wait for request.is_secure().
            response.headers.setdefault("Strict-Transport-Security", f"max-age={settings.SECURE_HSTS_SECONDS or 31536000}; includeSubDomains")
        return response


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body exceeds MAX_REQUEST_BYTES before reading it (Django
    has no total limit for file uploads)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BYTES:
            limit_mb = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
            message = _("文件过大：上限 %(mb)d MB") % {"mb": limit_mb}
            if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
                response = JsonResponse({"error": {"code": "too_large", "message": message, "detail": {}}}, status=413)
            else:
                response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = audit.current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            audit.current_request.reset(token)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _exempt(request, names: tuple[str, ...]) -> bool:
    path = request.path
    if path.startswith(settings.STATIC_URL) or path in {"/favicon.ico", "/robots.txt"}:
        return True
    match = request.resolver_match
    if match is None:
        try:
            match = resolve(path)
        except Resolver404:
            return False
    return match.view_name in names


ALWAYS_OPEN = ("login", "logout", "set_language")


class SessionTimeoutMiddleware:
    """Log out after IDLE_TIMEOUT_SECONDS without a request, and SESSION_ABSOLUTE_AGE after login."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            login_at = session.get(SESSION_LOGIN_AT)
            last_seen = session.get(SESSION_LAST_SEEN)
            if login_at is None or last_seen is None:
                session[SESSION_LOGIN_AT] = login_at = login_at or now
                session[SESSION_LAST_SEEN] = last_seen = now
            reason = None
            if now - last_seen > settings.IDLE_TIMEOUT_SECONDS:
                reason = "idle"
            elif now - login_at > settings.SESSION_ABSOLUTE_AGE:
                reason = "absolute"
            if reason:
                user = request.user
                audit.record(AuditEvent.SESSION_TIMEOUT, user=user, request=request, detail={"reason": reason})
                request._zj_timeout = True
                logout(request)
                message = _("会话已超时，请重新登录。")
                if _is_api(request):
                    return JsonResponse({"error": {"code": "session_expired", "message": message, "detail": {}}}, status=401)
                messages.warning(request, message)
                return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
            if now - last_seen >= LAST_SEEN_RESOLUTION:
                session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


class OTPRequiredMiddleware:
    """A signed-in person who has not passed the TOTP step sees only the OTP pages (and login,
    logout, static files). The API answers 403 for such sessions; token-authenticated API calls
    do not carry a session user and are not affected."""

    OPEN = ALWAYS_OPEN + ("otp-verify", "otp-enrol")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and otp_required_for(user) and not user.is_verified() and not _exempt(request, self.OPEN):
            if _is_api(request):
                return JsonResponse(
                    {"error": {"code": "otp_required", "message": _("请先完成动态口令验证。"), "detail": {}}}, status=403
                )
            return redirect(f"{reverse('otp-verify')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class PasswordExpiryMiddleware:
    """An expired (or administrator-reset) password must be changed before anything else."""

    OPEN = ALWAYS_OPEN + ("otp-verify", "otp-enrol", "password_change", "password_change_done")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not request.session.get(SESSION_PASSWORD_OK) and not _exempt(request, self.OPEN):
            if password_expired(user):
                if _is_api(request):
                    return JsonResponse(
                        {"error": {"code": "password_expired", "message": _("密码已过期，请先修改密码。"), "detail": {}}}, status=403
                    )
                messages.warning(request, _("密码已过期或须重置，请先修改密码。"))
                return redirect(f"{reverse('password_change')}?{urlencode({'next': request.get_full_path()})}")
            request.session[SESSION_PASSWORD_OK] = True
        return self.get_response(request)


class AuditMiddleware:
    """403 and 404 answers on a real URL to a signed-in person are recorded as permission-denied:
    scoped lookups answer 404 for records outside the person's jurisdiction."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code in (403, 404) and getattr(request, "resolver_match", None) is not None:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                audit.record(
                    AuditEvent.PERMISSION_DENIED,
                    outcome=AuditOutcome.DENIED,
                    user=user,
                    request=request,
                    object_type="url",
                    object_repr=request.path[:200],
                    detail={"status": response.status_code, "method": request.method, "view": request.resolver_match.view_name},
                )
        return response
