"""``manage.py linli_seed --residents N --seed S [--street-only]``: seed an empty registry."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.core.actors import SystemActor
from linli.core.errors import ApplicationError
from linli.demo.generator import DEFAULT_RESIDENTS, DEFAULT_SEED
from linli.demo.services import SeedReport, demo_seed


def print_report(command: BaseCommand, report: SeedReport) -> None:
    counts = ", ".join(f"{name} {value:,}" for name, value in report.counts.items())
    command.stdout.write(f"written: {counts}; accounts {report.accounts_created}")
    stages = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in report.timings.items())
    command.stdout.write(f"stages: {stages}")


class Command(BaseCommand):
    help = "Seed the deterministic demo street (望江街道) into an empty registry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--street-only", action="store_true",
                            help="area tree and demo accounts only, no buildings or residents")
        parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE at the end")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            report = demo_seed(
                actor=SystemActor("command:seed"), residents=options["residents"],
                seed=options["seed"], street_only=options["street_only"],
                analyze=not options["no_analyze"], progress=self.stdout.write,
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        print_report(self, report)
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(
            f"seeded {report.residents:,} residents (seed {report.seed}) in {elapsed:.1f}s",
        ))
