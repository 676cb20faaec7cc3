"""DEMO / OPERATIONS TOOL — prints a person's current TOTP code.

``zhijian otp USERNAME`` is for the demo, scripted smoke tests and console recovery by someone who
already has the server and its database. It defeats the second factor by design, so every use is
written to the audit log. Do not wrap it in anything reachable from the network.
"""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from zhijian.security import audit, otp
from zhijian.security.choices import AuditEvent


class Command(BaseCommand):
    help = "演示/运维工具：打印某人当前的动态口令（每次使用都记入审计日志）。DEMO/OPERATIONS ONLY."
    requires_system_checks = []  # a console tool: the checks load every URL and view (seconds)

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--enrol", action="store_true", help="create a confirmed TOTP device if the person has none")
        parser.add_argument("--secret", action="store_true", help="print the base32 secret instead of a code")

    def handle(self, username, enrol=False, secret=False, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no such user: {username}")
        if otp.confirmed_device(user) is None and not enrol:
            raise CommandError(f"{username} has no confirmed TOTP device (use --enrol to create one)")
        key = otp.ensure_device(user)
        audit.record(AuditEvent.OTP_CODE_PRINTED, user=None, username="(console)", obj=user,
                     detail={"secret": bool(secret), "enrol": bool(enrol)})
        self.stdout.write(key if secret else otp.next_code(user))
