"""``linli devices ingest | sweep | simulate``: the MQTT ingestor, the absence/heartbeat
sweep and the demo's traffic generator."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "devices: ingest (MQTT consumer), sweep (absence and heartbeat checks), simulate (demo publisher)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ingest = sub.add_parser("ingest", help="long-running MQTT consumer (QoS 1, persistent session)")
        ingest.add_argument("--max-batch", type=int, default=500)
        sweep = sub.add_parser("sweep", help="raise absence and offline alarms that are due, once")
        sweep.add_argument("--every", type=float, default=0.0, help="repeat every N seconds (0: once)")
        simulate = sub.add_parser("simulate", help="publish realistic traffic of the demo street's devices")
        simulate.add_argument("--rate", type=float, default=5.0, help="messages per second")
        simulate.add_argument("--seconds", type=float, default=0.0, help="stop after (0: until Ctrl-C)")
        simulate.add_argument("--smoke", action="store_true", help="start with one smoke alarm")
        imports = sub.add_parser("import", help="register the devices of a CSV/XLSX list (all or nothing)")
        imports.add_argument("file")
        imports.add_argument("--user", required=True, help="the importing user (their area bounds the rows)")
        imports.add_argument("--keep-valid", action="store_true", help="register the good rows, report the rest")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "ingest":
            from linli.devices.ingestor import BrokerSettings, Ingestor

            Ingestor(BrokerSettings.from_settings(), max_batch=options["max_batch"],
                     log=lambda line: self.stderr.write(line)).run()
        elif action == "import":
            self._import(options)
        elif action == "sweep":
            import time

            from linli.devices.services import device_sweep

            while True:
                report = device_sweep()
                self.stdout.write(f"absences {report.absences}, offline {report.offline}, "
                                  f"camera events closed {report.cameras_closed}, "
                                  f"readings purged {report.readings_purged}")
                if options["every"] <= 0:
                    break
                time.sleep(options["every"])
        else:
            from linli.devices.simulate import simulate

            simulate(rate=options["rate"], seconds=options["seconds"], smoke=options["smoke"],
                     out=lambda line: self.stdout.write(line))

    def _import(self, options: dict[str, Any]) -> None:
        from django.core.management.base import CommandError

        from linli.accounts.models import User
        from linli.core.errors import ApplicationError
        from linli.devices.services import device_import

        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        try:
            report = device_import(actor=user, path=options["file"], keep_valid=options["keep_valid"],
                                   request_id="cli:devices-import")
        except ApplicationError as error:
            raise CommandError(str(error.message)) from None
        for rejected in report.rejected:
            self.stderr.write(f"row {rejected.row} {rejected.field}: {rejected.message}")
        self.stdout.write(f"rows {report.rows}, imported {len(report.imported)}, rejected {len(report.rejected)}")
        if report.rejected and not report.applied:
            raise CommandError("nothing imported (fix the rows above, or use --keep-valid)")
