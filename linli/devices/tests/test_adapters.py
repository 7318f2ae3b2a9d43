"""Payload adapters, from sample payloads of each format (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from linli.devices.adapters import MAX_PAYLOAD_BYTES, PayloadRefusedError, Signal, parse_message

AT = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def parse(topic: str, body: object) -> list[Signal]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_message(topic, raw, AT)


def test_zigbee2mqtt_contact_true_means_closed():
    # given Zigbee2MQTT's door contact payloads
    closed, = parse("zigbee2mqtt/door-501", {"contact": True, "battery": 87, "linkquality": 120})
    opened, = parse("zigbee2mqtt/door-501", {"contact": False, "battery": 87})
    # then true is closed, false is open
    assert closed.door_open is False
    assert opened.door_open is True
    assert closed.values == {"battery": 87, "linkquality": 120, "door_open": False}


def test_zigbee2mqtt_smoke_payload_from_the_references():
    signal, = parse("zigbee2mqtt/smoke-501", {"smoke": True, "battery_low": False, "tamper": False, "battery": 87})
    assert signal.external_id == "smoke-501"
    assert signal.values["smoke"] is True
    assert signal.values["tamper"] is False


def test_zigbee2mqtt_availability_plain_and_json():
    plain, = parse("zigbee2mqtt/door-501/availability", b"offline")
    as_json, = parse("zigbee2mqtt/door-501/availability", {"state": "online"})
    assert plain.available is False
    assert as_json.available is True


def test_zigbee2mqtt_bridge_and_commands_are_ignored():
    assert parse("zigbee2mqtt/bridge/state", {"state": "online"}) == []
    assert parse("zigbee2mqtt/door-501/set", {"state": "ON"}) == []


def test_redelivery_has_the_same_key_and_a_later_identical_state_does_not():
    first, = parse("zigbee2mqtt/door-501", {"contact": True})
    again, = parse("zigbee2mqtt/door-501", {"contact": True})
    later, = parse_message("zigbee2mqtt/door-501", b'{"contact": true}', AT.replace(hour=5))
    assert first.message_key == again.message_key
    assert later.message_key != first.message_key


def test_frigate_new_event_with_zone_and_snapshot():
    body = {"type": "new", "before": {}, "after": {
        "id": "1607123955.475377-mxklsc", "camera": "cam-wangjiang-01", "label": "car", "top_score": 0.84,
        "current_zones": ["no_parking"], "entered_zones": ["no_parking"], "has_snapshot": True}}
    signal, = parse("frigate/events", body)
    assert signal.external_id == "cam-wangjiang-01"
    assert signal.camera is not None
    assert signal.camera.zones == ("no_parking",)
    assert signal.camera.snapshot_url == "/api/events/1607123955.475377-mxklsc/snapshot.jpg"


def test_generic_format_uses_msg_id_as_identity():
    signal, = parse("linli/devices/sos-501/events", {"msg_id": "gw7-000123", "sos": True, "door": "open"})
    assert signal.message_key == "gw7-000123"
    assert signal.values == {"sos": True, "door_open": True}


@pytest.mark.parametrize(("topic", "body", "reason", "field"), [
    ("zigbee2mqtt/x", b"{not json", "malformed", ""),
    ("zigbee2mqtt/x", b"[1, 2]", "malformed", ""),
    ("zigbee2mqtt/x", {"battery": 180}, "invalid", "battery"),
    ("zigbee2mqtt/x", {"smoke": "maybe"}, "invalid", "smoke"),
    ("linli/devices/x/events", {"smoke": True}, "invalid", "msg_id"),
    ("linli/devices/x/events", {"msg_id": "1", "door": "ajar"}, "invalid", "door"),
    ("linli/devices/x/other", {"msg_id": "1"}, "unknown_topic", "topic"),
    ("frigate/events", {"type": "gone", "after": {}}, "invalid", "type"),
    ("frigate/events", {"type": "new", "after": {"camera": "c", "id": "1"}}, "invalid", "after.label"),
    ("home/kitchen", {"smoke": True}, "unknown_topic", "topic"),
])
def test_bad_payloads_are_refused_with_reason_and_field(topic, body, reason, field):
    with pytest.raises(PayloadRefusedError) as refused:
        parse(topic, body)
    assert refused.value.reason == reason
    assert refused.value.field_name == field


def test_oversized_payload_is_refused_before_parsing():
    with pytest.raises(PayloadRefusedError) as refused:
        parse("zigbee2mqtt/x", b"{" + b" " * MAX_PAYLOAD_BYTES + b"}")
    assert refused.value.reason == "oversized"
