"""``linli manage linli_digests_refresh``: rebuild the stale per-building emergency digests."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linli.core.commands import day_option
from linli.registry.services.digests import building_digests_refresh


class Command(BaseCommand):
    help = "Rebuild the stale or missing per-building emergency digests (idempotent, parallel-safe)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--on", help="the day to build for (default: today), YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        on = day_option(options["on"], name="on")
        rebuilt = building_digests_refresh(on=on)
        self.stdout.write(f"{rebuilt} building digest(s) rebuilt")
