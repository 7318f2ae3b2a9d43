"""``linli manage linli_purge_files``: delete import files past the retention period."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linli.fusion.services import import_files_purge


class Command(BaseCommand):
    help = "Delete rejected-rows reports and uploaded exports older than LINLI_FILE_RETENTION_DAYS (default 30)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="retention in days (default: the setting)")

    def handle(self, *args: Any, **options: Any) -> None:
        purged = import_files_purge(retention_days=options["days"])
        self.stdout.write(f"reports: {purged.reports}, uploads: {purged.uploads}")
