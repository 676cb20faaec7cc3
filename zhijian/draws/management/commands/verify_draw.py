"""``zhijian verify-draw DRAW_ID``: recompute a draw from its revealed seed and frozen pools."""
from django.core.management.base import BaseCommand, CommandError

from zhijian.draws import services
from zhijian.draws.models import Draw


class Command(BaseCommand):
    help = "Recompute a draw and compare it with the stored selection (exit 0 when equal)."

    def add_arguments(self, parser):
        parser.add_argument("draw", help="draw id or public id")

    def handle(self, *args, **opts):
        key = opts["draw"]
        draw = Draw.objects.filter(**({"pk": int(key)} if key.isdigit() else {"public_id": key})).first()
        if draw is None:
            raise CommandError(f"draw {key} not found")
        diffs = services.verify(draw)
        if diffs:
            raise CommandError(f"draw {draw.public_id} does not verify: {diffs[0]}")
        self.stdout.write(f"draw {draw.public_id} verified: {draw.selected_count} entities, seed sha256 {draw.seed_sha256}")
