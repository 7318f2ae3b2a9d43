"""``manage.py linli_demo_extras``: catalogue, windows and a year of cases, each if missing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linli.core.actors import SystemActor
from linli.demo.cases_history import DEFAULT_CASES_PER_MONTH
from linli.demo.extras import demo_extras_seed_if_missing
from linli.demo.generator import DEFAULT_RESIDENTS


class Command(BaseCommand):
    help = "Seed the demo's service catalogue, windows and case history where they are missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS,
                            help="size of the street: the case history scales with it (default: %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        # 1,500 cases a month for the 74,000-resident street; a smaller street, fewer.
        per_month = max(20, DEFAULT_CASES_PER_MONTH * options["residents"] // DEFAULT_RESIDENTS)
        report = demo_extras_seed_if_missing(actor=SystemActor("command:seed"), cases_per_month=per_month,
                                             progress=self.stdout.write)
        for line in report.done:
            self.stdout.write(f"seeded {line}")
        if report.skipped:
            self.stdout.write(f"kept: {', '.join(report.skipped)}")
