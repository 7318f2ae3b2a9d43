"""The demo street's devices: door contacts and smoke detectors in the flats of elders living
alone (some with gas detectors, SOS buttons and water-leak sensors), a few AI cameras at
street corners, and some history — alarms handled, a false alarm, one still open, one
welfare check — produced through the real ingestion path (``ingest_batch``) so that every
alarm has its case as in production. Seeded once: nothing is done when any device exists.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.devices import workflow
from linli.devices.choices import AlarmAction, AlarmKind, DeviceKind, DeviceStatus
from linli.devices.models import Alarm, Device
from linli.devices.services import Message, alarm_transition, device_sweep, ingest_batch
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.choices import TagKind
from linli.registry.models import Person

DEFAULT_FLATS = 30
VENDORS = (("Aqara", "MCCGQ11LM"), ("小米", "JTYJ-GD-01LM"), ("海曼", "HS1SA"), ("涂鸦", "ZG-102Z"))
CAMERA_SPOTS = ("望江路与秋涛路口", "近江菜场东门", "婺江小区北门")


@dataclass
class DevicesSeedReport:
    skipped: bool = False
    devices: int = 0
    alarms: int = 0


def _elders(limit: int, on: date) -> list[Person]:
    ids = (Person.objects.filter(tags__kind=TagKind.LIVING_ALONE_ELDER, tags__valid_from__lte=on,
                                 room__isnull=False, is_deceased=False)
           .order_by("pk").values_list("pk", flat=True).distinct()[:limit])
    return list(Person.objects.filter(pk__in=list(ids)).select_related("room", "building").order_by("pk"))


def _device(kind: str, external_id: str, person: Person, spot: str, vendor: tuple[str, str], now: datetime,
            name: str) -> Device:
    absence = workflow.DEFAULT_ABSENCE_HOURS if kind == DeviceKind.DOOR_CONTACT else None
    assert person.building is not None  # noqa: S101 -- selected with a room, hence a building
    return Device(
        kind=kind, external_id=external_id, name=name, vendor=vendor[0], model=vendor[1], spot=spot,
        grid_id=person.building.grid_id, building=person.building, room=person.room, person=person,
        heartbeat_seconds=workflow.heartbeat_for(kind), absence_hours=absence, status=DeviceStatus.NEW,
        offline_due_at=now + timedelta(seconds=workflow.heartbeat_for(kind)),
        absence_due_at=workflow.absence_due(last_opened_at=None, since=now, hours=absence),
    )


def _message(device: Device, body: dict[str, object], at: datetime) -> Message:
    return Message(topic=f"linli/devices/{device.external_id}/events", payload=json.dumps(body).encode(),
                   received_at=at)


def seed_devices(*, seed: int, flats: int = DEFAULT_FLATS, now: datetime | None = None) -> DevicesSeedReport:
    if Device.objects.exists():
        return DevicesSeedReport(skipped=True)
    rng = random.Random(seed)
    now = now or timezone.now()
    elders = _elders(flats, timezone.localdate(now))
    devices: list[Device] = []
    for n, elder in enumerate(elders):
        vendor = rng.choice(VENDORS)
        tag = f"{elder.pk:06d}"
        devices.append(_device(DeviceKind.DOOR_CONTACT, f"mc-{tag}", elder, "入户门", vendor, now, "门磁"))
        devices.append(_device(DeviceKind.SMOKE, f"yg-{tag}", elder, "厨房", rng.choice(VENDORS), now, "烟感"))
        if n % 3 == 0:
            devices.append(_device(DeviceKind.GAS, f"rq-{tag}", elder, "厨房", vendor, now, "燃气报警器"))
        if n % 2 == 0:
            devices.append(_device(DeviceKind.SOS, f"sos-{tag}", elder, "卧室床头", vendor, now, "紧急呼叫按钮"))
        if n % 5 == 0:
            devices.append(_device(DeviceKind.WATER_LEAK, f"sj-{tag}", elder, "卫生间", vendor, now, "水浸传感器"))
    grids = list(Area.objects.filter(level=AreaLevel.GRID).exclude(centroid_lon=None).order_by("code")[:3])
    for n, grid in enumerate(grids):
        devices.append(Device(
            kind=DeviceKind.CAMERA, external_id=f"cam-{n + 1:02d}", name=f"AI摄像头{n + 1}", vendor="海康威视",
            model="DS-2CD3T47", spot=CAMERA_SPOTS[n % len(CAMERA_SPOTS)], grid=grid, lon=grid.centroid_lon,
            lat=grid.centroid_lat, heartbeat_seconds=workflow.heartbeat_for(DeviceKind.CAMERA),
            offline_due_at=now + timedelta(seconds=workflow.heartbeat_for(DeviceKind.CAMERA)),
        ))
    Device.objects.bulk_create(devices)
    report = DevicesSeedReport(devices=len(devices))
    _history(devices, rng, now)
    report.alarms = Alarm.objects.count()
    return report


def _history(devices: list[Device], rng: random.Random, now: datetime) -> None:
    """Telemetry of today (everything online, a few batteries low) and a short alarm history."""
    messages = []
    for device in devices:
        if device.kind == DeviceKind.CAMERA:
            continue
        at = now - timedelta(minutes=rng.randint(5, 600))
        body: dict[str, object] = {"msg_id": f"seed-{device.external_id}", "battery": rng.randint(8, 100)}
        if device.kind == DeviceKind.DOOR_CONTACT:
            body["door"] = "open"
        messages.append(_message(device, body, at))
    by_kind: dict[str, list[Device]] = {}
    for device in devices:
        by_kind.setdefault(device.kind, []).append(device)
    doors = by_kind.get(DeviceKind.DOOR_CONTACT, [])
    # One elder whose door has not opened for 30 hours: the sweep opens a welfare check.
    if doors:
        messages = [m for m in messages if doors[0].external_id not in m.topic]
        messages.append(_message(doors[0], {"msg_id": "seed-absent", "door": "open", "battery": 64},
                                 now - timedelta(hours=30)))
    ingest_batch(messages)
    events: list[tuple[str, str, str | None]] = [  # device kind, trigger, what staff then did
        (DeviceKind.SMOKE, "smoke", AlarmAction.FALSE_ALARM),
        (DeviceKind.SMOKE, "smoke", AlarmAction.HANDLE),
        (DeviceKind.SOS, "sos", AlarmAction.HANDLE),
        (DeviceKind.GAS, "gas", AlarmAction.ACKNOWLEDGE),
        (DeviceKind.WATER_LEAK, "water_leak", None),
    ]
    staff = User.objects.filter(role=Role.STREET_STAFF, is_active=True).order_by("pk").first()
    for n, (kind, trigger, then) in enumerate(events):
        pool = by_kind.get(kind, [])
        if not pool:
            continue
        device = pool[(n * 7) % len(pool)]
        at = now - timedelta(hours=rng.randint(2, 72))
        ingest_batch([_message(device, {"msg_id": f"seed-alarm-{n}", trigger: True}, at)])
        alarm = Alarm.objects.filter(device=device, kind=AlarmKind(trigger)).order_by("-pk").first()
        if alarm is not None and then is not None and staff is not None:
            notes: dict[str, str] = {AlarmAction.FALSE_ALARM: "厨房炒菜油烟触发,已告知老人开窗",
                                     AlarmAction.HANDLE: "网格员已上门,老人安好"}
            note = notes.get(then, "")
            alarm_transition(alarm=alarm, action=then, actor=staff, note=note)
    device_sweep(now=now)
