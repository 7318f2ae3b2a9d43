"""``manage.py linli_portal_demo``: the demo's 两委 members and residents' conventions, where missing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from linli.core.actors import SystemActor
from linli.portal.demo_seed import affairs_demo_seed_if_missing


class Command(BaseCommand):
    help = "Seed the 两委 members and the residents' convention of every community that has none."

    def handle(self, *args: Any, **options: Any) -> None:
        report = affairs_demo_seed_if_missing(actor=SystemActor("command:seed"))
        self.stdout.write(
            f"portal public affairs: {report.communities} communities, {report.members} members, "
            f"{report.conventions} convention versions seeded"
        )
