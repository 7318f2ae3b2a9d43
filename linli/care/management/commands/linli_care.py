"""``linli care sweep [--on DATE]`` and ``linli care seed``: the nightly sweep, the seed policies."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linli.care.services import policies_seed
from linli.care.services.sweep import sweep_run
from linli.core.commands import day_option


class Command(BaseCommand):
    help = "Proactive care: 'sweep' runs (or resumes) the day's sweep; 'seed' loads the seed policies."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["sweep", "seed"])
        parser.add_argument("--on", help="the day to sweep (YYYY-MM-DD, default: today in Asia/Shanghai)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "seed":
            self.stdout.write(f"{policies_seed()} policies created")
            return
        on = day_option(options["on"], name="on")
        run = sweep_run(on=on)
        counts = ", ".join(f"{name} {n}" for name, n in run.counts.items())
        self.stdout.write(f"care sweep {run.on}: {run.status} ({counts})")
