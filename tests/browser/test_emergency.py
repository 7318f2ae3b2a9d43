"""Emergency mode in real Chromium: the operator draws an area with the mouse, sees the
vulnerable first and starts an incident; a grid worker on a phone marks three households;
the command centre's board shows 3 without a reload."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from linli.accounts.models import User
from linli.cockpit.models import IncidentHousehold
from linli.cockpit.tests.conftest import em  # noqa: F401 -- the fixture, shared with the unit tests

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "Linli-test-2026"  # the root conftest's make_user default


def log_in(page: Page, base_url: str, user: User) -> None:
    page.goto(f"{base_url}/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(user.username)
    form.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(user.username)


def test_draw_start_check_and_watch_the_board(live_server: Any, em: Any, browser_page: Page,  # noqa: F811
                                              chromium: Browser) -> None:
    page = browser_page
    log_in(page, live_server.url, em.users.street)
    page.goto(f"{live_server.url}/cockpit/emergency/")
    the_map = page.get_by_test_id("emergency-map")
    expect(the_map.locator(".leaflet-interactive").first).to_be_visible()
    page.get_by_test_id("draw-polygon").click()
    box = the_map.bounding_box()
    assert box is not None
    # A polygon around the middle of the street (the map fits the street's grids).
    for fx, fy in [(0.2, 0.2), (0.8, 0.2), (0.8, 0.85), (0.2, 0.85)]:
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    page.get_by_test_id("draw-finish").click()
    vulnerable = page.get_by_test_id("vulnerable-household")
    expect(vulnerable.first).to_contain_text("赵明")  # disabled: first
    expect(vulnerable.nth(1)).to_contain_text("王秀英")  # living alone
    expect(page.get_by_test_id("roster-summary")).to_contain_text("重点人员户")
    page.get_by_test_id("incident-title").fill("望江路12号火情")
    page.get_by_test_id("incident-start").click()
    expect(page).to_have_url(re.compile(r"/cockpit/incidents/\d+/$"))
    expect(page.get_by_test_id("board-checked")).to_have_text("0")
    board_url = page.url

    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.set_default_timeout(15_000)
    worker = phone.new_page()
    try:
        log_in(worker, live_server.url, em.users.grid_worker_a1)
        worker.goto(f"{live_server.url}/cockpit/tasks/")
        worker.get_by_test_id("task-link").first.click()
        items = worker.get_by_test_id("check-item")
        expect(items.first).to_be_visible()
        for i, state in enumerate(["safe", "evacuated", "not_home"]):
            items.nth(i).get_by_test_id(f"mark-{state}").click()
            expect(worker.get_by_test_id("check-progress")).to_contain_text(f"已核查 {i + 1} /")
    finally:
        phone.close()

    # the command centre never reloaded: the board polled its way to 3
    assert page.url == board_url
    expect(page.get_by_test_id("board-checked")).to_have_text("3", timeout=6_000)
    assert IncidentHousehold.objects.exclude(state="pending").count() == 3


def test_cockpit_renders_with_the_base_map(live_server: Any, em: Any, browser_page: Page) -> None:  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    log_in(page, live_server.url, em.users.street)
    page.goto(f"{live_server.url}/cockpit/")
    expect(page.get_by_test_id("kpi-persons")).to_contain_text("9")
    the_map = page.get_by_test_id("cockpit-map")
    expect(the_map.locator("path.leaflet-interactive").first).to_be_visible()  # grid polygons
    expect(the_map.locator(".bldg-label").first).to_be_attached()
    # grids, communities, buildings, cases, density, alarms, and today's patrol tracks (added
    # once the field app's tracks.json has answered)
    expect(the_map.locator(".leaflet-control-layers-overlays label")).to_have_count(7)
    expect(the_map.locator(".leaflet-control-layers-overlays label", has_text="今日巡查轨迹")).to_have_count(1)
