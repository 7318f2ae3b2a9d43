"""``linli notify relay``: the outbox relay (a daemon of ``linli run`` / ``linli demo``);
``linli notify check``: validate the channel settings; ``linli notify dead``: list dead letters."""

from __future__ import annotations

import signal
from datetime import timedelta
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.config import ConfigError
from linli.notify.channels.registry import channel_setups
from linli.notify.relay import Relay, webpush_gone


class Command(BaseCommand):
    help = "Notification relay and checks: relay | check | dead"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["relay", "check", "dead"])
        parser.add_argument("--batch", type=int, default=500, help="deliveries claimed per channel and round")
        parser.add_argument("--threads", type=int, default=16, help="sender threads (HTTP requests in flight)")
        parser.add_argument("--lease-seconds", type=float, default=60.0,
                            help="how long a claim holds before another relay may take it")
        parser.add_argument("--backoff-seconds", type=float, default=30.0,
                            help="wait before the first retry (doubles per attempt, at most an hour)")
        parser.add_argument("--once", action="store_true", help="one round, then exit (cron, tests)")

    def handle(self, *args: Any, action: str, batch: int, threads: int, lease_seconds: float, once: bool,
               backoff_seconds: float, **options: Any) -> None:
        try:
            setups = channel_setups()
        except ConfigError as exc:
            raise CommandError(f"notification channel misconfigured: {exc}") from None
        if action == "check":
            for name, setup in setups.items():
                self.stdout.write(f"{name}: {setup.adapter.__class__.__name__}, {setup.rate_per_second:g}/s, "
                                  f"{'idempotent' if setup.idempotent else 'not idempotent'}")
            return
        if action == "dead":
            from linli.notify.models import Delivery

            for d in Delivery.objects.filter(state="dead").order_by("-updated_at")[:200]:
                self.stdout.write(f"{d.pk}\t{d.channel}\t{d.address_masked}\t{d.attempts}\t{d.last_error}")
            return
        relay = Relay(setups, batch=batch, threads=threads, lease=timedelta(seconds=lease_seconds),
                      gone=webpush_gone, backoff_base=timedelta(seconds=backoff_seconds))

        def stop(signum: int, frame: FrameType | None) -> None:
            relay.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if once:
            report = relay.run_once()
            relay.pool.shutdown(wait=True)
            self.stdout.write(f"claimed {report.claimed}, sent {report.sent}, retry {report.retried}, "
                              f"dead {report.dead}, expired {report.expired}")
            return
        relay.run_forever()
