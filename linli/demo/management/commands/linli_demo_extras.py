"""``manage.py linli_demo_extras``: catalogue, windows and a year of cases, each if missing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from linli.core.actors import SystemActor
from linli.demo.extras import demo_extras_seed_if_missing


class Command(BaseCommand):
    help = "Seed the demo's service catalogue, windows and case history where they are missing."

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_extras_seed_if_missing(actor=SystemActor("command:seed"), progress=self.stdout.write)
        for line in report.done:
            self.stdout.write(f"seeded {line}")
        if report.skipped:
            self.stdout.write(f"kept: {', '.join(report.skipped)}")
