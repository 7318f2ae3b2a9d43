"""Fill the suffix indexes (last 4 / last 6 characters of ID numbers and phones).

Migration registry 0004 fills them once; run this after restoring an old backup, after a
bulk load from an older release, or with ``--rebuild`` after changing
``LINLI_BLIND_INDEX_KEY`` (the suffix key is derived from it).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.core import pii
from linli.registry.models import Person
from linli.registry.services.suffixes import suffix_backfill


class Command(BaseCommand):
    help = "Fill missing suffix indexes of persons (--rebuild: recompute all of them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--rebuild", action="store_true", help="recompute every row, not only missing ones")

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            written = suffix_backfill(Person, batch_size=batch_size, rebuild=options["rebuild"])
        except pii.PiiError as exc:
            raise CommandError(f"stopped: {exc}") from exc
        self.stdout.write(f"done: {written} identifier(s) indexed")
