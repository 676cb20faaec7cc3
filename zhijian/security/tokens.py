"""Integrator API tokens: keys, their hashes, and DRF authentication (``Authorization: Token <key>``).

Only SHA-256 of a key is stored (a key is 160 random bits, so a fast hash is enough: nothing to
brute-force). The authentication answers 401 for an unknown, expired or revoked key — including
every key of an owner whose password has changed since — and 403 for a read-only key used to
change data. Issuing, rotating and revoking are in ``services``.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from .choices import TokenScope
from .models import ApiToken

KEYWORD = "Token"
# Write last_used_at at most this often, so a busy integrator does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_key() -> str:
    """40 hexadecimal characters (160 bits), the length DRF's tokens had."""
    return secrets.token_hex(20)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def find_live(key: str, *, now=None) -> ApiToken | None:
    """The live token with this key, or None (unknown, expired, revoked, owner inactive)."""
    if not key or len(key) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
    now = now or timezone.now()
    if token is None or not token.is_live(now) or not token.user.is_active:
        return None
    return token


class TokenInvalid(exceptions.APIException):
    """401 with ``WWW-Authenticate: Token``, whatever authentication class comes first in the
    settings (DRF turns its own AuthenticationFailed into 403 when the first one is the session's)."""

    status_code = 401
    default_code = "token_invalid"
    auth_header = KEYWORD

    def __init__(self, message=None):
        super().__init__(message or _("接口令牌无效、已过期或已被撤销，请向系统管理员申请新令牌。"), code=self.default_code)


class ReadOnlyToken(exceptions.PermissionDenied):
    default_code = "token_read_only"

    def __init__(self):
        super().__init__(_("该接口令牌为只读令牌，不能新增、修改或删除数据。"), code=self.default_code)


def _scope_exempt(request) -> bool:
    view = (getattr(request, "parser_context", None) or {}).get("view")
    handler = getattr(view, getattr(view, "action", None) or "", None)
    return bool(getattr(view, "token_scope_exempt", False) or getattr(handler, "token_scope_exempt", False))


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>`` against ``ApiToken``. A view (or a viewset's action) may set
    ``token_scope_exempt = True`` for a write that only concerns the token itself (rotating it)."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise TokenInvalid(_("认证头格式不正确，应为“Token 令牌”。"))
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise TokenInvalid() from None
        now = timezone.now()
        token = find_live(key, now=now)
        if token is None:
            raise TokenInvalid()
        if token.scope == TokenScope.READ and request.method not in SAFE_METHODS and not _scope_exempt(request):
            raise ReadOnlyToken()
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return KEYWORD


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The API schema's security scheme for ``ApiTokenAuthentication`` (as drf-spectacular names
    DRF's own token scheme)."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "接口令牌，格式为“Token <令牌>”（由系统管理员签发或 POST /api/v1/auth/token/ 获取；有效期有限，只读令牌不能修改数据）"}
