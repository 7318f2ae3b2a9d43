"""``linli audit verify`` checks the MAC chain and the checkpoints; ``linli audit checkpoint``
writes a signed checkpoint of the head; ``linli audit tail -n 20`` prints recent entries."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from linli.core.actors import SystemActor
from linli.core.audit_checkpoint import checkpoints_read
from linli.core.selectors import audit_chain_verify, audit_checkpoints_verify, audit_entries_recent
from linli.core.services import audit_checkpoint_write


class Command(BaseCommand):
    help = "Verify the audit MAC chain, write a checkpoint of its head, or show its newest entries."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="recompute every MAC, compare with the checkpoints; "
                                               "exit 1 on any problem")
        verify.add_argument("--checkpoints", type=Path, default=None,
                            help="folder of checkpoint files (default: LINLI_AUDIT_CHECKPOINT_DIR)")
        checkpoint = sub.add_parser("checkpoint", help="verify, then write a signed checkpoint file "
                                                       "of the head; exit 1 (and write nothing) on any problem")
        checkpoint.add_argument("--dir", type=Path, default=None,
                                help="where to write it (default: LINLI_AUDIT_CHECKPOINT_DIR)")
        tail = sub.add_parser("tail", help="print the newest entries")
        tail.add_argument("-n", "--lines", type=_positive, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = settings.LINLI_AUDIT_CHECKPOINT_DIR
        if options["subcommand"] == "verify":
            self._verify(options["checkpoints"] or folder)
        elif options["subcommand"] == "checkpoint":
            self._checkpoint(options["dir"] or folder)
        else:
            self._tail(options["lines"])

    def _verify(self, folder: Path) -> None:
        report = audit_chain_verify()
        checkpoints, problems = checkpoints_read(folder)
        problems = [*report.problems, *problems, *audit_checkpoints_verify(checkpoints, report=report)]
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(
                f"audit chain BROKEN: {len(problems)} problem(s) in {report.checked} entries"
            )
        self.stdout.write(f"audit chain OK: {report.checked} entries")
        if report.legacy_seq:
            self.stdout.write(f"  entries 1..{report.legacy_seq} predate keyed MACs (SHA-256, anchored)")
        if checkpoints:
            newest = checkpoints[-1]
            self.stdout.write(
                f"  matches {len(checkpoints)} checkpoint(s) in {folder}; the newest: entry "
                f"#{newest.seq} of {newest.written_at.isoformat(timespec='seconds')}"
            )
        else:
            self.stderr.write(
                f"warning: no checkpoint in {folder}: a cut tail cannot be detected. "
                "Run `linli audit checkpoint` daily and keep copies outside this server."
            )

    def _checkpoint(self, folder: Path) -> None:
        outcome = audit_checkpoint_write(actor=SystemActor("command:linli_audit"), directory=folder)
        if outcome.path is None:
            for problem in outcome.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"no checkpoint written: {len(outcome.problems)} problem(s); see `linli audit verify`"
            )
        self.stdout.write(outcome.text, ending="")
        self.stdout.write(f"written to {outcome.path}; copy it off this server (or print it)")

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
