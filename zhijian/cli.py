"""The ``zhijian`` console command: a thin wrapper over Django's management commands.

``zhijian demo`` → ``manage.py demo``; ``zhijian import-entities`` → ``import_entities``; any
other Django command works too (``zhijian migrate``).
"""
from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhijian.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["zhijian", *argv[1:]])


if __name__ == "__main__":
    main()
