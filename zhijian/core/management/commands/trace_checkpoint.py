"""``zhijian trace-checkpoint``: sign the trace chain heads now and anchor them (the anchor file,
the public portal's copy, the ``trace.checkpoint`` event). See ``zhijian.core.anchor``."""
import binascii
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from zhijian.core import anchor
from zhijian.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Take a signed checkpoint of every trace chain head and append it to the anchor file."

    def add_arguments(self, parser):
        parser.add_argument("--if-changed", action="store_true", help="do nothing when no head changed since the last checkpoint")
        parser.add_argument("--previous-seed-file", metavar="PATH",
                            help="file holding the 32-byte seed (hex) of the key the anchor file pins now, to sign the change to "
                                 "the new key (needed after ZHIJIAN_SIGNING_KEY was replaced)")
        parser.add_argument("--restart-anchor", action="store_true",
                            help="begin a new anchor file although the database lists checkpoints (the old file archived first)")

    def handle(self, *args, if_changed=False, previous_seed_file=None, restart_anchor=False, **opts):
        seed = None
        if previous_seed_file:
            try:
                seed = bytes.fromhex(Path(previous_seed_file).read_text().strip())
            except (OSError, ValueError, binascii.Error) as exc:
                raise CommandError(f"cannot read a hex seed from {previous_seed_file}: {exc}") from exc
            if len(seed) != 32:
                raise CommandError(f"{previous_seed_file} must hold a 32-byte seed in hex")
        try:
            taken = anchor.take(reason=anchor.MANUAL, only_if_changed=if_changed, previous_seed=seed, restart=restart_anchor)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        for name in taken.held:
            self.stderr.write(f"chain {name} disagrees with the last checkpoint and is held at it: run zhijian verify-trace")
        if taken.checkpoint is None:
            self.stdout.write(f"no change since the last checkpoint ({taken.path})")
            return
        for line in taken.lines:
            if line["type"] == "key":
                self.stdout.write(f"key {line['kid']} pinned{' (signed by ' + line['prev_kid'] + ')' if line['prev_kid'] else ''}")
        cp = taken.checkpoint
        self.stdout.write(f"checkpoint n={cp['n']} at {cp['at']}: {len(cp['chains'])} chains, key {cp['kid']} → {taken.path}")
