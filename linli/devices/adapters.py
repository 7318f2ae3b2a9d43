"""Payload adapters: an MQTT message (topic, bytes) → normalised signals, or a refusal.

Pure functions, no ORM: each format is tested from sample payloads. Supported topics:

* ``zigbee2mqtt/<device>`` — Zigbee2MQTT state (``contact: true`` means *closed*),
  ``zigbee2mqtt/<device>/availability`` (``{"state": "online"}`` or ``online``);
  ``zigbee2mqtt/bridge/…`` is the bridge's own traffic and is ignored;
* ``frigate/events`` — Frigate ``{"type": "new|update|end", "after": {…}}``;
* ``linli/devices/<device>/events`` — linli's generic gateway format (docs/devices.md):
  ``{"msg_id": "…", "smoke": true, "battery": 80, "door": "open", …}``;
* ``hikvision/isapi`` — not a broker topic: what the Hikvision webhook
  (``/devices/hooks/hikvision/``) received, an ISAPI ``EventNotificationAlert`` in XML or JSON.

Message identity (the inbox key): the generic format's ``msg_id``; Zigbee2MQTT's payload
with its ``last_seen`` when the bridge sends one, otherwise the payload within a
five-minute bucket (a redelivery arrives within seconds; an identical state a bucket later
is a new message); Frigate's event id, type and the payload.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_ID_CHARS = 100
Z2M_BUCKET_SECONDS = 300
GENERIC_PREFIX = "linli/devices/"


class PayloadRefusedError(Exception):
    """A message that cannot be used: ``reason`` is a ``DeadLetterReason`` value."""

    def __init__(self, reason: str, detail: str, *, field_name: str = "", external_id: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.field_name = field_name
        self.external_id = external_id


@dataclass(frozen=True)
class CameraEvent:
    """One camera detection: Frigate's event, or a vendor's."""

    event_id: str
    phase: str  # new | update | end
    label: str
    zones: tuple[str, ...]
    snapshot_url: str = ""


@dataclass
class Signal:
    """What one message says about one device, in linli's words."""

    external_id: str
    message_key: str
    values: dict[str, Any] = field(default_factory=dict)
    # True = opened, False = closed (door contacts); None = not said.
    door_open: bool | None = None
    available: bool | None = None
    camera: CameraEvent | None = None


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\x00")
    return h.hexdigest()


def message_digest(topic: str, payload: bytes) -> str:
    """The dead-letter key of a raw message."""
    return _digest(topic, payload)


def _json_object(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise PayloadRefusedError("malformed", f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise PayloadRefusedError("malformed", "JSON object expected")
    return data


def _bool(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    # Tuya / Home Assistant spellings.
    if value in ("ON", "on", "alarm", "true", 1):
        return True
    if value in ("OFF", "off", "normal", "false", 0):
        return False
    raise PayloadRefusedError("invalid", f"{name}: boolean expected, got {value!r}", field_name=name)


def _percent(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= 100:
        raise PayloadRefusedError("invalid", f"{name}: 0–100 expected, got {value!r}", field_name=name)
    return round(float(value))


def _device_name(name: str) -> str:
    if not name or len(name) > MAX_ID_CHARS:
        raise PayloadRefusedError("unknown_topic", "device name missing or too long", field_name="topic")
    return name


_SENSOR_FLAGS = ("smoke", "gas", "carbon_monoxide", "water_leak", "tamper", "sos", "battery_low")


def _sensor_values(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _SENSOR_FLAGS:
        flag = _bool(data, name)
        if flag is not None:
            values[name] = flag
    battery = _percent(data, "battery")
    if battery is not None:
        values["battery"] = battery
    for name in ("linkquality", "temperature", "humidity"):
        value = data.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            values[name] = value
    return values


def _zigbee2mqtt(topic: str, payload: bytes, received_at: datetime) -> list[Signal]:
    rest = topic.removeprefix("zigbee2mqtt/")
    if rest.startswith("bridge/") or rest == "bridge":
        return []
    name, _sep, sub = rest.partition("/")
    name = _device_name(name)
    if sub == "availability":
        text = payload.decode("utf-8", errors="replace").strip()
        state = text
        if text.startswith("{"):
            state = str(_json_object(payload).get("state", ""))
        if state not in ("online", "offline"):
            raise PayloadRefusedError("invalid", f"availability: online/offline expected, got {state!r}",
                                 field_name="state", external_id=name)
        return [Signal(name, _digest(topic, payload, str(int(received_at.timestamp()) // Z2M_BUCKET_SECONDS)),
                       available=state == "online")]
    if sub:
        # ``…/set`` and ``…/get`` are commands to the device, not reports from it.
        return []
    data = _json_object(payload)
    try:
        values = _sensor_values(data)
        contact = _bool(data, "contact")
    except PayloadRefusedError as refused:
        refused.external_id = name
        raise
    door_open = None if contact is None else not contact  # Zigbee2MQTT: contact true = closed
    if door_open is not None:
        values["door_open"] = door_open
    if "last_seen" in data:
        key = _digest(topic, payload)
    else:
        key = _digest(topic, payload, str(int(received_at.timestamp()) // Z2M_BUCKET_SECONDS))
    return [Signal(name, key, values=values, door_open=door_open)]


def _text(after: dict[str, Any], name: str) -> str:
    value = after.get(name)
    if not isinstance(value, str) or not value:
        raise PayloadRefusedError("invalid", f"after.{name}: text expected", field_name=f"after.{name}")
    return value


def _frigate(payload: bytes) -> list[Signal]:
    data = _json_object(payload)
    phase = data.get("type")
    if phase not in ("new", "update", "end"):
        raise PayloadRefusedError("invalid", f"type: new/update/end expected, got {phase!r}", field_name="type")
    after = data.get("after")
    if not isinstance(after, dict):
        raise PayloadRefusedError("invalid", "after: object expected", field_name="after")
    camera, label, event_id = (_text(after, name) for name in ("camera", "label", "id"))
    zones_raw = after.get("current_zones") or after.get("entered_zones") or []
    zones = tuple(str(z) for z in zones_raw) if isinstance(zones_raw, list) else ()
    snapshot = f"/api/events/{event_id}/snapshot.jpg" if after.get("has_snapshot") else ""
    event = CameraEvent(event_id=event_id, phase=str(phase), label=label, zones=zones, snapshot_url=snapshot)
    score = after.get("top_score") or after.get("score")
    values: dict[str, Any] = {"label": label}
    if isinstance(score, int | float):
        values["score"] = score
    return [Signal(_device_name(camera), _digest("frigate", payload), values=values, camera=event)]


def _generic(topic: str, payload: bytes) -> list[Signal]:
    name, _sep, sub = topic.removeprefix(GENERIC_PREFIX).partition("/")
    if sub != "events":
        raise PayloadRefusedError("unknown_topic", "expected linli/devices/<device>/events", field_name="topic")
    name = _device_name(name)
    data = _json_object(payload)
    msg_id = data.get("msg_id")
    if not isinstance(msg_id, str | int) or isinstance(msg_id, bool) or not str(msg_id) or len(str(msg_id)) > 64:
        raise PayloadRefusedError("invalid", "msg_id: text of 1–64 characters required", field_name="msg_id",
                             external_id=name)
    try:
        values = _sensor_values(data)
        door = data.get("door")
        if door not in (None, "open", "closed"):
            raise PayloadRefusedError("invalid", f"door: open/closed expected, got {door!r}", field_name="door")
    except PayloadRefusedError as refused:
        refused.external_id = name
        raise
    door_open = None if door is None else door == "open"
    if door_open is not None:
        values["door_open"] = door_open
    return [Signal(name, str(msg_id), values=values, door_open=door_open)]


# --- Hikvision ISAPI (HTTP webhook, not MQTT) ------------------------------------------

HIKVISION_TOPIC = "hikvision/isapi"
# ISAPI event types → linli camera labels (``workflow.CAMERA_LABELS`` decides which open a
# case); the other detections are kept as readings of the camera.
HIKVISION_LABELS: dict[str, str] = {
    "parking": "illegal_parking",
    "illegalparking": "illegal_parking",
    "vmd": "motion",
    "linedetection": "line_crossing",
    "fielddetection": "intrusion",
    "regionentrance": "region_entrance",
    "regionexiting": "region_exiting",
    "loitering": "loitering",
    "group": "crowd",
    "unattendedbaggage": "unattended_object",
}
_XML_FORBIDDEN = (b"<!doctype", b"<!entity")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _hikvision_xml(payload: bytes) -> dict[str, Any]:
    lowered = payload.lower()
    if any(mark in lowered for mark in _XML_FORBIDDEN):  # no DTD, no entities (expansion attacks)
        raise PayloadRefusedError("malformed", "XML with a DTD or entities is refused")
    try:
        root = ET.fromstring(payload)  # noqa: S314 -- DTDs refused above
    except ET.ParseError as error:
        raise PayloadRefusedError("malformed", f"not XML: {error}") from None
    if _local(root.tag) != "EventNotificationAlert":
        raise PayloadRefusedError("malformed", "EventNotificationAlert expected")
    data: dict[str, Any] = {}
    regions: list[str] = []
    for child in root:
        name = _local(child.tag)
        if name == "DetectionRegionList":
            regions += [(e.text or "").strip() for e in child.iter() if _local(e.tag) == "regionID"]
        elif len(child) == 0:
            data[name] = (child.text or "").strip()
    data["regions"] = [r for r in regions if r]
    return data


def _hikvision_json(payload: bytes) -> dict[str, Any]:
    data = _json_object(payload)
    inner = data.get("EventNotificationAlert")
    if isinstance(inner, dict):
        data = inner
    regions: list[str] = []
    region_list = data.get("DetectionRegionList")
    entries: Any = region_list.get("DetectionRegionEntry", []) if isinstance(region_list, dict) else region_list
    if isinstance(entries, dict):
        entries = [entries]
    if isinstance(entries, list):
        regions = [str(e.get("regionID")) for e in entries if isinstance(e, dict) and e.get("regionID") is not None]
    return {**data, "regions": regions}


def hikvision_device_id(mac: str, ip: str, channel: str) -> str:
    """The external id a Hikvision camera channel is registered under: ``hik-<mac>-<channel>``
    (MAC in lower-case hex without separators; the IP address when the device sends no MAC)."""
    base = "".join(c for c in mac.lower() if c in "0123456789abcdef") if mac else ip.strip()
    return f"hik-{base}-{channel or '1'}"


def _hikvision(payload: bytes) -> list[Signal]:
    data = _hikvision_xml(payload) if payload.lstrip()[:1] == b"<" else _hikvision_json(payload)
    event_type = data.get("eventType")
    if not isinstance(event_type, str) or not event_type.strip():
        raise PayloadRefusedError("invalid", "eventType: text expected", field_name="eventType")
    state = str(data.get("eventState", "")).strip().lower()
    if state not in ("active", "inactive"):
        raise PayloadRefusedError("invalid", f"eventState: active/inactive expected, got {state!r}",
                                  field_name="eventState")
    mac, ip = str(data.get("macAddress") or ""), str(data.get("ipAddress") or "")
    if not mac and not ip:
        raise PayloadRefusedError("invalid", "macAddress or ipAddress required", field_name="macAddress")
    channel = str(data.get("channelID") or data.get("dynChannelID") or "1").strip()
    if not channel.isdigit() or len(channel) > 4:
        raise PayloadRefusedError("invalid", f"channelID: number expected, got {channel!r}", field_name="channelID")
    external_id = _device_name(hikvision_device_id(mac, ip, channel))
    label = HIKVISION_LABELS.get(event_type.strip().lower(), event_type.strip().lower()[:50])
    zones = tuple(f"region{r}"[:50] for r in data.get("regions", []))
    snapshot = next((str(data[k]) for k in ("bkgUrl", "picUrl", "pictureURL")
                     if isinstance(data.get(k), str) and str(data[k]).startswith(("http://", "https://"))), "")
    # An active event repeats about every second (``activePostCount`` grows): each repeat
    # is a reading that folds into the open alarm; an identical redelivery is a duplicate.
    event = CameraEvent(event_id=f"{external_id}:{event_type}", phase="new" if state == "active" else "end",
                        label=label, zones=zones, snapshot_url=snapshot[:300])
    values: dict[str, Any] = {"label": label, "event_type": event_type[:50], "event_state": state}
    return [Signal(external_id, _digest("hikvision", payload), values=values, camera=event)]


def parse_message(topic: str, payload: bytes, received_at: datetime) -> list[Signal]:
    """The signals of one message; :class:`PayloadRefusedError` says why there are none."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRefusedError("oversized", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    if topic.startswith("zigbee2mqtt/"):
        return _zigbee2mqtt(topic, payload, received_at)
    if topic == "frigate/events":
        return _frigate(payload)
    if topic.startswith(GENERIC_PREFIX):
        return _generic(topic, payload)
    if topic == HIKVISION_TOPIC:
        return _hikvision(payload)
    raise PayloadRefusedError("unknown_topic", f"no adapter for topic {topic[:100]!r}", field_name="topic")


# What the ingestor subscribes to (QoS 1).
TOPICS: tuple[str, ...] = ("zigbee2mqtt/#", "frigate/events", "linli/devices/+/events")
