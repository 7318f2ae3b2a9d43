"""The ingestor's inbox (pure, no broker, no database): alarms go ahead of telemetry."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping

from django.utils import timezone

from linli.devices import workflow
from linli.devices.ingestor import Inbox, Received
from linli.devices.services import Message


def received(mid: int, topic: str, body: Mapping[str, object]) -> Received:
    return Received(mid, 1, Message.parsed(topic, json.dumps(body).encode(), timezone.now()))


def telemetry(mid: int) -> Received:
    return received(
        mid, "linli/devices/d1/events", {"msg_id": f"t{mid}", "battery": 80, "smoke": False}
    )


def test_which_messages_are_urgent():
    assert received(1, "linli/devices/s1/events", {"msg_id": "a", "smoke": True}).message.urgent
    assert received(1, "zigbee2mqtt/gas1", {"gas": True}).message.urgent
    assert not telemetry(1).message.urgent
    assert not received(1, "zigbee2mqtt/door1", {"contact": True}).message.urgent  # closed door
    frigate = {
        "type": "new",
        "after": {"id": "e1", "camera": "cam1", "label": "car", "current_zones": []},
    }
    assert received(1, "frigate/events", frigate).message.urgent
    assert not received(1, "frigate/events", {**frigate, "type": "end"}).message.urgent
    person = {
        "type": "new",
        "after": {"id": "e2", "camera": "cam1", "label": "person", "current_zones": []},
    }
    assert not received(1, "frigate/events", person).message.urgent  # no case category
    assert not workflow.is_urgent({"available": False})  # silence is maintenance, not urgent
    # a refused payload is never urgent (it becomes a dead letter in the normal lane)
    assert (
        Message.parsed("linli/devices/x/events", b"{not json", timezone.now()).refused is not None
    )


def test_the_urgent_lane_is_taken_first_in_a_batch_of_its_own():
    inbox = Inbox(max_batch=100)
    for mid in range(50):
        inbox.put(telemetry(mid), urgent=False)
    alarm = received(99, "linli/devices/s1/events", {"msg_id": "a", "smoke": True})
    inbox.put(alarm, urgent=True)
    assert [r.mid for r in inbox.take(first_wait=0.1, gather=0.05)] == [99]
    assert [r.mid for r in inbox.take(first_wait=0.1, gather=0.0)] == list(range(50))
    assert inbox.take(first_wait=0.01, gather=0.0) == []


def test_an_alarm_cuts_the_batching_pause_short():
    inbox = Inbox(max_batch=100)
    inbox.put(telemetry(1), urgent=False)

    def alarm_soon() -> None:
        time.sleep(0.05)
        inbox.put(received(2, "linli/devices/s1/events", {"msg_id": "a", "sos": True}), urgent=True)

    threading.Thread(target=alarm_soon).start()
    started = time.monotonic()
    batch = inbox.take(first_wait=1.0, gather=5.0)  # would gather for 5 s without the alarm
    assert time.monotonic() - started < 2.0
    assert [r.mid for r in batch] == [2]
    assert [r.mid for r in inbox.take(first_wait=0.1, gather=0.0)] == [1]


def test_a_full_batch_does_not_wait_for_the_pause():
    inbox = Inbox(max_batch=10)
    for mid in range(25):
        inbox.put(telemetry(mid), urgent=False)
    started = time.monotonic()
    assert [r.mid for r in inbox.take(first_wait=1.0, gather=5.0)] == list(range(10))
    assert time.monotonic() - started < 1.0
    assert inbox.qsize() == 15
