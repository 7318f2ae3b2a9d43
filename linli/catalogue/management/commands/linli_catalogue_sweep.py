"""``manage.py linli_catalogue_sweep``: mark overdue applications (safe to run twice or in parallel)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from linli.catalogue.services import application_overdue_sweep


class Command(BaseCommand):
    help = "Mark open applications past their legal deadline as overdue and supervised."

    def handle(self, *args: Any, **options: Any) -> None:
        marked = application_overdue_sweep(now=timezone.now())
        self.stdout.write(f"overdue applications marked: {marked}")
