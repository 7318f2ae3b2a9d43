"""``linli devices simulate``: realistic traffic of the registered devices, for the demo.

Door contacts open and close (more by day than by night), every device reports its battery
(slowly draining), now and then a smoke detector is tested, cameras see parked cars and
street vendors. Published at QoS 1 to the configured broker, in the formats the ingestor
reads (Zigbee2MQTT, Frigate, linli's generic format).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
from django.conf import settings
from django.utils import timezone
from paho.mqtt.enums import CallbackAPIVersion

from linli.devices.choices import DeviceKind
from linli.devices.models import Device

SMOKE_TEST_CHANCE = 0.002
CAMERA_LABELS = ("car", "street_vendor", "garbage")


def _payload(device: tuple[str, str], battery: dict[str, float], rng: random.Random) -> tuple[str, dict[str, object]]:
    external_id, kind = device
    level = battery.setdefault(external_id, rng.uniform(40, 100))
    battery[external_id] = max(0.0, level - rng.uniform(0, 0.05))
    common: dict[str, object] = {"battery": round(battery[external_id]), "linkquality": rng.randint(40, 200)}
    if kind == DeviceKind.DOOR_CONTACT:
        hour = timezone.localtime().hour
        opened = rng.random() < (0.5 if 7 <= hour <= 21 else 0.1)
        return f"zigbee2mqtt/{external_id}", {**common, "contact": not opened}
    if kind == DeviceKind.SMOKE:
        return f"zigbee2mqtt/{external_id}", {**common, "smoke": rng.random() < SMOKE_TEST_CHANCE}
    if kind == DeviceKind.GAS:
        return f"zigbee2mqtt/{external_id}", {**common, "gas": False}
    if kind == DeviceKind.WATER_LEAK:
        return f"zigbee2mqtt/{external_id}", {**common, "water_leak": False}
    if kind == DeviceKind.CAMERA:
        event_id = f"{time.time():.3f}-{rng.randint(0, 999999):06d}"
        return "frigate/events", {"type": "new", "before": {}, "after": {
            "id": event_id, "camera": external_id, "label": rng.choice(CAMERA_LABELS), "top_score": 0.82,
            "current_zones": ["street"], "has_snapshot": True}}
    return f"linli/devices/{external_id}/events", {**common, "msg_id": uuid.uuid4().hex, "sos": False}


def simulate(*, rate: float, seconds: float, smoke: bool, out: Callable[[str], None], seed: int | None = None) -> int:
    """Publish until ``seconds`` have passed (0: until interrupted); the number published."""
    rng = random.Random(seed)  # noqa: S311 -- demo traffic, not security
    devices = list(Device.objects.filter(active=True).values_list("external_id", "kind"))
    if not devices:
        out("simulate: no devices registered (run `linli demo` or register some)")
        return 0
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"linli-simulate-{uuid.uuid4().hex[:8]}")
    if settings.LINLI_MQTT_USERNAME:
        client.username_pw_set(settings.LINLI_MQTT_USERNAME, settings.LINLI_MQTT_PASSWORD or None)
    client.connect(settings.LINLI_MQTT_HOST, settings.LINLI_MQTT_PORT)
    client.loop_start()
    battery: dict[str, float] = {}
    sent = 0
    if smoke:
        smokes = [d for d in devices if d[1] == DeviceKind.SMOKE]
        if smokes:
            external_id = rng.choice(smokes)[0]
            client.publish(f"linli/devices/{external_id}/events",
                           json.dumps({"msg_id": uuid.uuid4().hex, "smoke": True, "battery": 90}), qos=1).wait_for_publish()
            out(f"simulate: smoke alarm from {external_id}")
            sent += 1
    started = time.monotonic()
    try:
        while not seconds or time.monotonic() - started < seconds:
            topic, body = _payload(rng.choice(devices), battery, rng)
            client.publish(topic, json.dumps(body, ensure_ascii=False), qos=1)
            sent += 1
            if sent % 100 == 0:
                out(f"simulate: {sent} messages")
            time.sleep(1.0 / rate)
    except KeyboardInterrupt:
        pass
    finally:
        client.loop_stop()
        client.disconnect()
    return sent
