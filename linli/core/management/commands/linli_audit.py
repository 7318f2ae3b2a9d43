"""``linli audit verify`` checks the hash chain; ``linli audit tail -n 20`` prints recent entries."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from linli.core.selectors import audit_chain_verify, audit_entries_recent


class Command(BaseCommand):
    help = "Verify the audit hash chain or show its newest entries."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="recompute every hash; exit 1 on any problem")
        tail = sub.add_parser("tail", help="print the newest entries")
        tail.add_argument("-n", "--lines", type=_positive, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self._verify()
        else:
            self._tail(options["lines"])

    def _verify(self) -> None:
        report = audit_chain_verify()
        if report.ok:
            self.stdout.write(f"audit chain OK: {report.checked} entries")
            return
        for problem in report.problems:
            self.stderr.write(problem)
        raise CommandError(
            f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.checked} entries"
        )

    def _tail(self, lines: int) -> None:
        for entry in audit_entries_recent(limit=lines):
            when = timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S")
            target = f"{entry.target_type}:{entry.target_id}" if entry.target_id else entry.target_type
            fields = f" [{','.join(entry.fields)}]" if entry.fields else ""
            reason = f" «{entry.reason}»" if entry.reason else ""
            request = f" req={entry.request_id}" if entry.request_id else ""
            self.stdout.write(
                f"#{entry.seq} {when} {entry.actor_label} {entry.action} {target}"
                f"{fields}{reason}{request}"
            )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
