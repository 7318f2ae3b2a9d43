"""``manage.py linli_catalogue_seed [--force]``: load or update the seed service catalogue.

Safe to run again: unchanged items are left alone, changed seed items get a new version,
and items whose current version a person published are kept unless ``--force``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linli.catalogue.seed_items import catalogue_seed
from linli.core.actors import SystemActor


class Command(BaseCommand):
    help = "Load or update the seed service catalogue (117 items); idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true",
                            help="also replace item definitions published by a person (as a new version)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = catalogue_seed(actor=SystemActor("command:linli_catalogue_seed"), force=options["force"])
        self.stdout.write(
            f"catalogue: {len(report.created)} created, {len(report.republished)} new versions, "
            f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
            f"{len(report.kept_local_edits)} kept (edited in the UI)",
        )
        if report.kept_local_edits:
            self.stdout.write("kept: " + ", ".join(report.kept_local_edits))
