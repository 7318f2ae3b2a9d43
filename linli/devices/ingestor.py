"""The MQTT ingestor: connection and loop only (the per-batch work is ``services.ingest_batch``).

One fixed client id with a persistent session (``clean_session=False``) and QoS 1
subscriptions: while the ingestor is down the broker keeps what arrives for it. Messages
are acknowledged by hand (paho's ``manual_ack``) and only after :func:`ingest_batch`
committed them, so a crash between receipt and commit leaves them unacknowledged and the
broker delivers them again; the inbox keys make the second delivery a no-op. Reconnection
backs off from 1 s to 60 s (paho), a database outage retries the same batch with a
doubling pause, and SIGTERM finishes the current batch before leaving.

The broker's ``max_inflight_messages`` (Mosquitto's default: 20) bounds how many unacked
messages it sends at a time, hence the batch size: raise it for throughput (docs/devices.md).

Alarms do not wait behind telemetry: each message is parsed on arrival (paho's thread), and
one that raises an alarm with a case (smoke, gas, SOS, water, a camera event with a
category) goes to an urgent lane that the main thread empties first, in a batch of its own,
without the batching pause. Reordering is safe: every effect is keyed, and the state is
merged newer-wins by arrival time (``services._states_write``).
"""

from __future__ import annotations

import logging
import signal
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from paho.mqtt.enums import CallbackAPIVersion

from linli.devices.adapters import TOPICS
from linli.devices.services import IngestReport, Message, ingest_batch

logger = logging.getLogger(__name__)

MAX_BATCH = 500
BATCH_WAIT_SECONDS = 0.02
DB_RETRY_MAX_SECONDS = 30.0


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    client_id: str
    tls: bool = False
    username: str = ""
    password: str = ""

    @classmethod
    def from_settings(cls) -> BrokerSettings:
        return cls(host=settings.LINLI_MQTT_HOST, port=settings.LINLI_MQTT_PORT,
                   client_id=settings.LINLI_MQTT_CLIENT_ID, tls=settings.LINLI_MQTT_TLS,
                   username=settings.LINLI_MQTT_USERNAME, password=settings.LINLI_MQTT_PASSWORD)


@dataclass(frozen=True)
class Received:
    """A message waiting for its commit, with what its acknowledgement needs."""

    mid: int
    qos: int
    message: Message


class Inbox:
    """Two lanes filled by paho's thread and emptied by the main thread: urgent messages
    (alarms with a case) and the rest. The taker is woken by an urgent message, by the first
    message after a quiet spell and by a full batch, not by every message."""

    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self._ready = threading.Condition()
        self._urgent: deque[Received] = deque()
        self._normal: deque[Received] = deque()

    def put(self, item: Received, *, urgent: bool) -> None:
        with self._ready:
            lane = self._urgent if urgent else self._normal
            lane.append(item)
            if urgent or len(self._normal) in (1, self.max_batch):
                self._ready.notify()

    def qsize(self) -> int:
        return len(self._urgent) + len(self._normal)

    def _take(self, lane: deque[Received]) -> list[Received]:
        return [lane.popleft() for _ in range(min(len(lane), self.max_batch))]

    def take(self, *, first_wait: float, gather: float) -> list[Received]:
        """The next batch: the urgent lane if it has anything, else up to ``max_batch``
        messages gathered for at most ``gather`` seconds after the first (waiting up to
        ``first_wait`` for it) — cut short when an urgent message arrives."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._urgent or self._normal, timeout=first_wait):
                return []
            deadline = time.monotonic() + gather
            while not self._urgent and len(self._normal) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ready.wait(left)
            return self._take(self._urgent if self._urgent else self._normal)


class Ingestor:
    """Receive (and parse) on paho's network thread, commit and acknowledge on the main thread."""

    def __init__(self, broker: BrokerSettings, *, max_batch: int = MAX_BATCH,
                 log: Any = None) -> None:
        self.broker = broker
        self.max_batch = max_batch
        self.inbox = Inbox(max_batch)
        self.stopping = False
        self.total = IngestReport()
        self._say = log or logger.info
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=broker.client_id, clean_session=False,
                             protocol=mqtt.MQTTv311, manual_ack=True)
        if broker.username:
            client.username_pw_set(broker.username, broker.password or None)
        if broker.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self._say(f"ingest: broker refused the connection: {reason}")
            return
        client.subscribe([(topic, 1) for topic in TOPICS])
        self._say(f"ingest: connected to {self.broker.host}:{self.broker.port} as {self.broker.client_id}")

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if not self.stopping:
            self._say(f"ingest: disconnected ({reason}); reconnecting with backoff")

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Stamped and parsed on arrival (pure, no database): the stamp orders the state,
        # the signals say which lane.
        parsed = Message.parsed(message.topic, bytes(message.payload), timezone.now())
        self.inbox.put(Received(message.mid, message.qos, parsed), urgent=parsed.urgent)

    def _next_batch(self) -> list[Received]:
        return self.inbox.take(first_wait=0.5, gather=BATCH_WAIT_SECONDS)

    def _commit(self, batch: list[Received]) -> None:
        """Apply the batch, retrying while the database is unreachable; then acknowledge."""
        messages = [r.message for r in batch]
        pause = 0.5
        while True:
            try:
                report = ingest_batch(messages)
                break
            except Exception:
                logger.exception("ingest: batch of %d not committed; retrying in %.1fs", len(batch), pause)
                close_old_connections()
                time.sleep(pause)
                pause = min(pause * 2, DB_RETRY_MAX_SECONDS)
        for r in batch:  # only now: the effects are committed
            self.client.ack(r.mid, r.qos)
        self.total.add(report)
        if report.alarms_raised or report.dead_letters:
            self._say(f"ingest: {report.accepted} accepted, {report.duplicates} duplicates, "
                      f"{report.dead_letters} dead letters, {report.alarms_raised} alarms raised")

    def start(self) -> None:
        """Connect (in the background, with reconnection) and start receiving."""
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def step(self) -> list[Message]:
        """Commit and acknowledge the next batch (waiting up to 0.5 s for one); what it was."""
        batch = self._next_batch()
        if batch:
            self._commit(batch)
        return [r.message for r in batch]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def stop(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        self.stopping = True

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.stop)
        self.start()
        try:
            while not self.stopping:
                self.step()
            # What was received but not committed stays unacknowledged: the broker resends it.
        finally:
            self.close()
        self._say(f"ingest: stopped after {self.total.accepted} messages")
        return 0
