"""200 open live connections on the cockpit, and how soon a new alarm reaches each (issue #21).

The cockpit's live card listens to the event stream of ``linli live`` (Server-Sent Events,
linli/cockpit/live.py) and falls back to an htmx poll of ``/cockpit/alarms/`` every 2 s
(docs/cockpit.md, "Drill-down and live alarms"). This benchmark starts ``linli serve`` and
``linli live`` on a prepared demo data folder and measures both paths in the same run, one
after the other, with ``--clients`` simulated wall screens logged in as the demo's street
operator (``street``; one session shared by every client — 200 logins would only fill the
session table):

1. **push**: each client holds one open ``GET /live/cockpit/`` (an event stream) and notes
   when an ``alarm`` event with the new alarm's id arrives;
2. **poll**: each client is a thread with its own keep-alive HTTP connection polling the card
   at the page's own interval (read from the template's ``hx-trigger="… every Ns"``), each at
   a random phase as real screens opened at different moments would, and notes when the
   card's map data holds the alarm.

In each phase it raises ``--alarms`` new smoke alarms one after the other through the
product's own path — ``devices.services.ingest_batch`` with the MQTT message a detector sends
(the alarm, its level-1 case and the notifications, in one transaction) — and records, for
every client and every alarm, the delay from the commit until the client has it. It prints
p50/p95/max of those delays, the share within 2 s, the errors (any answer but 200, any
failed or dropped connection) and the load average.

Prepare the data once (minutes), then measure as often as needed:

    LINLI_DATA_DIR=/tmp/live linli demo --no-serve --residents 8000
    .venv/bin/python -m benchmarks.bench_cockpit_live --data-dir /tmp/live
    .venv/bin/python -m benchmarks.bench_cockpit_live --data-dir /tmp/live --only push

Each run leaves its alarms open (they are the demo's smoke detectors: a later run takes
others, and the card lists at most its usual count).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_mixed_load import free_port, login, server
from benchmarks.harness import Result, linli_process, percentile, report

PROJECT = Path(__file__).resolve().parents[1]
TEMPLATE = PROJECT / "linli" / "cockpit" / "templates" / "cockpit" / "cockpit.html"
PATH = "/cockpit/alarms/"
LIVE_PATH = "/live/cockpit/"
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


def run_stream_client(client: Client, port: int, cookie: str, stop: threading.Event, ready: threading.Barrier,
                      watched: dict[int, float]) -> None:
    """One wall screen on the event stream: one connection held for the whole phase."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall((f"GET {LIVE_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
                      f"Cookie: {cookie}\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the headers")
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
    except (OSError, ConnectionError):
        client.errors += 1
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait()
        return
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait()
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            client.errors += 1
            break
        if not chunk:
            client.errors += 1  # the server closed a stream it should have held
            break
        arrived = time.monotonic()
        data += chunk
        *blocks, data = data.split(b"\n\n")
        for block in blocks:
            if not block.startswith(b"event: alarm"):
                continue
            payload = block.split(b"data: ", 1)[1]
            alarm = int(json.loads(payload)["id"])
            if alarm in watched:
                client.seen.setdefault(alarm, arrived)
    sock.close()


def live_server(env: dict[str, str], port: int) -> AbstractContextManager[None]:
    # settle: its reader has learnt the current marks
    return linli_process(["live", "--port", str(port)], env=env, port=port, ready_path="/live/healthz",
                         wait_seconds=60, settle_seconds=1.5)


@dataclass
class Phase:
    name: str
    clients: list[Client]
    watched: dict[int, float]
    seconds: float
    load_before: float
    load_after: float

    def figures(self) -> dict[str, float]:
        delays = [c.seen[a] - t for c in self.clients for a, t in self.watched.items() if a in c.seen]
        latencies = [x for c in self.clients for x in c.latencies]
        return {
            "delay_p50_s": percentile(delays, 50), "delay_p95_s": percentile(delays, 95),
            "delay_max_s": max(delays, default=float("nan")),
            "within_2s_share": sum(1 for d in delays if d <= GOAL_S) / max(len(delays), 1),
            "missed": sum(1 for c in self.clients for a in self.watched if a not in c.seen),
            "errors": sum(c.errors for c in self.clients), "requests": len(latencies),
            "req_per_s": len(latencies) / self.seconds,
            "request_p95_ms": percentile(latencies, 95) * 1000 if latencies else float("nan"),
            "load_before": self.load_before, "load_after": self.load_after,
        }

    def print(self) -> None:
        f = self.figures()
        how = (f"{len(self.clients)} open event streams" if self.name == "push"
               else f"{len(self.clients)} clients polling {PATH} ({f['requests']:.0f} requests, {f['req_per_s']:.1f}/s, "
                    f"p95 {f['request_p95_ms']:.0f} ms)")
        print(f"{self.name}: {how}, {len(self.watched)} alarms, {self.seconds:.0f} s, {f['errors']:.0f} errors, "
              f"{f['missed']:.0f} alarm×client missed")
        print(f"  commit → on the client: p50 {f['delay_p50_s']:.2f} s, p95 {f['delay_p95_s']:.2f} s, max "
              f"{f['delay_max_s']:.2f} s; within {GOAL_S:g} s: {f['within_2s_share']:.1%}; load average "
              f"{self.load_before:.1f} → {self.load_after:.1f}")


def run_phase(name: str, count: int, alarms: int, used: set[int], start: Callable[[Client, threading.Event,
              threading.Barrier, dict[int, float]], threading.Thread], *, settle: float, gap: float,
              connect_first: bool = True) -> Phase:
    watched: dict[int, float] = {}
    stop = threading.Event()
    ready = threading.Barrier(count + 1 if connect_first else 1)
    clients = [Client(n) for n in range(count)]
    load_before = loadavg()
    started = time.monotonic()
    threads = [start(c, stop, ready, watched) for c in clients]
    if connect_first:
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait(timeout=120)  # every stream open (or failed)
    time.sleep(settle)
    for _ in range(alarms):
        alarm, committed = raise_alarm(used)
        watched[alarm] = committed
        time.sleep(gap + random.Random(alarm).uniform(0, 1))
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return Phase(name, clients, watched, time.monotonic() - started, load_before, loadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="a LINLI_DATA_DIR prepared by `linli demo --no-serve`")
    parser.add_argument("--database-url", help="PostgreSQL database prepared the same way (default: the folder's SQLite)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--interval", type=float, help="poll interval in seconds (default: the page's)")
    parser.add_argument("--alarms", type=int, default=5, help="alarms raised one after the other, per phase")
    parser.add_argument("--workers", type=int, default=1, help="web worker processes of linli serve")
    parser.add_argument("--threads", type=int, help="threads per worker (default: linli serve's)")
    parser.add_argument("--only", choices=["push", "poll"], help="measure one path (default: both, push first)")
    args = parser.parse_args()
    interval = args.interval or page_interval()
    data_dir = str(Path(args.data_dir).resolve())
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(LINLI_DATA_DIR=data_dir, LINLI_ENV_FILE="", PYTHONUNBUFFERED="1")
    if args.database_url:
        env["LINLI_DATABASE_URL"] = args.database_url
    port, live_port = free_port(), free_port()
    phases: list[Phase] = []
    with server(env, port, args.workers, args.threads), live_server(env, live_port):
        cookie = login(port)
        django_for(data_dir, args.database_url)
        used: set[int] = set()

        def start_stream(c: Client, stop: threading.Event, ready: threading.Barrier,
                         watched: dict[int, float]) -> threading.Thread:
            thread = threading.Thread(target=run_stream_client, args=(c, live_port, cookie, stop, ready, watched),
                                      daemon=True)
            thread.start()
            return thread

        def start_poll(c: Client, stop: threading.Event, ready: threading.Barrier,
                       watched: dict[int, float]) -> threading.Thread:
            thread = threading.Thread(target=run_client, args=(c, port, cookie, interval, stop, watched), daemon=True)
            thread.start()  # a poller connects on its first poll: nothing to wait for
            return thread

        if args.only in (None, "push"):
            phases.append(run_phase("push", args.clients, args.alarms, used, start_stream, settle=1.0, gap=2.0))
            phases[-1].print()
        if args.only in (None, "poll"):
            phases.append(run_phase("poll", args.clients, args.alarms, used, start_poll, settle=interval * 2,
                                    gap=interval + 3, connect_first=False))
            phases[-1].print()
    results = []
    for phase in phases:
        f = phase.figures()
        met = f["errors"] == 0 and f["missed"] == 0 and f["delay_max_s"] <= GOAL_S
        results.append(Result(
            bench=f"cockpit_live_{phase.name}", size=args.clients, unit="s", linli=f["delay_max_s"], baseline=None,
            higher_is_better=False, goal=f"{args.clients} open connections, every update on screen ≤ {GOAL_S:g} s",
            goal_met=met, notes=(f"{len(phase.watched)} alarms" if phase.name == "push"
                                 else f"poll every {interval:g} s, {len(phase.watched)} alarms"), extra=f,
        ))
    report(results, name="cockpit_live")
    sys.exit(0)


if __name__ == "__main__":
    main()
