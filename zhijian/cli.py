"""The ``zhijian`` console command: a thin wrapper over Django's management commands.

Command names are written with hyphens (``zhijian verify-trace``, ``zhijian import-entities``), as
the README writes them; Django's underscore names (``verify_trace``) work too. ``zhijian --help``
(or ``zhijian help``) lists the platform's own commands first, with hyphens, then Django's.
"""
from __future__ import annotations

import os
import sys

# The platform's commands in the order an operator meets them, with one line each (Chinese first).
OWN_COMMANDS = [
    ("demo", "建立演示城市并启动服务 / build the demo city and serve it"),
    ("serve", "启动 Web 服务与后台进程（Ctrl-C 全部停止） / web server, worker, scheduler, dispatcher"),
    ("createadmin", "创建或重置系统管理员（生成密码与动态口令密钥） / create or reset a system administrator"),
    ("otp", "打印某人当前的动态口令（演示/运维） / print a person's current TOTP code"),
    ("token", "为集成方打印 API 令牌 / print an integrator's API token"),
    ("import-entities", "导入市场主体 / import market entities"),
    ("load-reference", "装载区划与行业分类 / load divisions and industries"),
    ("import-grids", "导入网格边界 / import grid boundaries"),
    ("load-holidays", "装载法定节假日 / load the holiday calendar"),
    ("load-deadline-rules", "装载期限规则 / load deadline rules"),
    ("load-checklists", "装载检查清单 / load checklists"),
    ("verify-trace", "校验监管留痕链 / verify the trace chain"),
    ("trace-checkpoint", "签名并锚定留痕链检查点 / sign and anchor a trace checkpoint"),
    ("verify-draw", "重算并核对双随机抽查 / recompute a double-random draw"),
    ("worker", "后台任务 worker / background task worker"),
    ("scheduler", "周期任务调度 / periodic job scheduler"),
    ("dispatch-events", "事件分发（webhook 投递） / event dispatcher"),
    ("purge-audit-log", "清理超过保存期的审计日志 / purge audit entries past retention"),
    ("rotate-signing-key", "轮换留痕签名密钥 / rotate the trace signing key"),
    ("recount-entities", "重算区划主体数 / recount entities per division"),
]

HELP_WORDS = {"help", "--help", "-h"}
# Console commands that serve no pages: Django is set up without the admin modules (see
# org.adminconfig), and they skip the system checks, so a code prints in well under a second.
CONSOLE_ONLY = {"otp", "token", "createadmin"}


def command_name(name: str) -> str:
    """The name a person types (``verify-trace``) for Django's (``verify_trace``)."""
    return name.replace("_", "-")


def help_text() -> str:
    from django.core.management import get_commands  # noqa: PLC0415  (after DJANGO_SETTINGS_MODULE is set)

    available = {command_name(n): app for n, app in get_commands().items()}
    lines = ["用法 usage: zhijian <命令 command> [选项 options]", "", "智监命令 Zhijian commands:"]
    own = [(n, text) for n, text in OWN_COMMANDS if n in available]
    width = max(len(n) for n, _ in own)
    lines += [f"  {n.ljust(width)}  {text}" for n, text in own]
    own_names = {n for n, _ in own}
    others = sorted(n for n, app in available.items() if n not in own_names and app.startswith("zhijian"))
    if others:
        lines += ["", "其他智监命令 other Zhijian commands:", "  " + "  ".join(others)]
    django_names = sorted(n for n, app in available.items() if not app.startswith("zhijian"))
    lines += ["", "Django 命令 Django commands:", "  " + "  ".join(django_names), "",
              "zhijian <命令> --help 查看某条命令的选项。 zhijian <command> --help for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhijian.settings")
    args = argv[1:]
    if not args or (args[0] in HELP_WORDS and len(args) == 1):
        import django  # noqa: PLC0415  (setting up Django only when help is asked for)

        django.setup()
        print(help_text())
        return
    if args[0] == "help" and len(args) > 1:
        args = [command_name(args[1]), "--help"]
    elif not args[0].startswith("-"):
        args[0] = command_name(args[0])
        if args[0] in CONSOLE_ONLY:
            os.environ["ZHIJIAN_CONSOLE_ONLY"] = "1"
    from django.core.management import ManagementUtility  # noqa: PLC0415  (settings module must be set first)

    class Utility(ManagementUtility):
        # "verify-trace" is found as verify_trace; its usage line keeps the hyphen.
        def fetch_command(self, subcommand):
            return super().fetch_command(subcommand.replace("-", "_"))

    Utility(["zhijian", *args]).execute()


if __name__ == "__main__":
    main()
