"""The absence rule by the elder's care colour (三色等级): red sooner, green at the device's
24 h, no level = the device's own hours."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from linli.care.models import ElderLevel
from linli.devices import workflow
from linli.devices.choices import AlarmKind
from linli.devices.models import Alarm, Device
from linli.devices.services import Message, absence_shorten_by_level, device_sweep, ingest_batch
from linli.devices.tests.conftest import Flat

pytestmark = pytest.mark.django_db
BY_COLOUR = {"red": 12, "yellow": 18, "green": 24}


def test_the_level_only_shortens_the_device_threshold():
    assert workflow.absence_hours_for(device_hours=24, colour="red", by_colour=BY_COLOUR) == 12
    assert workflow.absence_hours_for(device_hours=24, colour="yellow", by_colour=BY_COLOUR) == 18
    assert workflow.absence_hours_for(device_hours=24, colour="green", by_colour=BY_COLOUR) == 24
    assert workflow.absence_hours_for(device_hours=8, colour="green", by_colour=BY_COLOUR) == 8
    assert workflow.absence_hours_for(device_hours=24, colour=None, by_colour=BY_COLOUR) == 24
    assert workflow.absence_hours_for(device_hours=None, colour="red", by_colour=BY_COLOUR) is None


def _door_opened(flat: Flat, hours_ago: float) -> None:
    at = timezone.now() - timedelta(hours=hours_ago)
    ingest_batch([Message(topic=f"zigbee2mqtt/{flat.door.external_id}", payload=json.dumps({"contact": False}).encode(),
                          received_at=at)])


def _level(flat: Flat, colour: str) -> None:
    ElderLevel.objects.update_or_create(person=flat.elder, defaults={"colour": colour, "grid": flat.elder.grid,
                                                                     "since": date(2026, 1, 1)})


def test_a_red_elder_is_due_after_12_hours(flat: Flat, settings):
    settings.LINLI_DEVICE_ABSENCE_HOURS_BY_COLOUR = BY_COLOUR
    _level(flat, "red")
    _door_opened(flat, 13)
    assert device_sweep().absences == 1
    alarm = Alarm.objects.get(device=flat.door, kind=AlarmKind.ABSENCE)
    assert "12小时" in alarm.summary


def test_a_green_elder_is_not_due_before_24_hours(flat: Flat, settings):
    settings.LINLI_DEVICE_ABSENCE_HOURS_BY_COLOUR = BY_COLOUR
    _level(flat, "green")
    _door_opened(flat, 13)
    assert device_sweep().absences == 0
    # the opening 13 h ago + 24 h: due 11 h from now
    assert device_sweep(now=timezone.now() + timedelta(hours=12)).absences == 1
    assert "24小时" in Alarm.objects.get(device=flat.door, kind=AlarmKind.ABSENCE).summary


def test_no_level_keeps_the_device_hours(flat: Flat, settings):
    settings.LINLI_DEVICE_ABSENCE_HOURS_BY_COLOUR = BY_COLOUR
    _door_opened(flat, 13)
    assert device_sweep().absences == 0
    assert Device.objects.get(pk=flat.door.pk).absence_due_at is not None


def test_a_colour_turning_red_brings_the_deadline_forward_once(flat: Flat):
    _door_opened(flat, 1)
    opened = Device.objects.get(pk=flat.door.pk).last_opened_at
    assert opened is not None
    assert absence_shorten_by_level(by_colour=BY_COLOUR) == 0
    _level(flat, "red")
    assert absence_shorten_by_level(by_colour=BY_COLOUR) == 1
    assert absence_shorten_by_level(by_colour=BY_COLOUR) == 0  # set-based and idempotent
    assert Device.objects.get(pk=flat.door.pk).absence_due_at == opened + timedelta(hours=12)
