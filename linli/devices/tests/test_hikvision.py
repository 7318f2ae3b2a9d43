"""Hikvision ISAPI alarm events over the webhook: XML and JSON ``EventNotificationAlert``,
authenticated with an integration key, folded per camera, zone and label, dead letters."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Tree, Users
from linli.accounts.models import ApiKey
from linli.accounts.services import api_key_create
from linli.cases.choices import CaseSource
from linli.cases.models import Case
from linli.devices.adapters import (
    HIKVISION_TOPIC,
    PayloadRefusedError,
    hikvision_device_id,
    parse_message,
)
from linli.devices.choices import AlarmKind, AlarmStatus, DeadLetterReason, DeviceKind
from linli.devices.models import Alarm, DeadLetter, Device, Reading
from linli.devices.services import device_register, device_sweep

pytestmark = pytest.mark.django_db
URL = "/devices/hooks/hikvision/"
MAC = "44:19:b6:6d:24:85"
CAMERA_ID = "hik-4419b66d2485-1"

# The shape of ISAPI's EventNotificationAlert (Hikvision "Behavior Analysis" guide), the
# illegal-parking event of an AI camera over the street with its detection region.
PARKING_XML = """<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<ipAddress>10.12.3.64</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>44:19:b6:6d:24:85</macAddress>
<channelID>1</channelID>
<dateTime>2026-12-07T09:20:02+08:00</dateTime>
<activePostCount>{count}</activePostCount>
<eventType>parking</eventType>
<eventState>{state}</eventState>
<eventDescription>parking alarm</eventDescription>
<channelName>望江路口</channelName>
<DetectionRegionList>
<DetectionRegionEntry>
<regionID>2</regionID>
<sensitivityLevel>50</sensitivityLevel>
<RegionCoordinatesList>
<RegionCoordinates><positionX>120</positionX><positionY>300</positionY></RegionCoordinates>
</RegionCoordinatesList>
</DetectionRegionEntry>
</DetectionRegionList>
<bkgUrl>http://10.12.3.64/picture/Streaming/tracks/203?name=ch01_parking.jpg</bkgUrl>
</EventNotificationAlert>
"""

# The JSON shape newer firmware posts (ISAPI JSON_EventNotificationAlert), a line crossing.
LINE_JSON = {
    "ipAddress": "10.12.3.64", "portNo": 80, "protocol": "HTTP", "macAddress": MAC, "channelID": 1,
    "dateTime": "2026-12-07T09:21:10+08:00", "activePostCount": 1, "eventType": "linedetection",
    "eventState": "active", "eventDescription": "linedetection alarm",
    "DetectionRegionList": [{"regionID": "1", "detectionTarget": "human"}],
}


def parking(count: int = 1, state: str = "active") -> bytes:
    return PARKING_XML.format(count=count, state=state).encode()


@pytest.fixture
def camera(tree: Tree, users: Users, seeded: None) -> Device:
    return device_register(actor=users.community_a, kind=DeviceKind.CAMERA, external_id=CAMERA_ID,
                           grid=tree.grid_a1, vendor="海康威视", model="iDS-2CD7A46G0", spot="望江路口")


@pytest.fixture
def key(tree: Tree, users: Users) -> str:
    _key, secret = api_key_create(actor=users.district_admin, name="海康平台", scopes=["cases.report"],
                                  areas=[tree.grid_a1])
    return secret


def post(payload: bytes, *, secret: str | None, content_type: str = "application/xml", **headers: Any) -> Any:
    if secret is not None:
        headers.setdefault("HTTP_X_API_KEY", secret)
    return Client().post(URL, data=payload, content_type=content_type, **headers)


# --- Adapter (pure) -----------------------------------------------------------------------


def test_xml_and_json_shapes_become_camera_signals():
    now = timezone.now()
    (xml,) = parse_message(HIKVISION_TOPIC, parking(), now)
    assert xml.external_id == CAMERA_ID == hikvision_device_id(MAC, "", "1")
    assert xml.camera is not None
    assert (xml.camera.label, xml.camera.phase, xml.camera.zones) == ("illegal_parking", "new", ("region2",))
    assert xml.camera.snapshot_url.startswith("http://10.12.3.64/picture/")
    (js,) = parse_message(HIKVISION_TOPIC, json.dumps(LINE_JSON).encode(), now)
    assert js.camera is not None
    assert (js.camera.label, js.camera.zones) == ("line_crossing", ("region1",))
    wrapped = json.dumps({"EventNotificationAlert": {**LINE_JSON, "eventState": "inactive"}}).encode()
    (end,) = parse_message(HIKVISION_TOPIC, wrapped, now)
    assert end.camera is not None
    assert end.camera.phase == "end"
    # The repeats of an active event differ (activePostCount): distinct readings; a redelivery does not.
    assert parse_message(HIKVISION_TOPIC, parking(2), now)[0].message_key != xml.message_key
    assert parse_message(HIKVISION_TOPIC, parking(1), now)[0].message_key == xml.message_key


@pytest.mark.parametrize(("payload", "reason", "field"), [
    (b"<EventNotificationAlert><eventType>VMD", "malformed", ""),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><EventNotificationAlert/>', "malformed", ""),
    (b"<ResponseStatus><statusCode>1</statusCode></ResponseStatus>", "malformed", ""),
    (json.dumps({**LINE_JSON, "eventState": "on"}).encode(), "invalid", "eventState"),
    (json.dumps({k: v for k, v in LINE_JSON.items() if k != "eventType"}).encode(), "invalid", "eventType"),
    (json.dumps({**LINE_JSON, "macAddress": "", "ipAddress": ""}).encode(), "invalid", "macAddress"),
    (b"x" * 70_000, "oversized", ""),
])
def test_refused_payloads_say_why(payload: bytes, reason: str, field: str):
    with pytest.raises(PayloadRefusedError) as refused:
        parse_message(HIKVISION_TOPIC, payload, timezone.now())
    assert (refused.value.reason, refused.value.field_name) == (reason, field)


# --- Webhook ------------------------------------------------------------------------------


def test_parking_event_opens_one_case_with_snapshot_and_repeats_fold(camera: Device, key: str):
    first = post(parking(1), secret=key)
    assert first.status_code == 200, first.content
    assert first.json() == {"status": "accepted", "alarms_raised": 1}
    # The camera repeats the active event every second, and once the same post twice.
    for count in (2, 3, 3):
        assert post(parking(count), secret=key).status_code == 200
    alarm = Alarm.objects.get()
    assert (alarm.kind, alarm.fold_key, alarm.repeats, alarm.status) == (
        AlarmKind.CAMERA, "illegal_parking@region2", 2, AlarmStatus.RAISED)
    assert alarm.snapshot_url.startswith("http://10.12.3.64/picture/")
    case = Case.objects.get()
    assert alarm.case_id == case.pk
    assert case.source == CaseSource.CAMERA
    assert Reading.objects.filter(device=camera).count() == 3
    # No "inactive" ever comes: the sweep closes it after the idle window; a new event is a new alarm.
    device_sweep(now=timezone.now() + timedelta(hours=2))
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.CLEARED


def test_json_line_crossing_is_a_reading_without_a_case(camera: Device, key: str):
    response = post(json.dumps(LINE_JSON).encode(), secret=key, content_type="application/json")
    assert response.status_code == 200
    assert Reading.objects.filter(device=camera).count() == 1
    assert not Alarm.objects.exists()
    assert not Case.objects.exists()


def test_basic_auth_with_the_key_as_password(camera: Device, key: str):
    token = base64.b64encode(f"camera:{key}".encode()).decode()
    response = post(parking(), secret=None, HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200
    assert Alarm.objects.count() == 1


@pytest.mark.parametrize("secret", [None, "ll_00000000_wrong", ""])
def test_wrong_or_missing_key_is_401_and_nothing_is_stored(camera: Device, key: str, secret: str | None):
    response = post(parking(), secret=secret)
    assert response.status_code == 401
    assert not Reading.objects.exists()
    assert not DeadLetter.objects.exists()
    assert not Alarm.objects.exists()


def test_revoked_key_or_key_without_scope_stores_nothing(camera: Device, key: str, tree: Tree, users: Users):
    _other, reader = api_key_create(actor=users.district_admin, name="只读", scopes=["view_registry"],
                                    areas=[tree.grid_a1])
    assert post(parking(), secret=reader).status_code == 403
    ApiKey.objects.filter(scopes=["cases.report"]).update(revoked_at=timezone.now())
    assert post(parking(), secret=key).status_code == 401
    assert not Reading.objects.exists()
    assert not DeadLetter.objects.exists()


def test_unknown_malformed_oversized_and_foreign_cameras_become_dead_letters(
        camera: Device, key: str, tree: Tree, users: Users):
    foreign = device_register(actor=users.community_b, kind=DeviceKind.CAMERA, external_id="hik-a1b2c3d4e5f6-1",
                              grid=tree.grid_b1)
    foreign_xml = parking().replace(MAC.encode(), b"a1:b2:c3:d4:e5:f6")
    unknown_xml = parking().replace(MAC.encode(), b"00:11:22:33:44:55")
    for payload in (unknown_xml, b"<EventNotificationAlert><eventType>", b"<a>" + b"x" * 300_000, foreign_xml):
        response = post(payload, secret=key)
        assert response.status_code == 202
        assert response.json() == {"status": "dead_letter"}
    reasons = dict(DeadLetter.objects.values_list("reason", "detail"))
    assert set(reasons) == {DeadLetterReason.UNKNOWN_DEVICE, DeadLetterReason.MALFORMED, DeadLetterReason.OVERSIZED}
    assert DeadLetter.objects.filter(reason=DeadLetterReason.UNKNOWN_DEVICE).count() == 2
    assert DeadLetter.objects.filter(detail__contains="outside the areas").count() == 1
    assert not Reading.objects.filter(device=foreign).exists()
    assert not Alarm.objects.exists()
    assert all(d.topic == HIKVISION_TOPIC for d in DeadLetter.objects.all())


def test_get_is_refused(key: str):
    assert Client().get(URL, HTTP_X_API_KEY=key).status_code == 405
    assert reverse("devices:hook-hikvision") == URL


# A JPEG's first bytes and end marker: enough for the content check.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
BOUNDARY = "MIME_boundary"


def multipart(event: bytes, *, picture: bytes | None, event_as_file: bool = True) -> bytes:
    """The body an ISAPI camera posts with "upload picture" on: the event part (named like
    ``parking.xml``) and the picture part, CRLF-separated, as on the wire."""
    disposition = 'form-data; name="parking.xml"; filename="parking.xml"' if event_as_file else 'form-data; name="parking"'
    parts = [f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\nContent-Type: application/xml\r\n"
             f"Content-Length: {len(event)}\r\n\r\n".encode() + event + b"\r\n"]
    if picture is not None:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="parkingImage"; filename="parking.jpg"\r\n'
                     f"Content-Type: image/jpeg\r\nContent-Length: {len(picture)}\r\n\r\n".encode() + picture + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@pytest.mark.parametrize("event_as_file", [True, False])
def test_multipart_event_with_its_picture_attaches_the_picture_to_the_case(camera: Device, key: str,
                                                                         event_as_file: bool):
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    response = post(multipart(parking(1), picture=JPEG, event_as_file=event_as_file), secret=key,
                    content_type=content_type)
    assert response.status_code == 200, response.content
    assert response.json()["alarms_raised"] == 1
    case = Case.objects.get()
    photos = list(case.photos.all())
    assert [(p.content_type, p.size) for p in photos] == [("image/jpeg", len(JPEG))]
    with photos[0].file.open("rb") as stored:
        assert stored.read() == JPEG
    # the camera repeats the event with a new picture every second: folded, no more photos
    assert post(multipart(parking(2), picture=JPEG + b"\x00", event_as_file=event_as_file), secret=key,
                content_type=content_type).status_code == 200
    assert case.photos.count() == 1


def test_multipart_without_a_usable_picture_keeps_the_event(camera: Device, key: str):
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    response = post(multipart(parking(1), picture=b"not a picture"), secret=key, content_type=content_type)
    assert response.status_code == 200
    assert Alarm.objects.get().case is not None
    assert not Case.objects.get().photos.exists()
    # an event part that is not an event is a dead letter, as without a picture
    assert post(multipart(b"<nonsense", picture=JPEG), secret=key, content_type=content_type).status_code == 202
