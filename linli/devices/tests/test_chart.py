"""The device page's 7-day chart: readings bucketed per hour in the database, scoped."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Users
from linli.devices.models import Device, Reading
from linli.devices.selectors import device_chart

pytestmark = pytest.mark.django_db
PASSWORD = "Linli-test-2026"


def _hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _reading(device: Device, at: datetime, n: int, **values: Any) -> None:
    Reading.objects.create(device=device, message_key=f"k-{n}", received_at=at, values=values)


def test_readings_are_bucketed_per_hour_with_min_avg_max_and_counts(flat):
    hour = _hour_start(timezone.now()) - timedelta(hours=3)
    # three readings in one hour, one in the next, one older than 7 days (left out)
    _reading(flat.door, hour + timedelta(minutes=1), 1, battery=90, door_open=True)
    _reading(flat.door, hour + timedelta(minutes=20), 2, battery=80, door_open=False)
    _reading(flat.door, hour + timedelta(minutes=59), 3, battery=70, door_open=True, temperature=21.5)
    _reading(flat.door, hour + timedelta(minutes=61), 4, battery=60, door_open=True)
    _reading(flat.door, timezone.now() - timedelta(days=8), 5, battery=99, door_open=True)
    _reading(flat.smoke, hour, 6, battery=10, smoke=True)  # another device: not counted

    chart = device_chart(device=flat.door)

    first, second = int(hour.timestamp() * 1000), int((hour + timedelta(hours=1)).timestamp() * 1000)
    assert chart["messages"] == [[first, 3], [second, 1]]
    battery = next(m for m in chart["measures"] if m["key"] == "battery")
    assert battery["points"] == [[first, 70.0, 80.0, 90.0], [second, 60.0, 60.0, 60.0]]
    temperature = next(m for m in chart["measures"] if m["key"] == "temperature")
    assert temperature["points"] == [[first, 21.5, 21.5, 21.5]]
    assert [e["key"] for e in chart["events"]] == ["door_open"]
    assert chart["events"][0]["points"] == [[first, 2], [second, 1]]
    assert {m["key"] for m in chart["measures"]} == {"battery", "temperature"}


def test_a_busy_device_sends_at_most_one_point_per_hour(flat):
    now = timezone.now()
    Reading.objects.bulk_create(
        Reading(device=flat.door, message_key=f"b-{i}", received_at=now - timedelta(minutes=i), values={"battery": i % 100})
        for i in range(0, 7 * 24 * 60, 7))
    chart = device_chart(device=flat.door)
    assert len(chart["messages"]) <= 7 * 24 + 1
    assert sum(n for _t, n in chart["messages"]) == Reading.objects.filter(device=flat.door).count()


def test_the_page_carries_the_chart_and_another_area_gets_404(flat, users: Users):
    _reading(flat.door, timezone.now() - timedelta(minutes=5), 1, battery=88, door_open=True)
    mine = Client()
    assert mine.login(username=users.grid_worker_a1.username, password=PASSWORD)
    page = mine.get(reverse("devices:device", args=[flat.door.pk])).content.decode()
    assert 'data-testid="device-chart"' in page
    assert "devices/device-chart.js" in page
    start = page.index('id="device-chart-data"')
    data = json.loads(page[page.index(">", start) + 1:page.index("</script>", start)])
    assert data["messages"][0][1] == 1
    theirs = Client()
    assert theirs.login(username=users.community_b.username, password=PASSWORD)
    response = theirs.get(reverse("devices:device", args=[flat.door.pk]))
    assert response.status_code == 404
    assert b"device-chart-data" not in response.content
