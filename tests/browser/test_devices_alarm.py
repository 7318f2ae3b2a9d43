"""Issue 20's browser flow: the simulator raises a smoke alarm through a real Mosquitto, the
alarm is in the feed (level 1 highlighted), its case has the room's address and the grid,
and an operator acknowledges it."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from linli.devices.choices import AlarmKind, AlarmStatus
from linli.devices.models import Alarm
from linli.devices.services import Message, ingest_batch
from linli.devices.tests.broker import simulate_through_a_broker
from linli.devices.tests.conftest import make_flat, seeded  # noqa: F401 -- fixture
from tests.browser.test_window_application import log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("screenshot")]


def _simulate_through_the_broker(settings: Any) -> list[Any]:
    sent, received = simulate_through_a_broker(settings, client_id="browser-listener")
    assert len(received) == sent
    return received


def test_simulated_smoke_alarm_becomes_a_case_and_is_acknowledged(
    transactional_db: None, live_server: Any, tree: Any, users: Any, seeded: None,  # noqa: F811
    browser_page: Page, settings: Any,
) -> None:
    flat = make_flat(tree, users)
    received = _simulate_through_the_broker(settings)
    # what the ingestor does with a batch (its commit, then the broker ack)
    ingest_batch([Message(m.topic, bytes(m.payload), timezone.now()) for m in received])
    alarm = Alarm.objects.get(kind=AlarmKind.SMOKE, device=flat.smoke)
    assert alarm.case is not None

    page = browser_page
    log_in(page, live_server.url, username=users.community_a.username)
    page.goto(f"{live_server.url}/devices/alarms/")
    row = page.get_by_test_id("alarm-row").filter(has_text=str(AlarmKind.SMOKE.label)).first
    expect(row).to_have_attribute("data-level", "1")
    expect(row).to_have_class("case-row sup-2")
    row.locator("a").click()
    expect(page.get_by_test_id("alarm-status")).to_have_text(str(AlarmStatus.RAISED.label))
    page.get_by_test_id("alarm-case").click()
    expect(page.locator("dd").filter(has_text=flat.building.address).first).to_contain_text("2单元501室")
    expect(page.get_by_test_id("case-grid")).to_have_text(tree.grid_a1.name)
    page.go_back()
    page.locator("#alarm-note").fill("已电话联系老人,厨房误触")
    page.get_by_test_id("alarm-acknowledge").click()
    expect(page.get_by_test_id("alarm-status")).to_have_text(str(AlarmStatus.ACKNOWLEDGED.label))
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.ACKNOWLEDGED
    assert alarm.acknowledged_by_id == users.community_a.pk
    # the smoke detector's page draws its 7-day chart (ECharts renders into a canvas)
    page.goto(f"{live_server.url}/devices/{flat.smoke.pk}/")
    expect(page.get_by_test_id("device-chart").locator("canvas").first).to_be_visible()
