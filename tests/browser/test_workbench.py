"""End to end in real Chromium: a grid worker logs in, finds a resident, opens the building chart."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from linli.registry.choices import HukouStatus, Relation, RoomUse
from linli.registry.services import (
    building_create,
    household_create,
    person_create,
    room_create,
    unit_create,
)
from linli.registry.validators import id_number_check_char

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("screenshot")]

PASSWORD = "Linli-test-2026"  # the root conftest's make_user default


def id_number(first17: str) -> str:
    """A GB 11643 number with its check digit, so the registry accepts it."""
    return first17 + id_number_check_char(first17)


def log_in(page: Page, base_url: str, *, username: str) -> None:
    page.goto(f"{base_url}/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(username)


def test_grid_worker_finds_resident_and_sees_room_on_building_chart(
    transactional_db, live_server, tree, users, browser_page: Page,
):
    # given a building in grid A1 with a rented room where one resident lives
    actor = users.district_admin
    building = building_create(actor=actor, grid=tree.grid_a1, name="望江家园3幢",
                               address="望江路88号3幢", lon=120.205, lat=30.205, floors=6)
    unit = unit_create(actor=actor, building=building, number=1)
    room = room_create(actor=actor, unit=unit, floor=2, number="201", use=RoomUse.RENTED)
    household = household_create(actor=actor, number="HH-TEST-0001", room=room)
    person = person_create(actor=actor, name="欧阳明月", id_number=id_number("33010219800101123"),
                           phone="13812345678", hukou=HukouStatus.LOCAL, room=room,
                           household=household, relation=Relation.HEAD)
    page = browser_page

    # when the grid worker of A1 logs in and searches the resident by name
    log_in(page, live_server.url, username=users.grid_worker_a1.username)
    page.goto(f"{live_server.url}/search/")
    page.get_by_test_id("search-input").fill("欧阳明月")
    page.get_by_test_id("search-submit").click()
    result = page.get_by_test_id("search-result").filter(has_text="欧阳明月")
    expect(result).to_have_count(1)
    # personal data stays masked in the list
    expect(result).to_contain_text("138****5678")
    result.get_by_test_id("search-result-link").click()

    # then the person page opens, and from it the building chart with the room on it
    expect(page).to_have_url(re.compile(rf"/persons/{person.pk}/$"))
    expect(page.get_by_test_id("person-name")).to_have_text("欧阳明月")
    page.get_by_test_id("person-building-link").click()
    expect(page).to_have_url(re.compile(rf"/buildings/{building.pk}/$"))
    chart = page.get_by_test_id("building-chart")
    cell = chart.locator(f'[data-testid="chart-cell"][data-room="{room.number}"]')
    expect(cell).to_be_visible()
    expect(cell).to_have_attribute("data-use", RoomUse.RENTED.value)
    expect(cell).to_contain_text("1人")


@pytest.mark.parametrize("path_of", ["search", "person", "building"])
def test_pages_fit_a_phone_screen_without_sideways_scrolling(
    transactional_db, live_server, tree, users, browser_page: Page, path_of,
):
    # given a resident in a building, and a phone-sized screen
    actor = users.district_admin
    building = building_create(actor=actor, grid=tree.grid_a1, name="望江家园3幢",
                               address="望江路88号3幢", lon=120.205, lat=30.205, floors=6)
    unit = unit_create(actor=actor, building=building, number=1)
    rooms = [room_create(actor=actor, unit=unit, floor=floor, number=f"{floor}0{n}")
             for floor in range(1, 7) for n in range(1, 5)]
    person = person_create(actor=actor, name="欧阳明月", id_number=id_number("33010219800101123"),
                           phone="13812345678", hukou=HukouStatus.LOCAL, room=rooms[5])
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, username=users.grid_worker_a1.username)
    # when the grid worker opens the page
    url = {"search": "/search/?q=欧阳", "person": f"/persons/{person.pk}/",
           "building": f"/buildings/{building.pk}/"}[path_of]
    page.goto(f"{live_server.url}{url}")
    # then the page is no wider than the screen (wide tables scroll inside their own box)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
