from pathlib import Path

from django.core.management.base import BaseCommand

from zhijian.deadlines.services import holidays_dir, load_holidays


class Command(BaseCommand):
    help = "Load statutory holidays and adjusted working days from data/holidays/*.json (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=None, help="directory of YYYY.json files (default: DATA_DIR/holidays)")

    def handle(self, *args, dir=None, **options):
        counts = load_holidays(directory=dir)
        self.stdout.write(f"holidays from {dir or holidays_dir()}: " + " ".join(f"{k}={v}" for k, v in counts.items()))
