"""Devices API: scoped lists and details of devices and alarms, acknowledging an alarm."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from conftest import Users
from linli.accounts.models import User
from linli.accounts.services import api_key_create
from linli.devices.choices import AlarmStatus
from linli.devices.models import Alarm
from linli.devices.services import Message, ingest_batch

pytestmark = pytest.mark.django_db
PASSWORD = "Linli-test-2026"


def client_for(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def alarm(flat) -> Alarm:
    ingest_batch([Message(topic=f"linli/devices/{flat.smoke.external_id}/events",
                          payload=json.dumps({"msg_id": "api-1", "smoke": True, "battery": 64}).encode(),
                          received_at=timezone.now())])
    return Alarm.objects.get()


def test_devices_and_alarms_of_the_area(flat, alarm: Alarm, users: Users):
    client = client_for(users.grid_worker_a1)
    devices = client.get("/api/v1/devices").json()
    assert devices["count"] == 4
    assert {d["external_id"] for d in devices["items"]} == {"a1-door_contact", "a1-smoke", "a1-gas", "a1-sos"}
    assert "王秀英" not in json.dumps(devices, ensure_ascii=False)  # the person by id only
    assert {d["person_id"] for d in devices["items"]} == {flat.elder.pk}
    smoke = client.get(f"/api/v1/devices/{flat.smoke.pk}").json()
    assert smoke["last_values"]["smoke"] is True
    assert smoke["battery"] == 64
    assert client.get("/api/v1/devices?status=online&kind=smoke").json()["count"] == 1
    alarms = client.get("/api/v1/alarms").json()
    assert [a["id"] for a in alarms["items"]] == [alarm.pk]
    assert alarms["items"][0]["level"] == 1
    assert alarms["items"][0]["case_id"] == alarm.case_id


def test_acknowledge_then_handle(alarm: Alarm, users: Users):
    client = client_for(users.grid_worker_a1)
    url = f"/api/v1/alarms/{alarm.pk}/actions"
    acked = client.post(url, {"action": "acknowledge", "note": "已电话联系"}, content_type="application/json")
    assert acked.status_code == 200
    assert acked.json()["status"] == AlarmStatus.ACKNOWLEDGED
    alarm.refresh_from_db()
    assert alarm.acknowledged_by_id == users.grid_worker_a1.pk
    again = client.post(url, {"action": "acknowledge"}, content_type="application/json")
    assert again.status_code == 400
    assert client.post(url, {"action": "handle"}, content_type="application/json").json()["status"] == "handled"
    assert client.get(f"/api/v1/alarms/{alarm.pk}").json()["closed_at"] is not None
    assert client.get("/api/v1/alarms").json()["count"] == 0
    assert client.get("/api/v1/alarms?state=all").json()["count"] == 1


def test_another_areas_user_gets_nothing(flat, alarm: Alarm, users: Users):
    for user in (users.grid_worker_b1, users.community_b):
        client = client_for(user)
        assert client.get("/api/v1/devices").json() == {"count": 0, "items": []}
        assert client.get("/api/v1/alarms?state=all").json() == {"count": 0, "items": []}
        assert client.get(f"/api/v1/devices/{flat.smoke.pk}").status_code == 404
        assert client.get(f"/api/v1/alarms/{alarm.pk}").status_code == 404
        refused = client.post(f"/api/v1/alarms/{alarm.pk}/actions", {"action": "acknowledge"},
                              content_type="application/json")
        assert refused.status_code == 404
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.RAISED


def test_integration_keys_and_anonymous_callers_are_refused(alarm: Alarm, users: Users, tree):
    assert Client().get("/api/v1/alarms").status_code == 401
    _key, secret = api_key_create(actor=users.district_admin, name="gw", scopes=["cases.report"], areas=[tree.grid_a1])
    assert Client().get("/api/v1/alarms", HTTP_X_API_KEY=secret).status_code == 401
