from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.TextChoices):
    LOGIN_SUCCESS = "login_success", _("登录成功")
    LOGIN_FAILURE = "login_failure", _("登录失败")
    LOGOUT = "logout", _("退出登录")
    SESSION_TIMEOUT = "session_timeout", _("会话超时")
    LOCKOUT = "lockout", _("账户锁定")
    UNLOCK = "unlock", _("账户解锁")
    OTP_SUCCESS = "otp_success", _("动态口令验证成功")
    OTP_FAILURE = "otp_failure", _("动态口令验证失败")
    OTP_ENROLLED = "otp_enrolled", _("绑定动态口令")
    OTP_CODE_PRINTED = "otp_code_printed", _("运维命令读取动态口令")
    PASSWORD_CHANGE = "password_change", _("修改密码")
    PERMISSION_DENIED = "permission_denied", _("越权访问")
    ADMIN_ACTION = "admin_action", _("管理操作")
    ROLE_CHANGE = "role_change", _("角色变更")
    JURISDICTION_CHANGE = "jurisdiction_change", _("辖区变更")
    TOKEN_ISSUED = "token_issued", _("签发接口令牌")
    TOKEN_REVOKED = "token_revoked", _("撤销接口令牌")
    TOKEN_ROTATED = "token_rotated", _("轮换接口令牌")
    EXPORT = "export", _("数据导出")
    UPLOAD = "upload", _("文件上传")
    AUDIT_PURGE = "audit_purge", _("清理过期审计日志")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")
    DENIED = "denied", _("拒绝")


class UploadKind(models.TextChoices):
    XLSX = "xlsx", _("Excel（.xlsx）")
    CSV = "csv", _("CSV 文本")
    GEOJSON = "geojson", _("GeoJSON")
    IMAGE = "image", _("图片")
    PDF = "pdf", _("PDF")
    AUDIO = "audio", _("音频")
    VIDEO = "video", _("视频")


class TokenScope(models.TextChoices):
    READ = "read", _("只读")
    WRITE = "write", _("读写")


class TokenRevocation(models.TextChoices):
    ADMIN = "admin", _("管理员撤销")
    OWNER = "owner", _("持有人撤销")
    PASSWORD_CHANGED = "password_changed", _("账户密码已修改")
    ROTATED = "rotated", _("已轮换")
    SUPERSEDED = "superseded", _("超出有效令牌数量上限")
