"""``zhijian token USERNAME [--scope read|write] [--days N] [--integrator NAME]``: issue a new API
token for the account and print its key.

An operations tool for the system administrator at the console; integrators' tokens are exempt
from the TOTP step, so issuing one is audited. Only the key's hash is stored: the key is printed
this once (run the command again for a new one). Administrator accounts cannot have tokens.
"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from zhijian.core.errors import ApplicationError
from zhijian.security import services
from zhijian.security.choices import TokenScope


class Command(BaseCommand):
    help = "为某账户签发新的接口令牌并打印（只显示这一次；运维工具，记入审计日志）。"
    requires_system_checks = []  # a console tool: the checks load every URL and view (seconds)

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--scope", choices=["read", "write"], default="write",
                            help="read: read-only (GET); write: read and write (default)")
        parser.add_argument("--days", type=int, default=None,
                            help=f"validity in days (default {settings.API_TOKEN_DAYS}, at most {settings.API_TOKEN_MAX_DAYS})")
        parser.add_argument("--integrator", default="", help="name of the integrating system, e.g. 卫健委审批系统")

    def handle(self, username, scope="write", days=None, integrator="", **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"没有该账户 / no such user: {username}")
        try:
            key = services.issue_token(actor=None, user=user, scope=TokenScope(scope), days=days, integrator=integrator)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(key)
