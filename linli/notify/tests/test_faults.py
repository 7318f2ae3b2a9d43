"""Fault tests with real processes: the relay killed with SIGKILL in the middle of a batch
and restarted, the fake gateway (its own process) answering 500 and timing out, and on
PostgreSQL the relay's database connections cut (as by a database restart). Afterwards
the fake gateway's request log is counted: no idempotency key delivered twice, none lost.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from linli.notify.choices import Channel, DeliveryState
from linli.notify.fake_gateway import KEY_ID, KEY_SECRET
from linli.notify.relay import UNKNOWN_AFTER_CRASH
from linli.notify.services import notification_enqueue_to_address

PROJECT_DIR = Path(__file__).resolve().parents[3]
COUNT = 400
CHUNK = 32  # the relay's chunk: at most this many requests in flight when it is killed


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child_database(tmp_path: Path) -> str:
    """A URL the child processes reach the test's (committed) data at."""
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        return f"postgresql://{s['USER']}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"
    target = tmp_path / "faults.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(target) as copy:
        connection.connection.backup(copy)
    return f"sqlite:///{target}"


def _states(url: str) -> list[tuple[str, str, str]]:
    sql = "SELECT idempotency_key, state, last_error FROM notify_delivery"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as db:
            return list(db.execute(sql).fetchall())
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


class Child:
    def __init__(self, argv: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.process = subprocess.Popen(argv, cwd=PROJECT_DIR, env=env, stdout=self.log,  # noqa: S603 -- our interpreter
                                        stderr=subprocess.STDOUT, process_group=0)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def _gateway_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _wait(condition: Any, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _run(tmp_path: Path, *, sms: str, gateway_args: list[str], idempotent: bool) -> tuple[list[Any], list[Any]]:
    # given COUNT SMS in the outbox (applicants' phones, each its own key)
    for i in range(COUNT):
        notification_enqueue_to_address(channel=Channel.SMS, address=f"139{i:08d}", event_type="case.dispatched",
                                        variables={"number": f"AJ-{i:04d}"}, dedup_key=f"fault:{i}")
    url = _child_database(tmp_path)
    port = _free_port()
    log = tmp_path / "gateway.jsonl"
    env = {**os.environ, "LINLI_DATABASE_URL": url, "PYTHONUNBUFFERED": "1", "LINLI_ENV_FILE": "",
           "LINLI_NOTIFY_SMS": sms, "LINLI_NOTIFY_SMS_ENDPOINT": f"http://127.0.0.1:{port}/{sms}",
           "LINLI_NOTIFY_SMS_KEY_ID": KEY_ID, "LINLI_NOTIFY_SMS_KEY_SECRET": KEY_SECRET,
           "LINLI_NOTIFY_SMS_SIGN_NAME": "邻里", "LINLI_NOTIFY_SMS_APP_ID": "1400000000",
           "LINLI_NOTIFY_WECHAT": "off", "LINLI_NOTIFY_WEBPUSH": "off", "LINLI_NOTIFY_EMAIL": "off",
           "LINLI_NOTIFY_TIMEOUT_SECONDS": "0.5", "LINLI_NOTIFY_SMS_RATE": "100000",
           "LINLI_NOTIFY_IDEMPOTENT_GATEWAYS": "sms" if idempotent else ""}
    relay_argv = [sys.executable, "-m", "linli.cli", "notify", "relay", "--lease-seconds", "3", "--batch", "60",
                  "--threads", "8", "--backoff-seconds", "0.3"]
    gateway = Child([sys.executable, "-m", "linli.notify.fake_gateway", "--port", str(port), "--log", str(log),
                     *gateway_args], env=env, log=tmp_path / "gateway.out")
    relays: list[Child] = []
    try:
        # when a relay is killed with SIGKILL in the middle of its work …
        relays.append(Child(relay_argv, env=env, log=tmp_path / "relay-1.out"))
        _wait(lambda: len(_gateway_log(log)) >= COUNT // 4, timeout=300, what="the first quarter")
        relays[0].kill()
        killed_at = len(_gateway_log(log))
        # … and two relays are started in its place (they share the work by claims)
        relays += [Child(relay_argv, env=env, log=tmp_path / f"relay-{n}.out") for n in (2, 3)]
        if connection.vendor == "postgresql":
            # … and the database drops their connections once (as a restart does)
            _wait(lambda: len(_gateway_log(log)) >= COUNT // 2, timeout=300, what="half")
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                               "AND pid <> pg_backend_pid()", [connection.settings_dict["NAME"]])
        _wait(lambda: all(state in (DeliveryState.SENT, DeliveryState.DEAD) for _k, state, _e in _states(url)),
              timeout=480, what="every delivery settled")
    finally:
        for child in relays[1:]:
            child.stop()
        gateway.stop()
    assert killed_at < COUNT, "the relay was killed after it had finished: the test proved nothing"
    return _states(url), _gateway_log(log)


pytestmark = pytest.mark.django_db(transaction=True)


def test_idempotent_gateway_kill_500_and_timeouts_deliver_every_key_exactly_once(tmp_path):
    states, log = _run(tmp_path, sms="tencent", idempotent=True,
                       gateway_args=["--dedup", "--fail-every", "7", "--slow-every", "11", "--slow-seconds", "1"])
    delivered = Counter(e["key"] for e in log if e["delivered"])
    # then every notification went out, each key exactly once at the gateway
    assert len(states) == COUNT
    assert {state for _k, state, _e in states} == {DeliveryState.SENT}
    assert set(delivered) == {key for key, _s, _e in states}
    assert max(delivered.values()) == 1
    # and the faults really happened
    assert any(e["fault"] == "500" for e in log)
    assert any(e["fault"] == "slow" for e in log)


def test_plain_sms_gateway_kill_500_and_timeouts_never_send_twice_and_lose_nothing(tmp_path):
    states, log = _run(tmp_path, sms="aliyun", idempotent=False,
                       gateway_args=["--fail-every", "7", "--slow-every", "11", "--slow-seconds", "1"])
    delivered = Counter(e["key"] for e in log if e["delivered"])
    by_state = {key: (state, error) for key, state, error in states}
    # then no key reached the gateway twice (Aliyun does not de-duplicate: a resend is a second text)
    assert max(delivered.values()) == 1
    # every delivery is settled: sent (and at the gateway once) or a dead letter saying why
    assert len(states) == COUNT
    sent = {k for k, (s, _e) in by_state.items() if s == DeliveryState.SENT}
    dead = {k: e for k, (s, e) in by_state.items() if s == DeliveryState.DEAD}
    assert sent | set(dead) == set(by_state)
    assert sent <= set(delivered)
    # the dead ones are exactly the attempts whose outcome nobody can know (timeouts, the kill)
    assert all("outcome unknown" in e or e == UNKNOWN_AFTER_CRASH for e in dead.values())
    assert dead, "timeouts happened, so some outcomes are unknown"
    # and there are no more of them than timeouts plus the one chunk the killed relay had in flight
    slow = sum(1 for e in log if e["fault"] == "slow")
    assert len(dead) <= slow + CHUNK
