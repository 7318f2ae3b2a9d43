"""``linli cases_sweep``: raise supervision levels of overdue cases (idempotent, parallel-safe)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.cases.services import case_supervision_sweep


class Command(BaseCommand):
    help = "Raise supervision levels (yellow, red, escalated) of overdue open cases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="ISO 8601 moment to sweep at (default: now), for replays")

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as error:
                raise CommandError(f"--now: {error}") from error
            if now.tzinfo is None:
                raise CommandError("--now needs a time zone, e.g. 2026-10-08T09:00+08:00")
        raised = case_supervision_sweep(now=now)
        self.stdout.write(f"supervision raised on {raised} case(s)")
