"""Devices benchmark (issue 20): MQTT ingestion throughput, alarm → case latency under
telemetry load, and the absence sweep over 100,000 door contacts.

    .venv/bin/python -m benchmarks.bench_devices [--messages 30000] [--naive 3000] [--contacts 100000]

A Mosquitto of its own (temporary folder, free port, ``max_inflight_messages 1000``) on this
machine; SQLite in a temporary data folder by default, or a temporary PostgreSQL database
with ``LINLI_DATABASE_URL`` (see ``bench_seed.fresh_database``).

1. Throughput: ``--messages`` of mixed telemetry (Zigbee2MQTT and the generic format, 2,000
   devices) queued at QoS 1 for the ingestor's persistent session, then drained by the
   real ``Ingestor`` (batches, one transaction each, acknowledged after the commit).
   Baseline in the same run: a naive consumer that saves each message with the ORM in
   autocommit (``Reading.objects.create`` + ``device.save()``) and acknowledges it.
2. Alarm → case: a publisher process sends 1,000 msg/s of telemetry and a smoke alarm every
   100 ms (each to a different detector); latency = from the publish to the commit of the
   alarm and its case (measured after the batch's commit). Goal p99 ≤ 500 ms.
3. Absence sweep: ``--contacts`` door contacts of which 100 are due; ``device_sweep`` (an
   indexed query on ``absence_due_at``) against a scan in Python of every contact's last
   opening. Goal ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_seed import fresh_database
from benchmarks.harness import Result, percentile, report

DEVICES = 2000


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    folder.chmod(0o777)  # Mosquitto started as root drops to its own user
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = folder / "mosquitto.conf"
    config.write_text(textwrap.dedent(f"""\
        listener {port} 127.0.0.1
        allow_anonymous true
        persistence true
        persistence_location {folder}/
        max_inflight_messages 1000
        max_queued_messages 1000000
    """))
    process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(config)])  # noqa: S603
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return process, port


def telemetry(n: int, *, prefix: str) -> list[tuple[str, bytes]]:
    out = []
    for k in range(n):
        device = k % DEVICES
        if k % 2:
            out.append((f"zigbee2mqtt/d{device}", json.dumps(
                {"contact": bool(k % 3), "battery": 50 + k % 50, "linkquality": k % 255,
                 "last_seen": f"{prefix}-{k}"}).encode()))
        else:
            out.append((f"linli/devices/d{device}/events", json.dumps(
                {"msg_id": f"{prefix}-{k}", "battery": 50 + k % 50, "temperature": 20 + k % 7}).encode()))
    return out


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(t, p, qos=1) for t, p in messages]
    for info in infos:
        info.wait_for_publish(timeout=120)
    client.disconnect()
    client.loop_stop()


def _load_publisher(port: int, seconds: float, stop_at: float) -> None:
    """1,000 msg/s of telemetry and a smoke alarm every 100 ms, each stamped with its send time."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-load-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.time()
    k = 0
    alarms = 0
    while time.time() - started < seconds and time.time() < stop_at:
        tick = time.time()
        for _ in range(100):  # 100 per 100 ms
            device = k % DEVICES
            client.publish(f"linli/devices/d{device}/events",
                           json.dumps({"msg_id": f"load-{k}", "battery": 60}).encode(), qos=1)
            k += 1
        client.publish(f"linli/devices/s{alarms}/events",
                       json.dumps({"msg_id": f"alarm-{alarms}", "smoke": True, "sent": time.time()}).encode(), qos=1)
        alarms += 1
        time.sleep(max(0.0, 0.1 - (time.time() - tick)))
    time.sleep(1)
    client.disconnect()
    client.loop_stop()


def setup_devices(alarm_detectors: int) -> Any:
    from linli.devices.models import Device
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    def area(level: int, code: str, parent: Area | None, boundary: dict[str, Any] | None = None) -> Area:
        made = Area.objects.create(level=level, code=code, name=code, parent=parent, path="", boundary=boundary)
        made.path = f"{parent.path if parent else '/'}{made.pk}/"
        made.save(update_fields=["path"])
        return made

    ring = [[120.20, 30.20], [120.21, 30.20], [120.21, 30.21], [120.20, 30.21], [120.20, 30.20]]
    district = area(AreaLevel.DISTRICT, "330199", None)
    street = area(AreaLevel.STREET, "330199001", district)
    community = area(AreaLevel.COMMUNITY, "330199001001", street)
    grid = area(AreaLevel.GRID, "330199001001001", community, {"type": "Polygon", "coordinates": [ring]})
    Device.objects.bulk_create([Device(kind="door_contact", external_id=f"d{n}", grid=grid) for n in range(DEVICES)])
    Device.objects.bulk_create([Device(kind="smoke", external_id=f"s{n}", grid=grid, lon=120.205, lat=30.205)
                                for n in range(alarm_detectors)])
    return grid


def drain(ingestor: Any, until: int) -> float:
    from linli.devices.models import Reading

    started = time.perf_counter()
    done = 0
    while done < until:
        done += len(ingestor.step())
        if not ingestor.inbox.qsize() and done < until and Reading.objects.count() >= until:
            break
    return time.perf_counter() - started


def naive(port: int, count: int, client_id: str) -> float:
    """One message, one ORM save in autocommit, then the ack."""
    import queue

    import paho.mqtt.client as mqtt
    from django.utils import timezone
    from paho.mqtt.enums import CallbackAPIVersion

    from linli.devices.adapters import parse_message
    from linli.devices.models import Device, Reading

    inbox: queue.Queue[Any] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, manual_ack=True)
    client.on_message = lambda _c, _u, m: inbox.put(m)
    client.on_connect = lambda c, *_a: c.subscribe([("zigbee2mqtt/#", 1), ("linli/devices/+/events", 1)])
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    for _ in range(count):
        m = inbox.get(timeout=60)
        now = timezone.now()
        for s in parse_message(m.topic, bytes(m.payload), now):
            device = Device.objects.get(external_id=s.external_id)
            Reading.objects.create(device=device, message_key=s.message_key[:64], received_at=now, values=s.values)
            device.last_seen_at = now
            device.last_values = {**device.last_values, **s.values}
            device.save()
        client.ack(m.mid, m.qos)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--naive", type=int, default=3_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--load-seconds", type=float, default=20.0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    # Production's task backend (the database queue), not the tests' immediate one: with
    # ``LINLI_TESTING`` set, every case's notification task ran inside the ingestor's loop.
    os.environ.pop("LINLI_TESTING", None)
    broker_dir = Path(tempfile.mkdtemp(prefix="linli-bench-mqtt-"))
    broker, port = start_broker(broker_dir)
    results: list[Result] = []
    try:
        with fresh_database() as vendor:
            import django

            django.setup()
            from django.core.management import call_command
            from django.utils import timezone

            call_command("migrate", verbosity=0)
            alarm_detectors = int(args.load_seconds * 10) + 50
            grid = setup_devices(alarm_detectors)
            from linli.devices.ingestor import BrokerSettings, Ingestor
            from linli.devices.models import Alarm, Device, Reading

            # 1. throughput: session created, messages queued, then drained
            ingestor = Ingestor(BrokerSettings("127.0.0.1", port, "bench-ingest"), max_batch=1000, log=lambda _l: None)
            ingestor.start()
            time.sleep(1)
            ingestor.close()
            publish(port, telemetry(args.messages, prefix="t"))
            ingestor = Ingestor(BrokerSettings("127.0.0.1", port, "bench-ingest"), max_batch=1000, log=lambda _l: None)
            ingestor.start()
            seconds = drain(ingestor, args.messages)
            ingested = Reading.objects.count()
            rate = ingested / seconds
            # the naive consumer on a subset, same broker, same database
            naive_id = "bench-naive"
            helper = Ingestor(BrokerSettings("127.0.0.1", port, naive_id), log=lambda _l: None)
            helper.start()
            time.sleep(1)
            helper.close()
            publish(port, telemetry(args.naive, prefix="n"))
            naive_rate = args.naive / naive(port, args.naive, naive_id)
            results.append(Result(
                bench="MQTT telemetry ingested and committed", size=ingested, unit="msg/s", linli=rate,
                baseline=naive_rate, baseline_name="one message, one ORM save, autocommit",
                goal="≥ 5,000 msg/s", goal_met=rate >= 5000,
                notes=f"{vendor}; batches ≤ 1000, ack after commit; {args.messages} queued at QoS 1",
            ))
            # 2. alarm → case latency under 1,000 msg/s of telemetry
            stop_at = time.time() + args.load_seconds + 5
            load = multiprocessing.get_context("spawn").Process(
                target=_load_publisher, args=(port, args.load_seconds, stop_at))
            load.start()
            latencies: list[float] = []
            while load.is_alive() or ingestor.inbox.qsize():
                batch = ingestor.step()
                committed = time.time()
                latencies.extend((committed - json.loads(m.payload)["sent"]) * 1000
                                 for m in batch if b'"smoke"' in m.payload)
            load.join()
            cases = Alarm.objects.filter(kind="smoke", case__isnull=False).count()
            p99 = percentile(latencies, 99)
            results.append(Result(
                bench="alarm → case committed under 1,000 msg/s telemetry", size=len(latencies), unit="ms p99",
                linli=p99, baseline=None, higher_is_better=False, goal="p99 ≤ 500 ms", goal_met=p99 <= 500,
                notes=f"p50 {percentile(latencies, 50):.0f} ms; {cases} alarms with their case",
                extra={"p50_ms": percentile(latencies, 50)},
            ))
            ingestor.close()
            # 3. absence sweep over many door contacts, 100 of them due
            from datetime import date

            from linli.care.models import ElderLevel
            from linli.devices.services import device_sweep
            from linli.registry.models import Person

            now = timezone.now()
            later = now + timedelta(hours=20)
            # one contact in ten protects an elder with a care colour (red / yellow / green): the
            # sweep's first run brings the red and yellow deadlines forward (still not due)
            elders = Person.objects.bulk_create(
                [Person(name="王", name_pinyin="wang", name_initials="w", grid=grid) for _n in range(0, args.contacts, 10)],
                batch_size=5_000)
            ElderLevel.objects.bulk_create(
                [ElderLevel(person=p, grid=grid, colour=("red", "yellow", "green")[i % 3], since=date(2026, 1, 1))
                 for i, p in enumerate(elders)], batch_size=5_000)
            contacts: list[Device] = []
            for n in range(args.contacts):
                due = now - timedelta(minutes=1) if n % (args.contacts // 100) == 0 else later
                contacts.append(Device(kind="door_contact", external_id=f"a{n}", grid=grid, absence_hours=24,
                                    last_opened_at=due - timedelta(hours=24), absence_due_at=due,
                                    offline_due_at=later, person=elders[n // 10] if n % 10 == 0 else None))
                if len(contacts) == 10_000:
                    Device.objects.bulk_create(contacts)
                    contacts = []
            Device.objects.bulk_create(contacts)
            Device.objects.filter(offline_due_at__isnull=True).update(offline_due_at=later)
            # a colour change moves many deadlines once (timed apart); every sweep then re-checks
            from django.conf import settings as django_settings

            from linli.devices.services import absence_shorten_by_level

            started = time.perf_counter()
            moved = absence_shorten_by_level(by_colour=django_settings.LINLI_DEVICE_ABSENCE_HOURS_BY_COLOUR)
            move_s = time.perf_counter() - started
            started = time.perf_counter()
            swept = device_sweep(now=now)
            sweep_s = time.perf_counter() - started
            started = time.perf_counter()
            scanned = sum(1 for opened, hours in Device.objects.filter(kind="door_contact", absence_hours__isnull=False)
                          .values_list("last_opened_at", "absence_hours").iterator(chunk_size=10_000)
                          if opened is not None and opened + timedelta(hours=hours or 0) <= now)
            scan_s = time.perf_counter() - started
            results.append(Result(
                bench="absence sweep (100 due, 1 in 10 with a care colour)", size=args.contacts, unit="s", linli=sweep_s, baseline=scan_s,
                baseline_name="scan every contact in Python (only finding, no alarm)", higher_is_better=False,
                goal="≤ 2 s", goal_met=sweep_s <= 2, notes=f"{swept.absences} welfare checks opened, scan found {scanned}; "
                      f"{moved} deadlines brought forward by colour once in {move_s:.2f} s",
            ))
            from django.db import connections

            connections.close_all()
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(timeout=30)
        shutil.rmtree(broker_dir, ignore_errors=True)
    report(results, name="devices")


if __name__ == "__main__":
    main()
