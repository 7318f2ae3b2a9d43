"""``manage.py linli_demo_imports``: import five of the demo's departmental exports, once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from linli.core.actors import SystemActor
from linli.demo.extras import demo_imports_if_missing


class Command(BaseCommand):
    help = "Import the demo street's departmental exports (all but 计生) unless an import was already run."

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_imports_if_missing(actor=SystemActor("command:seed"), progress=self.stdout.write)
        for line in report.done:
            self.stdout.write(f"imported {line}")
        if report.skipped:
            self.stdout.write(f"kept: {', '.join(report.skipped)}")
