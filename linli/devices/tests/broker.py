"""Helpers for the tests against a real Mosquitto: a broker of our own (persistence on, own
port, temporary folder) and a throwaway linli site (database and data folder) for the
ingestor process."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

from linli.ops.tests.processes import PROJECT_DIR, clean_env, free_port, wait_until

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Broker:
    """``mosquitto`` on a free port with persistence in ``folder``; restartable."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # Started as root, Mosquitto drops to its own user: it must be able to write here.
        folder.chmod(0o777)
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(textwrap.dedent(f"""\
            listener {self.port} 127.0.0.1
            allow_anonymous true
            persistence true
            persistence_location {folder}/
            autosave_interval 1
            max_inflight_messages 200
            max_queued_messages 100000
            log_dest file {folder}/mosquitto.log
        """))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)],  # noqa: S603 -- the system broker
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket

        def listening() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        wait_until(listening, timeout=20, what="mosquitto listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # saves its persistence file on the way out
            self.process.wait(timeout=20)
        self.process = None


class Site:
    """A migrated linli database and data folder that subprocesses share with the test."""

    def __init__(self, folder: Path, *, postgres_url: str | None) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.pg_url: str | None = None
        if postgres_url:
            import psycopg

            name = f"linli_devices_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.pg_url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
            self.admin_url = postgres_url
            self.db_name = name
        self.database_url = self.pg_url or f"sqlite:///{self.data / 'linli.sqlite3'}"

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(LINLI_DATA_DIR=str(self.data), LINLI_DATABASE_URL=self.database_url, **extra)

    def linli(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(  # noqa: S603 -- our own interpreter and module
            [os.environ.get("PYTHON", str(PROJECT_DIR / ".venv/bin/python")), "-m", "linli.cli", *args],
            cwd=PROJECT_DIR, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        return done.stdout

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.pg_url:
            import psycopg

            with psycopg.connect(self.pg_url) as conn:
                return list(conn.execute(sql).fetchall())
        with contextlib.closing(sqlite3.connect(self.data / "linli.sqlite3", timeout=30)) as conn:
            return list(conn.execute(sql).fetchall())

    def execute(self, sql: str) -> None:
        if self.pg_url:
            import psycopg

            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                conn.execute(sql)
            return
        with contextlib.closing(sqlite3.connect(self.data / "linli.sqlite3", timeout=30)) as conn:
            conn.execute(sql)
            conn.commit()

    def count(self, sql: str) -> int:
        return int(self.query(sql)[0][0])

    def drop(self) -> None:
        if self.pg_url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


SETUP = """
from linli.devices.models import Device
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

def area(level, code, name, parent, boundary=None):
    a = Area.objects.create(level=level, code=code, name=name, parent=parent, path="", boundary=boundary)
    a.path = (parent.path if parent else "/") + f"{a.pk}/"
    a.save(update_fields=["path"])
    return a

ring = [[120.20, 30.20], [120.21, 30.20], [120.21, 30.21], [120.20, 30.21], [120.20, 30.20]]
district = area(AreaLevel.DISTRICT, "330102", "上城区", None)
street = area(AreaLevel.STREET, "330102001", "望江街道", district)
community = area(AreaLevel.COMMUNITY, "330102001001", "近江社区", street)
grid = area(AreaLevel.GRID, "330102001001001", "近江社区第1网格", community, {"type": "Polygon", "coordinates": [ring]})
Device.objects.bulk_create([Device(kind="smoke", external_id=f"smoke-{i}", grid=grid, lon=120.205, lat=30.205)
                            for i in range(COUNT)])
print("devices", Device.objects.count())
"""


def publish_all(port: int, messages: list[tuple[str, bytes]], *, client_id: str | None = None) -> None:
    """Publish at QoS 1 and wait until the broker acknowledged every message."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"test-pub-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        deadline = time.monotonic() + 120
        for info in infos:
            info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def simulate_through_a_broker(settings: Any, *, client_id: str, wait_seconds: float = 20) -> tuple[int, list[Any]]:
    """Run ``linli devices simulate`` (a second, smoke test first) against a broker of our own
    and return how many messages it published and the messages a listener received."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from linli.devices.simulate import simulate

    folder = Path(tempfile.mkdtemp(prefix="linli-mqtt-"))
    broker = Broker(folder)
    broker.start()
    received: list[Any] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    listener.on_connect = lambda c, *_a: c.subscribe([("zigbee2mqtt/#", 1), ("linli/devices/+/events", 1),
                                                      ("frigate/events", 1)])
    listener.on_message = lambda _c, _u, m: received.append(m)
    try:
        listener.connect("127.0.0.1", broker.port)
        listener.loop_start()
        time.sleep(0.5)
        settings.LINLI_MQTT_HOST, settings.LINLI_MQTT_PORT = "127.0.0.1", broker.port
        sent = simulate(rate=50, seconds=1.0, smoke=True, out=lambda _line: None, seed=7)
        deadline = time.monotonic() + wait_seconds  # a loaded machine delivers late
        while len(received) < sent and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        listener.loop_stop()
        listener.disconnect()
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return sent, received
