"""``linli devices simulate`` publishes traffic the ingestor accepts, to a real Mosquitto."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.utils import timezone
from paho.mqtt.enums import CallbackAPIVersion

from linli.devices.models import Alarm, DeadLetter
from linli.devices.services import Message, ingest_batch
from linli.devices.simulate import simulate
from linli.devices.tests.broker import Broker

pytestmark = pytest.mark.django_db


def test_simulated_traffic_is_accepted_and_the_smoke_option_raises_an_alarm(flat, settings):
    folder = Path(tempfile.mkdtemp(prefix="linli-mqtt-"))
    broker = Broker(folder)
    broker.start()
    received: list[mqtt.MQTTMessage] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-listener")
    listener.on_connect = lambda c, *_a: c.subscribe([("zigbee2mqtt/#", 1), ("linli/devices/+/events", 1),
                                                      ("frigate/events", 1)])
    listener.on_message = lambda _c, _u, m: received.append(m)
    try:
        listener.connect("127.0.0.1", broker.port)
        listener.loop_start()
        time.sleep(0.5)
        settings.LINLI_MQTT_HOST, settings.LINLI_MQTT_PORT = "127.0.0.1", broker.port
        # when the simulator runs for a moment with a smoke test first
        sent = simulate(rate=50, seconds=1.0, smoke=True, out=lambda _line: None, seed=7)
        deadline = time.monotonic() + 10
        while len(received) < sent and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        listener.loop_stop()
        listener.disconnect()
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
    # then everything it published reaches the broker and the ingestion accepts all of it
    assert sent >= 10
    assert len(received) == sent
    report = ingest_batch([Message(m.topic, bytes(m.payload), timezone.now()) for m in received])
    assert report.dead_letters == 0, list(DeadLetter.objects.values_list("reason", "detail"))
    assert Alarm.objects.filter(kind="smoke", device=flat.smoke).exists()
