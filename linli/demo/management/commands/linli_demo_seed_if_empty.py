"""``manage.py linli_demo_seed_if_empty``: seed the default street once, then reuse it.

The caller (``linli demo``) has migrated already. A second run writes nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linli.core.actors import SystemActor
from linli.demo.generator import DEFAULT_RESIDENTS
from linli.demo.management.commands.linli_seed import print_report
from linli.demo.selectors import demo_accounts
from linli.demo.services import demo_seed_if_empty


class Command(BaseCommand):
    help = "Seed the demo street (74,000 residents, seed 2026) unless areas exist; list demo accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all-accounts", action="store_true", help="list every demo account")
        # ``linli demo`` prints the accounts itself, once, at the end (with the address).
        parser.add_argument("--no-accounts", action="store_true", help="do not list the demo accounts")
        parser.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS,
                            help="residents of the street when it is seeded (default: %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_seed_if_empty(actor=SystemActor("command:seed"), residents=options["residents"],
                                    progress=self.stdout.write)
        if report is None:
            self.stdout.write("demo data exists: reusing it (nothing seeded)")
        else:
            print_report(self, report)
            self.stdout.write(self.style.SUCCESS(
                f"seeded the demo street: {report.residents:,} residents in {report.seconds:.1f}s",
            ))
        if options["no_accounts"]:
            return
        accounts = demo_accounts(one_per_role=not options["all_accounts"])
        if not accounts:
            return
        self.stdout.write(f"{'username':<12} {'password':<12} {'role':<16} area")
        for account in accounts:
            self.stdout.write(f"{account.username:<12} {account.password:<12} {account.role_label:<16} {account.area}")
