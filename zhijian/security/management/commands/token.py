"""``zhijian token USERNAME``: print (creating if needed) the person's DRF API token.

An operations tool for the system administrator at the console; integrators' tokens are exempt
from the TOTP step, so issuing one is audited. Administrator accounts cannot have tokens.
"""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from zhijian.core.errors import ApplicationError
from zhijian.security import services


class Command(BaseCommand):
    help = "打印（必要时创建）某账户的接口令牌（运维工具，记入审计日志）。"
    requires_system_checks = []  # a console tool: the checks load every URL and view (seconds)

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no such user: {username}")
        try:
            key = services.issue_token(actor=None, user=user)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(key)
