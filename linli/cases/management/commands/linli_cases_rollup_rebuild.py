"""``manage.py linli_cases_rollup_rebuild [--since YYYY-MM-DD]``: recompute case statistics.

The rollups stay current on their own; this repairs them after a restore, a bulk import
that bypassed the services, or a change of the counting rules.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linli.cases.rollups import rollup_rebuild
from linli.core.actors import SystemActor
from linli.core.commands import day_option


class Command(BaseCommand):
    help = "Rebuild the case statistics rollups from the case table (whole months from --since on)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="first day to rebuild (its whole month is rebuilt)")

    def handle(self, *args: Any, **options: Any) -> None:
        since = day_option(options["since"], name="since")
        started = time.perf_counter()
        days, areas = rollup_rebuild(since=since, actor=SystemActor("command:linli_cases_rollup_rebuild"))
        self.stdout.write(self.style.SUCCESS(
            f"rebuilt {days:,} daily and {areas:,} area rollup rows in {time.perf_counter() - started:.1f}s",
        ))
