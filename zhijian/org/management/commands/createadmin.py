"""``zhijian createadmin [USERNAME]``: create (or reset) a system administrator from the console.

For a fresh install (after ``zhijian migrate``) and for recovery: the account gets the role
``system_admin`` (三员分立: no other role), a strong generated password and a new TOTP device; the
login, the password and the TOTP secret are printed once and never stored in clear. The password
must be changed at the first sign-in. Audited and traced as the installer's console (actor None).
"""
from __future__ import annotations

import secrets
import string

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from zhijian.security import audit, otp
from zhijian.security.choices import AuditEvent
from zhijian.security.passwords import require_password_change
from zhijian.security.roles import SYSTEM_ADMIN

from ... import services
from ...models import User

SYMBOLS = "-_.!@#%+="


def strong_password(length: int = 20) -> str:
    """Random letters, digits and symbols with every class present (passes ComplexityValidator)."""
    alphabet = string.ascii_letters + string.digits + SYMBOLS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (any(c.islower() for c in candidate) and any(c.isupper() for c in candidate)
                and any(c.isdigit() for c in candidate) and any(c in SYMBOLS for c in candidate)):
            return candidate


class Command(BaseCommand):
    help = ("创建或重置系统管理员：生成强密码和动态口令（TOTP）密钥，只打印一次。"
            "Create or reset a system administrator (generated password + TOTP secret, printed once).")
    requires_system_checks = []  # a console tool: the checks load every URL and view (seconds)

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", default="sysadmin", help="login name (default: sysadmin)")
        parser.add_argument("--full-name", default="系统管理员", help="name shown in the pages")
        parser.add_argument("--keep-password", action="store_true",
                            help="do not require a password change at the first sign-in (demo and scripted checks)")

    @transaction.atomic
    def handle(self, username, full_name, keep_password=False, **options):
        user = User.objects.filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username, full_name=full_name)
            user.set_unusable_password()
            services.user_create(actor=None, user=user)
        elif user.role_codes() - {SYSTEM_ADMIN}:
            raise CommandError(f"{username} 已存在且持有其他角色（三员分立），不能改为系统管理员；请换一个登录名。"
                               f" {username} exists with other roles; choose another login name.")
        if SYSTEM_ADMIN not in user.role_codes():
            services.user_roles_assign(actor=None, user=user, roles=[SYSTEM_ADMIN])
        elif not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        password = strong_password()
        try:
            validate_password(password, user)
        except ValidationError as exc:  # a site-specific validator stricter than ours
            raise CommandError("; ".join(exc.messages)) from exc
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        if not keep_password:
            require_password_change(user)
        TOTPDevice.objects.filter(user=user).delete()  # a reset makes any old phone useless
        secret = otp.ensure_device(user)
        audit.record(AuditEvent.ADMIN_ACTION, user=None, username="(console)", obj=user,
                     detail={"action": "createadmin", "created": created})
        out = self.stdout
        out.write(("已创建" if created else "已重置") + "系统管理员（只显示这一次，请妥善保存）：")
        out.write(f"  登录名 login:        {username}")
        out.write(f"  密码 password:       {password}")
        out.write(f"  动态口令密钥 TOTP:   {secret}")
        out.write(f"  otpauth URI:         otpauth://totp/zhijian:{username}?secret={secret}&issuer=zhijian")
        out.write("把密钥加入手机上的验证器应用（如 Google Authenticator、Microsoft Authenticator），"
                  "登录时先输入密码，再输入应用显示的 6 位动态口令；进入 /admin/ 即系统管理。")
        if not keep_password:
            out.write("首次登录后须修改密码。")
