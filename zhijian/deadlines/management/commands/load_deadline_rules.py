from django.core.management.base import BaseCommand

from zhijian.deadlines.services import load_deadline_rules


class Command(BaseCommand):
    help = "Create the seed deadline rules that are missing (idempotent); --update overwrites edited seed versions."

    def add_arguments(self, parser):
        parser.add_argument("--update", action="store_true", help="reset existing seed versions to the seed values")

    def handle(self, *args, update=False, **options):
        counts = load_deadline_rules(update=update)
        self.stdout.write("deadline rules: " + " ".join(f"{k}={v}" for k, v in counts.items()))
