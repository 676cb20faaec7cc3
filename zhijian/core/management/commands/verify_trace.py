"""``zhijian verify-trace``: exit 0 when every chain is intact and agrees with the latest signed
checkpoints; exit 1 naming the first break (``--all``: every break). See docs/security.md."""
from django.core.management.base import BaseCommand, CommandError

from zhijian.core import anchor, trace


class Command(BaseCommand):
    help = "Verify the trace ledger's hash chains, entry signatures and the chains against the signed checkpoints of the anchor file(s)."

    def add_arguments(self, parser):
        parser.add_argument("--chain", action="append", help="verify only this chain (repeatable)")
        parser.add_argument("--no-signatures", action="store_true", help="skip Ed25519 signature checks of signed entries")
        parser.add_argument("--all", action="store_true", help="list every break, not only the first")
        parser.add_argument("--anchor", action="append", default=[], metavar="PATH",
                            help="also verify against this anchor file (a copy kept elsewhere, e.g. by an auditor; repeatable)")
        parser.add_argument("--no-local-anchor", action="store_true",
                            help="do not read the local anchor file (settings.TRACE_ANCHOR_FILE); use only --anchor files")
        parser.add_argument("--trust-key", action="append", default=[], metavar="PUBLIC_KEY",
                            help="base64url Ed25519 public key the anchor's first key must be (repeatable; adds to TRACE_ANCHOR_KEYS)")

    def handle(self, *args, **opts):
        report = trace.verify(
            chains=opts["chain"], check_signatures=not opts["no_signatures"], stop_at_first=not opts["all"],
            anchor_files=opts["anchor"], local_anchor=not opts["no_local_anchor"], trusted_keys=opts["trust_key"],
        )
        if report.anchors:
            against = "; ".join(f"checkpoint n={a['n']} ({a['at']}, {a['chains']} chains) of {a['source']}" for a in report.anchors)
        else:
            against = f"no checkpoint yet (anchor file {anchor.anchor_path()})"
        if report.ok:
            self.stdout.write(f"OK: {report.checked} entries in {report.chains} chains intact; checked against {against}")
            return
        for b in report.breaks[1:]:
            self.stderr.write(f"also broken: {b}")
        raise CommandError(f"trace ledger broken: first break at {report.breaks[0]} (checked {report.checked} entries; against {against})")
