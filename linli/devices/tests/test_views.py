"""Device pages: scoped lists, registration and binding, alarm actions, dead letters."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Users
from linli.accounts.models import User
from linli.devices.choices import AlarmStatus
from linli.devices.models import Alarm, Device
from linli.devices.services import Message, ingest_batch

pytestmark = pytest.mark.django_db
PASSWORD = "Linli-test-2026"


def client_for(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def smoke_alarm(flat) -> Alarm:
    ingest_batch([Message(topic=f"linli/devices/{flat.smoke.external_id}/events",
                          payload=json.dumps({"msg_id": "v-1", "smoke": True}).encode(),
                          received_at=timezone.now())])
    return Alarm.objects.get()


def test_device_list_shows_the_area_and_another_area_gets_nothing(flat, users: Users):
    mine = client_for(users.grid_worker_a1).get(reverse("devices:list"))
    theirs = client_for(users.community_b).get(reverse("devices:list"))
    assert mine.status_code == theirs.status_code == 200
    assert mine.content.decode().count('data-testid="device-row"') == 4
    assert 'data-testid="device-row"' not in theirs.content.decode()
    # and a device of another area is "not found", not "forbidden"
    assert client_for(users.community_b).get(reverse("devices:device", args=[flat.smoke.pk])).status_code == 404


def test_status_filters(flat, users: Users):
    Device.objects.filter(pk=flat.door.pk).update(battery_low=True, battery=12)
    page = client_for(users.community_a).get(reverse("devices:list"), {"status": "low_battery"})
    assert page.content.decode().count('data-testid="device-row"') == 1


def test_alarm_feed_and_acknowledge_then_handle_from_the_page(flat, users: Users):
    alarm = smoke_alarm(flat)
    worker = client_for(users.grid_worker_a1)
    feed = worker.get(reverse("devices:alarms")).content.decode()
    assert 'data-level="1"' in feed
    assert client_for(users.community_b).get(reverse("devices:alarms")).content.decode().count("alarm-row") == 0
    page = worker.get(reverse("devices:alarm", args=[alarm.pk])).content.decode()
    assert alarm.case is not None
    assert alarm.case.number in page
    worker.post(reverse("devices:alarm", args=[alarm.pk]), {"action": "acknowledge"})
    worker.post(reverse("devices:alarm", args=[alarm.pk]), {"action": "handle", "note": "已上门,误触"})
    alarm.refresh_from_db()
    assert (alarm.status, alarm.note) == (AlarmStatus.HANDLED, "已上门,误触")
    # another area cannot act on it
    other = client_for(users.community_b).post(reverse("devices:alarm", args=[alarm.pk]), {"action": "false_alarm"})
    assert other.status_code == 404


def test_register_a_device_bound_to_a_person_from_the_person_page(flat, users: Users):
    staff = client_for(users.community_a)
    person_page = staff.get(reverse("web:person", args=[flat.elder.pk])).content.decode()
    assert 'data-testid="person-devices"' in person_page
    assert "a1-smoke" not in person_page or "烟感" in person_page
    done = staff.post(reverse("devices:register"), {"kind": "water_leak", "external_id": "a1-water", "spot": "卫生间",
                                                    "person": flat.elder.pk})
    assert done.status_code == 302
    device = Device.objects.get(external_id="a1-water")
    assert (device.person_id, device.room_id, device.grid_id) == (flat.elder.pk, flat.room.pk, flat.building.grid_id)


def test_register_refuses_a_person_of_another_area_and_a_taken_id(flat, users: Users):
    other = client_for(users.community_b)
    page = other.post(reverse("devices:register"), {"kind": "sos", "external_id": "x-1", "person": flat.elder.pk})
    assert page.status_code == 200
    assert not Device.objects.filter(external_id="x-1").exists()
    taken = client_for(users.community_a).post(reverse("devices:register"),
                                               {"kind": "sos", "external_id": flat.sos.external_id,
                                                "person": flat.elder.pk})
    assert "已登记" in taken.content.decode()


def test_dead_letters_page_for_street_staff_only(flat, users: Users):
    ingest_batch([Message(topic="zigbee2mqtt/ghost", payload=b'{"contact": true}', received_at=timezone.now())])
    page = client_for(users.street).get(reverse("devices:dead-letters")).content.decode()
    assert "zigbee2mqtt/ghost" in page
    assert client_for(users.grid_worker_a1).get(reverse("devices:dead-letters")).status_code == 403
