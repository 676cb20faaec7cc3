"""Security actions: sign-in checks and lockout, unlocking, integrator tokens, audit-log retention.

Role and jurisdiction grants are org's (``zhijian.org.services``): they change org's data and
check 三员分立 with ``roles.check_separation``.

Sign-in functions are deliberately *not* one atomic block: a failed attempt must leave its counter
and audit entry behind even though the caller is refused.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from zhijian.core.errors import ApplicationError

from . import audit, dbguard
from .choices import AuditEvent, AuditOutcome
from .models import AuditLog, LoginThrottle
from .otp import confirmed_device, otp_required_for
from .passwords import password_expired
from .roles import ADMIN_ROLES, is_security_admin, is_system_admin

# The trigger in dbguard.py refuses to delete younger rows whatever this says.
AUDIT_RETENTION_FLOOR_DAYS = dbguard.RETENTION_FLOOR_DAYS


class Denied(ApplicationError):
    """The acting person lacks the power for this action."""

    status = 403

    def __init__(self, message):
        super().__init__(message, code="permission_denied")


class Throttled(ApplicationError):
    status = 429


def invalid_login_message() -> str:
    return _("用户名或密码错误。")


def locked_message() -> str:
    return _("登录失败次数过多，账户已被临时锁定。请 %(m)d 分钟后再试，或联系安全管理员解锁。") % {
        "m": settings.LOGIN_LOCKOUT_MINUTES
    }


def _normalize(username: str) -> str:
    return get_user_model().normalize_username((username or "").strip())[:150]


# --- sign-in -------------------------------------------------------------------------------------

def ip_wait_seconds(ip: str | None, *, now=None) -> int:
    """Per-IP slow-down: after LOGIN_IP_FREE_ATTEMPTS failures within the lockout window, each
    further attempt must wait 2**(excess) seconds (capped at the window) after the last failure."""
    if not ip:
        return 0
    now = now or timezone.now()
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    stats = AuditLog.objects.filter(
        ip=ip, event=AuditEvent.LOGIN_FAILURE, outcome=AuditOutcome.FAILURE, created_at__gte=now - window
    ).aggregate(count=Count("id"), last=Max("created_at"))
    if not stats["count"]:
        return 0
    count = stats["count"]
    excess = count - settings.LOGIN_IP_FREE_ATTEMPTS
    if excess < 0:
        return 0
    wait = min(2 ** min(excess, 20), int(window.total_seconds()))
    remaining = (stats["last"] + timedelta(seconds=wait) - now).total_seconds()
    return max(0, int(remaining + 0.999))


def _register_failure(key: str, now) -> LoginThrottle:
    with transaction.atomic():
        throttle, _created = LoginThrottle.objects.select_for_update().get_or_create(username=key)
        window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        if throttle.last_failure_at is None or throttle.last_failure_at < now - window:
            throttle.failures = 0
        throttle.failures += 1
        throttle.last_failure_at = now
        if throttle.failures >= settings.LOGIN_LOCKOUT_ATTEMPTS:
            throttle.locked_until = now + window
            throttle.failures = 0
        throttle.save()
    return throttle


def login_authenticate(*, request, username: str, password: str):
    """Check the per-IP slow-down and the per-account lock, then the password.

    Returns the user or raises ApplicationError with a message that never reveals whether the
    account exists: unknown names are counted and locked exactly like real ones."""
    now = timezone.now()
    key = _normalize(username)
    wait = ip_wait_seconds(audit.client_ip(request), now=now)
    if wait:
        audit.record(AuditEvent.LOGIN_FAILURE, outcome=AuditOutcome.DENIED, username=key, request=request,
                     user=None, detail={"reason": "ip_throttled", "retry_after": wait})
        raise Throttled(_("尝试过于频繁，请 %(s)d 秒后再试。") % {"s": wait}, code="throttled", extra={"retry_after": wait})
    throttle = LoginThrottle.objects.filter(username=key).first()
    if throttle is not None and throttle.is_locked(now):
        audit.record(AuditEvent.LOGIN_FAILURE, outcome=AuditOutcome.DENIED, username=key, request=request,
                     user=None, detail={"reason": "locked"})
        raise ApplicationError(locked_message(), code="locked")
    user = authenticate(request, username=username, password=password)
    if user is None:
        throttle = _register_failure(key, now)
        audit.record(AuditEvent.LOGIN_FAILURE, outcome=AuditOutcome.FAILURE, username=key, request=request,
                     user=None, detail={"reason": "invalid_credentials"})
        if throttle.is_locked(now):
            audit.record(AuditEvent.LOCKOUT, outcome=AuditOutcome.SUCCESS, username=key, request=request, user=None,
                         detail={"until": throttle.locked_until.isoformat()})
            raise ApplicationError(locked_message(), code="locked")
        raise ApplicationError(invalid_login_message(), code="invalid_login")
    LoginThrottle.objects.filter(username=key).delete()
    return user


def otp_check(*, request, user, token: str) -> bool:
    """Verify a TOTP code against the user's confirmed device (django-otp throttles repeated
    failures itself); audited either way."""
    device = confirmed_device(user)
    ok = False
    if device is not None:
        allowed, _info = device.verify_is_allowed()
        ok = bool(allowed) and device.verify_token((token or "").strip())
    audit.record(AuditEvent.OTP_SUCCESS if ok else AuditEvent.OTP_FAILURE,
                 outcome=AuditOutcome.SUCCESS if ok else AuditOutcome.FAILURE, user=user, request=request)
    return ok


def token_obtain(*, request, username: str, password: str, otp: str = ""):
    """API token acquisition: password (with lockout) plus the TOTP code when OTP is required."""
    user = login_authenticate(request=request, username=username, password=password)
    if user.has_role(*ADMIN_ROLES):
        raise Denied(_("管理员账户不能使用接口令牌，请通过网页登录。"))
    if otp_required_for(user):
        if confirmed_device(user) is None:
            raise ApplicationError(_("请先在网页登录并绑定动态口令。"), code="otp_not_enrolled")
        if not otp_check(request=request, user=user, token=otp):
            raise ApplicationError(_("动态口令错误或已使用，请输入新的动态口令。"), code="otp_invalid")
    if password_expired(user):
        raise ApplicationError(_("密码已过期，请先登录网页修改密码。"), code="password_expired")
    token, created = Token.objects.get_or_create(user=user)
    audit.record(AuditEvent.TOKEN_ISSUED, user=user, request=request, detail={"via": "api", "created": created})
    return token


# --- administrator actions ------------------------------------------------------------------------

@transaction.atomic
def unlock_account(*, actor, username: str) -> bool:
    """A security administrator lifts a login lock. Returns whether a lock was lifted."""
    if actor is not None and not is_security_admin(actor):
        raise Denied(_("只有安全管理员可以解锁账户。"))
    key = _normalize(username)
    now = timezone.now()
    was_locked = LoginThrottle.objects.filter(username=key, locked_until__gt=now).exists()
    LoginThrottle.objects.filter(username=key).delete()
    audit.record(AuditEvent.UNLOCK, user=actor, username=actor.get_username() if actor else "", object_type="account",
                 object_id=key, object_repr=key, detail={"was_locked": was_locked})
    return was_locked


@transaction.atomic
def issue_token(*, actor, user) -> str:
    """A system administrator issues (or shows) an integrator's API token. ``actor=None`` is the
    operations console (``zhijian token USERNAME``)."""
    if actor is not None and not is_system_admin(actor):
        raise Denied(_("只有系统管理员可以签发接口令牌。"))
    if user.has_role(*ADMIN_ROLES):
        raise ApplicationError(_("管理员账户不能使用接口令牌。"), code="separation_of_duties")
    token, created = Token.objects.get_or_create(user=user)
    audit.record(AuditEvent.TOKEN_ISSUED, user=actor, username=actor.get_username() if actor else "", obj=user,
                 object_repr=str(user), detail={"created": created, "via": "admin" if actor else "console"})
    return token.key


def purge_audit_log(*, actor, older_than_days: int) -> int:
    """Delete audit entries older than ``older_than_days`` (at least the 184-day floor: six months
    whatever the month), by a security administrator; the purge itself is audited."""
    if not is_security_admin(actor):
        raise Denied(_("只有安全管理员可以清理过期审计日志。"))
    floor = max(AUDIT_RETENTION_FLOOR_DAYS, settings.AUDIT_RETENTION_DAYS)
    if older_than_days < floor:
        raise ApplicationError(_("审计日志至少保存 %(d)d 天。") % {"d": floor}, code="retention")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    with transaction.atomic():
        deleted, _detail = AuditLog.objects.filter(created_at__lt=cutoff).delete()
        audit.record(AuditEvent.AUDIT_PURGE, user=actor, detail={"older_than_days": older_than_days, "deleted": deleted,
                                                                  "cutoff": cutoff.isoformat()})
    return deleted
