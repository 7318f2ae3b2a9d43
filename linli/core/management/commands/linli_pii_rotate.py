"""Re-encrypt personal data sealed with an old key under the current ``LINLI_PII_KEYS`` key.

Rotation: put the new key first in ``LINLI_PII_KEYS`` (keeping the old one after it), restart,
run this command, then drop the old key. Until a run finishes, the key check refuses to start
without the old key (linli/core/key_check.py). Models opt in with ``PII_FIELDS``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.core import pii
from linli.core.actors import SystemActor
from linli.core.services import pii_keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt every *_enc column whose key is not the current one (batched, audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            report = pii_keys_rotate(
                actor=SystemActor("command:linli_pii_rotate"), batch_size=batch_size,
            )
        except pii.PiiError as exc:
            raise CommandError(f"rotation stopped: {exc}") from exc
        for label in report.skipped_models:
            self.stderr.write(f"warning: {label} has *_enc columns but no PII_FIELDS; skipped")
        for label, count in sorted(report.rewritten.items()):
            self.stdout.write(f"{label}: {count} re-encrypted")
        self.stdout.write(f"done: {report.total} value(s) now under key {report.key_id}")
        if report.retired:
            self.stdout.write(f"key(s) {', '.join(report.retired)} no longer seal anything: "
                              "they may be removed from LINLI_PII_KEYS")
