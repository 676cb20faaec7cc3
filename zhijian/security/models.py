"""Security state: the append-only audit log, login throttles, password history, stored uploads."""
from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from .choices import AuditEvent, AuditOutcome, TokenRevocation, TokenScope, UploadKind


class AuditLog(models.Model):
    """One audited event. Append-only: a database trigger refuses UPDATE, and DELETE of rows
    younger than the 184-day retention floor (see dbguard.py and docs/security.md)."""

    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    # PROTECT: an account that appears in the audit log is deactivated, never deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField(_("用户名"), max_length=150, blank=True, help_text=_("登录失败时为输入的用户名"))
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    event = models.CharField(_("事件"), max_length=32, choices=AuditEvent.choices, db_index=True)
    outcome = models.CharField(_("结果"), max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    object_id = models.CharField(_("对象标识"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["ip", "event", "created_at"], name="security_audit_ip_idx")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username} {self.get_event_display()}"


class LoginThrottle(models.Model):
    """Failed-login counter per submitted username, whether or not the account exists, so the
    lockout message cannot be used to find out which accounts exist."""

    username = models.CharField(_("用户名"), max_length=150, unique=True)
    failures = models.PositiveIntegerField(_("连续失败次数"), default=0)
    last_failure_at = models.DateTimeField(_("最近失败时间"), null=True, blank=True)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录锁定")
        verbose_name_plural = _("登录锁定")
        ordering = ["-last_failure_at"]

    def __str__(self):
        return self.username

    def is_locked(self, now=None) -> bool:
        return bool(self.locked_until and self.locked_until > (now or timezone.now()))

    is_locked.boolean = True
    is_locked.short_description = _("锁定中")


class AccountSecurity(models.Model):
    """Per-account password state (kept here so that org.User needs no migration)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="security")
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=False)

    class Meta:
        verbose_name = _("账户安全状态")
        verbose_name_plural = _("账户安全状态")

    def __str__(self):
        return str(self.user)


class PasswordHistory(models.Model):
    """Hashes of a person's recent passwords, so that none of the last N is reused."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    password = models.CharField(_("密码哈希"), max_length=128)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        ordering = ["-created_at", "-id"]


class StoredUpload(models.Model):
    """A checked upload saved under MEDIA_ROOT with a random name; the original name is metadata."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("类型"), max_length=16, choices=UploadKind.choices)
    original_name = models.CharField(_("原文件名"), max_length=255)
    relative_path = models.CharField(_("存储路径"), max_length=255, unique=True)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(_("用途"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("上传文件")
        verbose_name_plural = _("上传文件")
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name

    @property
    def path(self):
        return Path(settings.MEDIA_ROOT) / self.relative_path


class ApiTokenQuerySet(models.QuerySet):
    def live(self, now=None):
        """Neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class ApiToken(models.Model):
    """An integrator's API token. Only the SHA-256 of the key is stored: the key itself is shown
    once, when it is issued (``services.issue_token``). A read-only token may not change data;
    every token expires; all of an owner's tokens are revoked when the owner's password changes."""

    key_hash = models.CharField(_("令牌摘要"), max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(_("令牌前缀"), max_length=8, editable=False,
                                  help_text=_("令牌的前 8 位，用于识别，不能用于登录"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("持有账户"), on_delete=models.CASCADE,
                             related_name="api_tokens")
    integrator = models.CharField(_("对接系统"), max_length=100, blank=True)
    scope = models.CharField(_("权限范围"), max_length=8, choices=TokenScope.choices, default=TokenScope.WRITE)
    created_at = models.DateTimeField(_("签发时间"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("签发人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField(_("到期时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_reason = models.CharField(_("撤销原因"), max_length=20, choices=TokenRevocation.choices, blank=True)
    replaced_by = models.ForeignKey("self", verbose_name=_("轮换后的令牌"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="security_token_user_idx")]

    def __str__(self):
        name = self.integrator or str(self.user)
        return f"{name} {self.key_prefix}…"

    def is_live(self, now=None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())

    is_live.boolean = True
    is_live.short_description = _("有效")


class RateCounter(models.Model):
    """Hits of one client on one rate-limited resource in one time window (``ratelimit.py``).
    In the database so that every worker process of the server counts together."""

    name = models.CharField(_("计数对象"), max_length=200)
    bucket = models.BigIntegerField(_("时间窗口"))
    hits = models.PositiveIntegerField(_("次数"), default=0)
    expires = models.BigIntegerField(_("过期时间戳"), db_index=True)

    class Meta:
        verbose_name = _("访问频率计数")
        verbose_name_plural = _("访问频率计数")
        constraints = [models.UniqueConstraint(fields=["name", "bucket"], name="security_ratecounter_unique")]


class OTPDevice(TOTPDevice):
    """django-otp's TOTP device under a Chinese name, for the security administrator's pages (the
    package's own app and model names are English: "OTP_TOTP", "TOTP devices")."""

    class Meta:
        proxy = True
        verbose_name = _("动态口令设备")
        verbose_name_plural = _("动态口令设备")
