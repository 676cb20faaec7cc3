"""``zhijian verify-trace``: exit 0 when every chain is intact, 1 naming the first break."""
from django.core.management.base import BaseCommand, CommandError

from zhijian.core import trace


class Command(BaseCommand):
    help = "Verify the trace ledger's hash chains (and entry signatures)."

    def add_arguments(self, parser):
        parser.add_argument("--chain", action="append", help="verify only this chain (repeatable)")
        parser.add_argument("--no-signatures", action="store_true", help="skip Ed25519 signature checks")
        parser.add_argument("--all", action="store_true", help="list every break, not only the first")

    def handle(self, *args, **opts):
        report = trace.verify(chains=opts["chain"], check_signatures=not opts["no_signatures"], stop_at_first=not opts["all"])
        if report.ok:
            self.stdout.write(f"OK: {report.checked} entries in {report.chains} chains intact")
            return
        for b in report.breaks[1:]:
            self.stderr.write(f"also broken: {b}")
        raise CommandError(f"trace ledger broken: first break at {report.breaks[0]} (checked {report.checked} entries)")
