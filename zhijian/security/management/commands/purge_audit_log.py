"""``zhijian purge_audit_log --by SECURITY_ADMIN --older-than-days N`` (N ≥ 184).

Deletes audit entries past the retention period; the database trigger refuses anything younger
than 184 days whatever this command is told, and the purge itself is audited.
"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from zhijian.core.errors import ApplicationError
from zhijian.security import services


class Command(BaseCommand):
    help = "清理超过保存期限的审计日志（须由安全管理员执行，至少保存 184 天）。"

    def add_arguments(self, parser):
        parser.add_argument("--by", required=True, help="username of the security administrator running the purge")
        parser.add_argument("--older-than-days", type=int, default=None)

    def handle(self, by, older_than_days=None, **options):
        actor = get_user_model().objects.filter(username=by).first()
        if actor is None:
            raise CommandError(f"no such user: {by}")
        try:
            n = services.purge_audit_log(actor=actor, older_than_days=older_than_days or settings.AUDIT_RETENTION_DAYS)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(f"deleted {n} audit entries")
