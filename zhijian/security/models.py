"""Security state: the append-only audit log, login throttles, password history, stored uploads."""
from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import AuditEvent, AuditOutcome, UploadKind


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
