"""The demo street's devices and alarm history, seeded through the real ingestion path."""

from __future__ import annotations

import pytest

from linli.cases.models import Case
from linli.core.actors import SystemActor
from linli.demo.devices_seed import seed_devices
from linli.demo.services import demo_seed
from linli.devices.choices import AlarmKind, AlarmStatus, DeviceKind, DeviceStatus
from linli.devices.models import Alarm, Device

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test:demo")


def test_devices_protect_elders_living_alone_and_have_a_history_with_cases():
    # given a small demo street
    demo_seed(actor=ACTOR, residents=1500, seed=2026)
    # when its devices are seeded twice
    first = seed_devices(seed=2026, flats=12)
    second = seed_devices(seed=2026, flats=12)
    # then door contacts and smoke detectors are bound to elders living alone, online
    assert not first.skipped
    assert second.skipped
    doors = Device.objects.filter(kind=DeviceKind.DOOR_CONTACT)
    assert doors.count() >= 5
    assert all(d.person_id and d.room_id and d.absence_hours == 24 for d in doors)
    assert Device.objects.filter(status=DeviceStatus.ONLINE).count() >= doors.count()
    # and the history has handled, false and open alarms, each emergency with its case
    statuses = set(Alarm.objects.values_list("status", flat=True))
    assert {AlarmStatus.HANDLED, AlarmStatus.FALSE_ALARM}.issubset(statuses)
    assert Alarm.objects.filter(kind=AlarmKind.ABSENCE).exists()
    emergencies = Alarm.objects.filter(kind__in=[AlarmKind.SMOKE, AlarmKind.SOS, AlarmKind.GAS])
    assert emergencies.exists()
    assert all(a.case_id for a in emergencies)
    assert Case.objects.filter(source="iot").count() >= emergencies.count()
