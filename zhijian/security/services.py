"""Security actions: sign-in checks, lockout and slow-down, unlocking, integrator tokens, audit-log retention.

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

from zhijian.core.errors import ApplicationError

from . import audit, dbguard, tokens
from .choices import AuditEvent, AuditOutcome, TokenRevocation, TokenScope
from .models import ApiToken, AuditLog, LoginThrottle
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

def _failures(ip: str, now):
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    return AuditLog.objects.filter(ip=ip, event=AuditEvent.LOGIN_FAILURE, outcome=AuditOutcome.FAILURE,
                                   created_at__gte=now - window)


def ip_wait_seconds(ip: str | None, *, now=None) -> int:
    """Per-address ceiling: once LOGIN_IP_MAX_FAILURES failed sign-ins (any account) came from
    this address within the lockout window, every sign-in from it waits until enough of them
    have left the window. High, so that an office behind one NAT address is not locked out by
    one person (or one attacker) hammering one account; that is the pair's slow-down below."""
    if not ip:
        return 0
    now = now or timezone.now()
    ceiling = settings.LOGIN_IP_MAX_FAILURES
    times = list(_failures(ip, now).order_by("-created_at").values_list("created_at", flat=True)[:ceiling])
    if len(times) < ceiling:
        return 0
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    remaining = (times[-1] + window - now).total_seconds()  # the oldest of the last `ceiling` leaves
    return max(1, int(remaining + 0.999))


def pair_wait_seconds(ip: str | None, username: str, *, now=None) -> int:
    """Per (address, account) slow-down: after LOGIN_PAIR_FREE_ATTEMPTS failures for this account
    from this address within the lockout window (since the account's last unlock), each further
    attempt waits 2**(excess) seconds (capped at the window) after the last one. Nobody else
    signing in from the address waits. With the defaults (5, like the account lock) the lock
    comes first; the pair's brake holds where LOGIN_LOCKOUT_ATTEMPTS is set higher."""
    if not ip:
        return 0
    now = now or timezone.now()
    failures = _failures(ip, now).filter(username=username)
    unlocked = AuditLog.objects.filter(event=AuditEvent.UNLOCK, object_type="account", object_id=username,
                                       created_at__gte=now - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
                                       ).aggregate(last=Max("created_at"))["last"]
    if unlocked is not None:  # the security administrator's unlock starts the pair afresh too
        failures = failures.filter(created_at__gt=unlocked)
    stats = failures.aggregate(count=Count("id"), last=Max("created_at"))
    excess = (stats["count"] or 0) - settings.LOGIN_PAIR_FREE_ATTEMPTS
    if excess < 0:
        return 0
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    wait = min(2 ** min(excess, 20), int(window.total_seconds()))
    remaining = (stats["last"] + timedelta(seconds=wait) - now).total_seconds()
    return max(0, int(remaining + 0.999))


def _throttled(request, key: str, wait: int, reason: str):
    audit.record(AuditEvent.LOGIN_FAILURE, outcome=AuditOutcome.DENIED, username=key, request=request,
                 user=None, detail={"reason": reason, "retry_after": wait})
    return Throttled(_("尝试过于频繁，请 %(s)d 秒后再试。") % {"s": wait}, code="throttled", extra={"retry_after": wait})


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
    """Check the per-address ceiling, the (address, account) slow-down and the per-account lock,
    then the password.

    Returns the user or raises ApplicationError with a message that never reveals whether the
    account exists: unknown names are counted and locked exactly like real ones."""
    now = timezone.now()
    key = _normalize(username)
    ip = audit.client_ip(request)
    wait = ip_wait_seconds(ip, now=now)
    if wait:
        raise _throttled(request, key, wait, "ip_ceiling")
    throttle = LoginThrottle.objects.filter(username=key).first()
    if throttle is not None and throttle.is_locked(now):
        audit.record(AuditEvent.LOGIN_FAILURE, outcome=AuditOutcome.DENIED, username=key, request=request,
                     user=None, detail={"reason": "locked"})
        raise ApplicationError(locked_message(), code="locked")
    wait = pair_wait_seconds(ip, key, now=now)
    if wait:
        raise _throttled(request, key, wait, "pair_throttled")
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


def token_obtain(*, request, username: str, password: str, otp: str = "", scope: str = TokenScope.WRITE,
                 integrator: str = "") -> str:
    """API token acquisition: password (with lockout) plus the TOTP code when OTP is required.
    Returns a new key (shown once)."""
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
    key, token = _issue(user=user, created_by=user, scope=scope, days=None, integrator=integrator)
    audit.record(AuditEvent.TOKEN_ISSUED, user=user, request=request, obj=token,
                 detail={"via": "api", "scope": token.scope, "expires_at": token.expires_at.isoformat()})
    return key


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


# --- API tokens --------------------------------------------------------------------------------

def _token_days(days: int | None) -> int:
    days = settings.API_TOKEN_DAYS if days is None else int(days)
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ApplicationError(_("令牌有效期须在 1 到 %(n)d 天之间。") % {"n": settings.API_TOKEN_MAX_DAYS}, code="invalid")
    return days


def _issue(*, user, created_by, scope, days, integrator, now=None) -> tuple[str, ApiToken]:
    """Create a token row; keeps at most API_TOKEN_MAX_LIVE live tokens per account (the oldest
    beyond that are revoked), so a script that asks for a token on every run leaves no pile."""
    if scope not in TokenScope.values:
        raise ApplicationError(_("令牌权限范围只能是“只读”或“读写”。"), code="invalid")
    if user.has_role(*ADMIN_ROLES):
        raise ApplicationError(_("管理员账户不能使用接口令牌。"), code="separation_of_duties")
    if not user.is_active:
        raise ApplicationError(_("账户已停用，不能签发接口令牌。"), code="invalid")
    now = now or timezone.now()
    key = tokens.new_key()
    token = ApiToken.objects.create(
        key_hash=tokens.key_hash(key), key_prefix=key[:8], user=user, integrator=(integrator or "").strip()[:100],
        scope=scope, created_at=now, created_by=created_by if created_by is not None and created_by.pk else None,
        expires_at=now + timedelta(days=_token_days(days)),
    )
    stale = list(ApiToken.objects.live(now).filter(user=user).order_by("-created_at", "-id")
                 .values_list("pk", flat=True)[settings.API_TOKEN_MAX_LIVE:])
    if stale:
        ApiToken.objects.filter(pk__in=stale).update(revoked_at=now, revoked_reason=TokenRevocation.SUPERSEDED)
    return key, token


@transaction.atomic
def issue_token(*, actor, user, scope: str = TokenScope.WRITE, days: int | None = None, integrator: str = "") -> str:
    """A system administrator issues an integrator's API token and returns its key — shown this
    once, only its hash is kept. ``actor=None`` is the operations console (``zhijian token
    USERNAME``). ``scope`` read-only or read-write; ``days`` of validity (default API_TOKEN_DAYS)."""
    if actor is not None and not is_system_admin(actor):
        raise Denied(_("只有系统管理员可以签发接口令牌。"))
    key, token = _issue(user=user, created_by=actor, scope=scope, days=days, integrator=integrator)
    audit.record(AuditEvent.TOKEN_ISSUED, user=actor, username=actor.get_username() if actor else "", obj=token,
                 object_repr=str(token), detail={"for": user.get_username(), "scope": token.scope,
                                                 "integrator": token.integrator, "via": "admin" if actor else "console",
                                                 "expires_at": token.expires_at.isoformat()})
    return key


@transaction.atomic
def rotate_token(*, actor, token: ApiToken, grace_minutes: int | None = None) -> str:
    """Issue a successor of ``token`` (same owner, integrator and scope, a fresh validity) and
    return its key. The old key keeps working for ``grace_minutes`` (default
    API_TOKEN_ROTATION_GRACE_MINUTES; 0 = revoked at once) so the integrator can switch over.
    By the token's owner (with the token itself), a system administrator, or the console."""
    if actor is not None and actor.pk != token.user_id and not is_system_admin(actor):
        raise Denied(_("只有令牌持有人或系统管理员可以轮换接口令牌。"))
    now = timezone.now()
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not token.is_live(now):
        raise ApplicationError(_("该令牌已失效，不能轮换，请申请新令牌。"), code="token_invalid")
    grace = settings.API_TOKEN_ROTATION_GRACE_MINUTES if grace_minutes is None else max(0, int(grace_minutes))
    key, successor = _issue(user=token.user, created_by=actor, scope=token.scope, days=None,
                            integrator=token.integrator, now=now)
    token.replaced_by = successor
    if grace:
        token.expires_at = min(token.expires_at, now + timedelta(minutes=grace))
    else:
        token.revoked_at, token.revoked_reason = now, TokenRevocation.ROTATED
    token.save(update_fields=["replaced_by", "expires_at", "revoked_at", "revoked_reason"])
    audit.record(AuditEvent.TOKEN_ROTATED, user=actor, username=actor.get_username() if actor else "", obj=successor,
                 detail={"for": token.user.get_username(), "old": token.pk, "old_expires_at": token.expires_at.isoformat(),
                         "grace_minutes": grace})
    return key


def _may_revoke(actor, token: ApiToken) -> bool:
    return actor is None or actor.pk == token.user_id or is_security_admin(actor) or is_system_admin(actor)


@transaction.atomic
def revoke_token(*, actor, token: ApiToken, reason: str | None = None) -> bool:
    """Revoke one token (the security or system administrator, the owner, or the console).
    Returns whether it was live."""
    if not _may_revoke(actor, token):
        raise Denied(_("只有安全管理员、系统管理员或令牌持有人可以撤销接口令牌。"))
    if reason is None:
        reason = TokenRevocation.OWNER if actor is not None and actor.pk == token.user_id else TokenRevocation.ADMIN
    now = timezone.now()
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_reason=reason)
    audit.record(AuditEvent.TOKEN_REVOKED, user=actor, username=actor.get_username() if actor else "", obj=token,
                 detail={"for": token.user.get_username(), "reason": reason, "was_live": bool(changed) and token.expires_at > now})
    return bool(changed) and token.expires_at > now


def revoke_user_tokens(user, *, reason: str = TokenRevocation.PASSWORD_CHANGED) -> int:
    """Revoke every unrevoked token of ``user`` (their password changed); audited when any were."""
    now = timezone.now()
    n = ApiToken.objects.filter(user_id=user.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_reason=reason)
    if n:
        audit.record(AuditEvent.TOKEN_REVOKED, obj=user, detail={"for": user.get_username(), "reason": reason, "count": n})
    return n


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
