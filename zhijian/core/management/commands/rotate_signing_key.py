"""``zhijian rotate-signing-key``: retire the active Ed25519 key and start a new one."""
from django.core.management.base import BaseCommand

from zhijian.core import signing


class Command(BaseCommand):
    help = "Rotate the Ed25519 signing key (old keys stay for verification)."

    def add_arguments(self, parser):
        parser.add_argument("--print-seed", action="store_true", help="only print a fresh seed for ZHIJIAN_SIGNING_KEY")

    def handle(self, *args, **opts):
        if opts["print_seed"]:
            self.stdout.write(signing.new_seed_hex())
            return
        key = signing.rotate()
        self.stdout.write(f"active signing key: {key.kid} public={key.public_key}")
