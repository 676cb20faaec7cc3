from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from zhijian.core import anchor
from zhijian.core.models import TraceAnchorLine, TraceEntry
from zhijian.deadlines.sweeps import calendar_gaps_message
from zhijian.demo import builder, history
from zhijian.entities.models import MarketEntity
from zhijian.org.choices import RoleCode


class _Bar:
    """tqdm factory for the reference loader, plus an ``update_to`` for the importer."""

    def __init__(self):
        self.bar = None

    def __call__(self, **kw):
        return tqdm(**kw)

    def update_to(self, done, total):
        if self.bar is None:
            self.bar = tqdm(total=total, desc="市场主体", unit="户")
        self.bar.n = done
        self.bar.refresh()
        if done >= total:
            self.bar.close()


class Command(BaseCommand):
    help = "建立演示城市（济南市）并启动服务：http://127.0.0.1:8000"

    def add_arguments(self, parser):
        parser.add_argument("--build-only", action="store_true", help="只建立演示数据，不启动服务")
        parser.add_argument("--entities", type=int, default=50_000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, build_only, entities, seed, port, **opts):
        call_command("migrate", verbosity=0)
        # The imported stock is there (the recent registrations of the history come on top of it).
        if MarketEntity.objects.filter(division_code__startswith="3701").count() >= entities - history.NEW_REGISTRATIONS:
            self.stdout.write("演示数据已存在，跳过生成（删除 var/ 可重建）")
            logins = builder._people(builder._bureaus())
        else:
            self._archive_stale_anchor()
            logins = builder.build(entities=entities, seed=seed, progress=_Bar(), log=self.stdout.write)
            # The history was replayed on its own days: anchor the finished ledger now.
            cp = anchor.take(reason=anchor.MANUAL, only_if_changed=True).checkpoint
            if cp:
                self.stdout.write(f"留痕链检查点：第 {cp['n']} 个，{len(cp['chains'])} 条链（{cp['at'][:19]}）")
        self.stdout.write("")
        self.stdout.write(f"演示登录（密码均为 {builder.PASSWORD}；第二因素：把 TOTP 密钥加入身份验证器，或运行 zhijian otp 用户名）")
        for l in logins:
            self.stdout.write(f"  {l.username:<11} {l.full_name:<6} {l.roles:<12} TOTP {l.otp_secret}")
            if l.first_step:
                self.stdout.write(f"  {'':<11} 先试：{l.first_step}")
        admins = [l.username for l in logins if l.roles == str(RoleCode.SYSTEM_ADMIN.label)]
        if admins:
            self.stdout.write(f"系统管理员：{'、'.join(admins)}（管理页面 /admin/：节假日（录入全年安排 /admin/deadlines/holiday/schedule/）、期限规则、检查清单、推送规则、用户）")
        # Deadlines that reach an unpublished year are refused, not guessed: say so before anyone clicks.
        warning = calendar_gaps_message(timezone.localdate())
        if warning:
            self.stdout.write(self.style.WARNING(f"注意：{warning}期限落在这些年度的按法定节日和周末暂定（标“暂定”），录入后自动重算。"))
        if build_only:
            return
        call_command("serve", port=port)

    def _archive_stale_anchor(self):
        """A new demo city starts a new ledger: the anchor file left by a deleted demo database is
        moved aside (outside a demo, a database without its checkpoints is what verify-trace reports)."""
        path = anchor.anchor_path()
        if path.exists() and path.stat().st_size and not TraceEntry.objects.exists() and not TraceAnchorLine.objects.exists():
            aside = path.with_name(f"{path.stem}.replaced-{timezone.now():%Y%m%d%H%M%S}{path.suffix}")
            path.rename(aside)
            self.stdout.write(f"旧的留痕锚定文件属于已删除的演示数据库，已移到 {aside}")

