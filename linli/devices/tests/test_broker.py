"""The ingestor as a process against a real Mosquitto (persistence on, its own port).

Fault tests of issue #20: ``kill -9`` of the ingestor in the middle of a burst, and a
broker restart while messages wait for the ingestor's persistent session. After recovery
every published message is accounted for exactly once: 0 lost, 0 duplicate cases.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from linli.devices.tests.broker import SETUP, Broker, Site, publish_all
from linli.ops.tests.processes import LinliProcess, wait_until

DEVICES = 150


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = os.environ.get("LINLI_DATABASE_URL", "")
    made = Site(tmp_path_factory.mktemp("devices-site"), postgres_url=url if url.startswith("postgres") else None)
    made.linli("migrate", "--no-input")
    made.linli("manage", "shell", "-c", SETUP.replace("COUNT", str(DEVICES)))
    yield made
    made.drop()


@pytest.fixture
def broker() -> Iterator[Broker]:
    # Not under pytest's tmp_path: that is private to root, and Mosquitto runs as its own user.
    folder = Path(tempfile.mkdtemp(prefix="linli-mqtt-"))
    started = Broker(folder)
    started.start()
    yield started
    started.stop()
    shutil.rmtree(folder, ignore_errors=True)


def ingestor(site: Site, broker: Broker, client_id: str, log: Path) -> LinliProcess:
    return LinliProcess(["devices", "ingest"], env=site.env(
        LINLI_MQTT_PORT=str(broker.port), LINLI_MQTT_CLIENT_ID=client_id), log=log)


def burst(tag: str, start: int, stop: int) -> list[tuple[str, bytes]]:
    """A smoke alarm and two telemetry messages per device, interleaved."""
    out = []
    for i in range(start, stop):
        topic = f"linli/devices/smoke-{i}/events"
        out.append((topic, json.dumps({"msg_id": f"{tag}-t1-{i}", "battery": 90}).encode()))
        out.append((topic, json.dumps({"msg_id": f"{tag}-s-{i}", "smoke": True}).encode()))
        out.append((topic, json.dumps({"msg_id": f"{tag}-t2-{i}", "battery": 89}).encode()))
    return out


def readings(site: Site, tag: str) -> int:
    return site.count(f"SELECT COUNT(*) FROM devices_reading WHERE message_key LIKE '{tag}-%'")  # noqa: S608 -- the test's own tag


def settle(site: Site, tag: str, expected: int) -> None:
    wait_until(lambda: readings(site, tag) >= expected, timeout=180, what=f"{expected} readings of {tag}")
    time.sleep(2)  # anything redelivered late would show up now


def last_alarm_id(site: Site) -> int:
    return site.count("SELECT COALESCE(MAX(id), 0) FROM devices_alarm")


def assert_exactly_once(site: Site, tag: str, devices: int, *, after_alarm: int) -> None:
    assert readings(site, tag) == 3 * devices
    alarms = site.query(f"SELECT device_id, case_id FROM devices_alarm WHERE kind = 'smoke' AND id > {after_alarm}")  # noqa: S608 -- an int
    assert len(alarms) == devices, "one smoke alarm per device"
    assert len({device for device, _case in alarms}) == devices
    assert all(case_id is not None for _d, case_id in alarms)
    keys = site.query("SELECT source_key FROM cases_case WHERE source = 'iot' AND source_key IN ("  # noqa: S608 -- an int
                      f"SELECT 'devices.alarm:' || id FROM devices_alarm WHERE kind = 'smoke' AND id > {after_alarm})")
    assert len(keys) == len(set(keys)) == devices, "one case per alarm, none twice"


def close_alarms(site: Site) -> None:
    """Let the next test raise fresh alarms on the same devices (as handling would)."""
    site.execute("UPDATE devices_alarm SET status = 'handled' WHERE status IN ('raised', 'acknowledged')")


def test_kill_9_in_the_middle_of_a_burst_loses_and_doubles_nothing(site: Site, broker: Broker, tmp_path: Path):
    tag = f"k{uuid.uuid4().hex[:6]}"
    client_id = f"linli-ingest-{tag}"
    close_alarms(site)
    before = last_alarm_id(site)
    # given a running ingestor
    first = ingestor(site, broker, client_id, tmp_path / "ingest-1.log")
    try:
        wait_until(lambda: "connected" in first.output(), timeout=60, what="ingestor connected")
        # when a burst arrives and the ingestor is killed -9 while it commits
        half = DEVICES // 2
        publish_all(broker.port, burst(tag, 0, half))
        wait_until(lambda: readings(site, tag) > 20, timeout=60, what="the first commits")
        os.killpg(first.pid, signal.SIGKILL)
        first.process.wait()
        # and the rest of the burst arrives while it is down
        publish_all(broker.port, burst(tag, half, DEVICES))
    finally:
        first.stop()
    # then, restarted with the same client id, it catches up
    second = ingestor(site, broker, client_id, tmp_path / "ingest-2.log")
    try:
        settle(site, tag, 3 * DEVICES)
        assert_exactly_once(site, tag, DEVICES, after_alarm=before)
    finally:
        second.stop()


def test_a_broker_restart_keeps_the_messages_queued_for_the_ingestor(site: Site, broker: Broker, tmp_path: Path):
    tag = f"b{uuid.uuid4().hex[:6]}"
    client_id = f"linli-ingest-{tag}"
    close_alarms(site)
    before = last_alarm_id(site)
    # given the ingestor's persistent session exists and the ingestor is down
    first = ingestor(site, broker, client_id, tmp_path / "ingest-1.log")
    wait_until(lambda: "connected" in first.output(), timeout=60, what="ingestor connected")
    first.stop()
    # when messages arrive for it and the broker restarts before it comes back
    publish_all(broker.port, burst(tag, 0, DEVICES))
    broker.stop()
    broker.start()
    second = ingestor(site, broker, client_id, tmp_path / "ingest-2.log")
    try:
        # then every message is delivered and applied exactly once
        settle(site, tag, 3 * DEVICES)
        assert_exactly_once(site, tag, DEVICES, after_alarm=before)
    finally:
        second.stop()
