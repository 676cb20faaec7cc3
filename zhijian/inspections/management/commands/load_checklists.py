from django.core.management.base import BaseCommand

from zhijian.inspections import loading


class Command(BaseCommand):
    help = "Load the law texts (data/laws/) and the supervision-matter checklists (data/checklists/); idempotent."

    def handle(self, *args, **options):
        report = loading.load_checklists()
        self.stdout.write(str(report))
