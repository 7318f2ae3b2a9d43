"""``linli upgrade [rollback]``: switch the site to this release (see linli/ops/upgrade.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.ops.upgrade import (
    SYSTEMD_RESTART,
    SYSTEMD_START,
    SYSTEMD_STOP,
    UpgradeError,
    UpgradePlan,
    rollback,
    upgrade,
)

RELEASE = Path(__file__).resolve().parents[4]


class Command(BaseCommand):
    help = ("Upgrade the site to this release: back up, migrate, switch /opt/linli/current, start the idle web "
            "instance and stop the old one, restart workers (`rollback`: back to the previous release).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["run", "rollback"], default="run")
        parser.add_argument("--root", type=Path, default=Path("/opt/linli"),
                            help="folder holding releases/ and the current symlink (default: %(default)s)")
        parser.add_argument("--release", type=Path, default=RELEASE,
                            help="the release to switch to (default: this one, %(default)s)")
        parser.add_argument("--ports", default="8001,8002", help="the two web instance ports")
        parser.add_argument("--maintenance", choices=["auto", "on", "off"], default="auto",
                            help="show the maintenance page while migrating (auto: when a migration asks for it)")
        parser.add_argument("--no-backup", action="store_true", help="skip the backup (you took one)")
        parser.add_argument("--web-start", default=SYSTEMD_START, help="command template, {port} {root}")
        parser.add_argument("--web-stop", default=SYSTEMD_STOP, help="command template, {port} {root}")
        parser.add_argument("--restart-others", default=SYSTEMD_RESTART,
                            help="command restarting task workers and daemons ('' for none)")

    def handle(self, *args: Any, **options: Any) -> None:
        first, second = (int(p) for p in str(options["ports"]).split(","))
        plan = UpgradePlan(
            root=options["root"], release=options["release"], ports=(first, second),
            web_start=options["web_start"], web_stop=options["web_stop"],
            restart_others=options["restart_others"], maintenance=options["maintenance"],
            backup=not options["no_backup"], say=lambda line: self.stdout.write(f"linli upgrade: {line}"),
        )
        try:
            if options["action"] == "rollback":
                rollback(plan)
            else:
                upgrade(plan)
        except UpgradeError as error:
            raise CommandError(str(error)) from None
