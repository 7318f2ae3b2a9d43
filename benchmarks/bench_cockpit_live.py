"""200 open live connections on the cockpit, and how soon a new alarm reaches each (issue #21).

The cockpit's live card is an htmx poll of ``/cockpit/alarms/`` (docs/cockpit.md, "Live
updates": polling, not Server-Sent Events). This benchmark starts ``linli serve`` on a
prepared demo data folder and runs ``--clients`` simulated wall screens: each one a thread
with its own keep-alive HTTP connection (an open connection held for the whole run), logged
in as the demo's street operator (``street``; one session shared by every client — the
server does the same work per request whoever it is, and 200 logins would only fill the
session table), polling the card at the page's own interval (read from the template's
``hx-trigger="… every Ns"``), each at a random phase as real screens opened at different
moments would.

Then it raises ``--alarms`` new smoke alarms one after the other through the product's own
path — ``devices.services.ingest_batch`` with the MQTT message a detector sends (the
alarm, its level-1 case and the notifications, in one transaction) — and records, for every
client and every alarm, the delay from the commit until that client's poll answer holds the
alarm (its id in the card's map data). It prints p50/p95/max of those delays, the share
within 2 s, the request latency, the errors (any answer but 200, any failed connection) and
the load average.

Prepare the data once (minutes), then measure as often as needed:

    LINLI_DATA_DIR=/tmp/live linli demo --no-serve --residents 8000
    .venv/bin/python -m benchmarks.bench_cockpit_live --data-dir /tmp/live
    .venv/bin/python -m benchmarks.bench_cockpit_live --data-dir /tmp/live --interval 2   # the goal's interval

Each run leaves its alarms open (they are the demo's smoke detectors: a later run takes
others, and the card lists at most its usual count).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_mixed_load import free_port, login, server
from benchmarks.harness import Result, percentile, report

PROJECT = Path(__file__).resolve().parents[1]
TEMPLATE = PROJECT / "linli" / "cockpit" / "templates" / "cockpit" / "cockpit.html"
PATH = "/cockpit/alarms/"
GOAL_S = 2.0
_IDS = re.compile(r'<script id="cockpit-alarm-data" type="application/json">(.*?)</script>', re.S)


def page_interval() -> float:
    """The live card's poll interval as the cockpit page sets it (``every Ns``)."""
    html = TEMPLATE.read_text(encoding="utf-8")
    card = re.search(r'id="cockpit-alarms"[^>]*hx-trigger="[^"]*every (\d+(?:\.\d+)?)s', html)
    if card is None:
        raise SystemExit(f"no poll interval on the live card in {TEMPLATE}")
    return float(card.group(1))


def alarm_ids(html: str) -> set[int]:
    found = _IDS.search(html)
    if found is None:
        return set()
    return {int(point["id"]) for point in json.loads(found.group(1))}


@dataclass
class Client:
    """One wall screen: its connection, what it saw and when, and what went wrong."""

    number: int
    seen: dict[int, float] = field(default_factory=dict)  # alarm id → monotonic time first seen
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def run_client(client: Client, port: int, cookie: str, interval: float, stop: threading.Event,
               watched: dict[int, float]) -> None:
    rng = random.Random(client.number)
    conn: http.client.HTTPConnection | None = None
    headers = {"Cookie": cookie, "HX-Request": "true", "Accept": "text/html"}
    next_at = time.monotonic() + rng.uniform(0, interval)
    while not stop.is_set():
        pause = next_at - time.monotonic()
        if pause > 0 and stop.wait(pause):
            break
        next_at += interval  # htmx's "every": the next poll is due one interval after this one
        started = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", PATH, headers=headers)
            answer = conn.getresponse()
            body = answer.read().decode()
        except (OSError, http.client.HTTPException):
            client.errors += 1
            if conn is not None:
                conn.close()
            conn = None
            continue
        done = time.monotonic()
        client.latencies.append(done - started)
        if answer.status != 200:
            client.errors += 1
            continue
        for alarm in alarm_ids(body) & watched.keys():
            client.seen.setdefault(alarm, done)
    if conn is not None:
        conn.close()


def django_for(data_dir: str, database_url: str | None) -> None:
    """This process writes the alarms to the server's database, as the MQTT ingestor would."""
    for key in [k for k in os.environ if k.startswith("LINLI_")]:
        del os.environ[key]
    os.environ.update(LINLI_DATA_DIR=data_dir, LINLI_ENV_FILE="", DJANGO_SETTINGS_MODULE="linli.settings")
    if database_url:
        os.environ["LINLI_DATABASE_URL"] = database_url
    import django

    django.setup()


def raise_alarm(used: set[int]) -> tuple[int, float]:
    """A new smoke alarm from a detector with no open alarm; its id and the commit time."""
    from django.utils import timezone

    from linli.devices.choices import OPEN_ALARM_STATUSES, DeviceKind
    from linli.devices.models import Alarm, Device
    from linli.devices.services import Message, ingest_batch

    busy = set(Alarm.objects.filter(status__in=OPEN_ALARM_STATUSES).values_list("device_id", flat=True))
    for device in Device.objects.filter(kind=DeviceKind.SMOKE).exclude(pk__in=busy | used).order_by("pk")[:50]:
        used.add(device.pk)
        body = {"msg_id": f"bench-live-{time.time_ns()}", "smoke": True, "battery": 90}
        message = Message(topic=f"linli/devices/{device.external_id}/events",
                          payload=json.dumps(body).encode(), received_at=timezone.now())
        if ingest_batch([message]).alarms_raised:
            committed = time.monotonic()
            return Alarm.objects.filter(device=device).latest("pk").pk, committed
    raise SystemExit("no smoke detector without an open alarm left in this data folder")


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="a LINLI_DATA_DIR prepared by `linli demo --no-serve`")
    parser.add_argument("--database-url", help="PostgreSQL database prepared the same way (default: the folder's SQLite)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--interval", type=float, help="poll interval in seconds (default: the page's)")
    parser.add_argument("--alarms", type=int, default=5, help="alarms raised one after the other")
    parser.add_argument("--workers", type=int, default=1, help="web worker processes of linli serve")
    parser.add_argument("--threads", type=int, help="threads per worker (default: linli serve's)")
    args = parser.parse_args()
    interval = args.interval or page_interval()
    data_dir = str(Path(args.data_dir).resolve())
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(LINLI_DATA_DIR=data_dir, LINLI_ENV_FILE="", PYTHONUNBUFFERED="1")
    if args.database_url:
        env["LINLI_DATABASE_URL"] = args.database_url
    port = free_port()
    load_before = loadavg()
    with server(env, port, args.workers, args.threads):
        cookie = login(port)
        django_for(data_dir, args.database_url)
        watched: dict[int, float] = {}
        stop = threading.Event()
        clients = [Client(n) for n in range(args.clients)]
        threads = [threading.Thread(target=run_client, args=(c, port, cookie, interval, stop, watched), daemon=True)
                   for c in clients]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(interval * 2)  # every client has polled at least once: connections open
        used: set[int] = set()
        for _ in range(args.alarms):
            alarm, committed = raise_alarm(used)
            watched[alarm] = committed
            time.sleep(interval + 3 + random.Random(alarm).uniform(0, 1))
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        seconds = time.monotonic() - started
    load_after = loadavg()
    delays = [c.seen[a] - t for c in clients for a, t in watched.items() if a in c.seen]
    missed = sum(1 for c in clients for a in watched if a not in c.seen)
    latencies = [x for c in clients for x in c.latencies]
    errors = sum(c.errors for c in clients)
    within = sum(1 for d in delays if d <= GOAL_S) / max(len(delays), 1)
    figures = {
        "delay_p50_s": percentile(delays, 50), "delay_p95_s": percentile(delays, 95),
        "delay_max_s": max(delays, default=float("nan")), "within_2s_share": within,
        "missed": missed, "errors": errors, "requests": len(latencies), "req_per_s": len(latencies) / seconds,
        "request_p50_ms": percentile(latencies, 50) * 1000, "request_p95_ms": percentile(latencies, 95) * 1000,
        "request_max_ms": max(latencies, default=float("nan")) * 1000,
        "load_before": load_before, "load_after": load_after,
    }
    print(f"{args.clients} clients polling {PATH} every {interval:g} s, {len(watched)} alarms, {seconds:.0f} s: "
          f"{len(latencies)} requests ({figures['req_per_s']:.1f}/s), {errors} errors, {missed} alarm×client missed")
    print(f"  delay commit → on the client's screen: p50 {figures['delay_p50_s']:.2f} s, p95 "
          f"{figures['delay_p95_s']:.2f} s, max {figures['delay_max_s']:.2f} s; within {GOAL_S:g} s: {within:.1%}")
    print(f"  request latency p50 {figures['request_p50_ms']:.0f} ms, p95 {figures['request_p95_ms']:.0f} ms, "
          f"max {figures['request_max_ms']:.0f} ms; load average {load_before:.1f} → {load_after:.1f}")
    met = errors == 0 and missed == 0 and figures["delay_max_s"] <= GOAL_S
    result = Result(
        bench="cockpit_live", size=args.clients, unit="s", linli=figures["delay_max_s"], baseline=None,
        higher_is_better=False, goal=f"{args.clients} open connections, every update on screen ≤ {GOAL_S:g} s",
        goal_met=met, notes=f"interval {interval:g} s, {len(watched)} alarms", extra=figures,
    )
    report([result], name="cockpit_live")
    sys.exit(0)


if __name__ == "__main__":
    main()
