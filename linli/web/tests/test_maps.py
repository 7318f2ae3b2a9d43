"""The shared base map's endpoints and the pages with maps: scoped, and never a raw coordinate
shown to a person (issue 16 item 7)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import Tree, Users
from linli.accounts.models import Department, User
from linli.care.models import Visit
from linli.cases.models import Category, DispatchRule
from linli.cases.services import case_open
from linli.cases.taxonomy import taxonomy_load
from linli.web.tests.conftest import Street

pytestmark = pytest.mark.django_db

# Coordinates as a person would see them: "30.231800", "120.1930".
COORDINATE = re.compile(r"\d{2,3}\.\d{4,}")
_INVISIBLE = re.compile(r"<(script|style|template)\b.*?</\1>|<!--.*?-->", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
BOX = "120.19,30.19,120.23,30.23"
NEAR_A = {"lat": "30.2051", "lon": "120.2052"}  # about 20 m from 望江花园12幢 (grid a1)


def visible_text(page: str) -> str:
    """The text a person reads: no scripts, styles, comments, tags or attribute values."""
    return html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", page)))


def assert_no_coordinates(page: str) -> None:
    found = COORDINATE.findall(visible_text(page))
    assert not found, f"coordinates shown to a person: {found}"


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def categories(db: None) -> None:
    if not Category.objects.filter(code="0101").exists():
        taxonomy_load(Department, Category, DispatchRule)


def names(answer: dict[str, Any], layer: str) -> set[str]:
    return {
        f["properties"]["name"] for f in answer["features"] if f["properties"]["layer"] == layer
    }


def test_visible_text_keeps_words_and_drops_scripts_and_attributes() -> None:
    page = (
        '<p data-x="30.2318">已定位 30.231800, 120.193000</p><script>var a = 120.1930;</script>'
        '<input type="hidden" value="30.2318">'
    )
    assert COORDINATE.findall(visible_text(page)) == ["30.231800", "120.193000"]
    assert_no_coordinates('<p title="120.19300">望江花园12幢附近</p><script>[30.2318]</script>')


def test_base_map_lists_the_callers_grids_and_buildings(street: Street, users: Users) -> None:
    # when the grid worker of a1 asks for the street's box
    answer = as_user(users.grid_worker_a1).get("/map/base.json", {"bbox": BOX}).json()
    # then their grid and building come with names, and a link pattern to building pages
    assert names(answer, "area") == {"近江社区第1网格"}
    assert names(answer, "building") == {"望江花园12幢"}
    assert answer["building_url"] == "/buildings/0/"


def test_another_areas_user_gets_nothing_of_this_area(street: Street, users: Users) -> None:
    answer = as_user(users.grid_worker_b1).get("/map/base.json", {"bbox": BOX}).json()
    assert names(answer, "area") == {"婺江社区第1网格"}
    assert names(answer, "building") == {"8幢"}
    assert as_user(users.auditor).get("/map/base.json", {"bbox": BOX}).json()["features"] == []


def test_base_map_refuses_bad_or_huge_boxes_and_strangers(street: Street, users: Users) -> None:
    client = as_user(users.street)
    assert client.get("/map/base.json", {"bbox": "1,2,3"}).status_code == 400
    assert client.get("/map/base.json", {"bbox": "119,29,121,31"}).json()["field"] == "bbox"
    assert Client().get("/map/base.json").status_code == 302  # to the login page


def test_base_map_draws_the_roads_in_the_box(street: Street, users: Users) -> None:
    # given 望江路 across grid a1 and 近江路 far to the east
    from linli.core.actors import SystemActor
    from linli.geo.road_files import RoadRow
    from linli.geo.services import roads_replace

    roads_replace(actor=SystemActor("test"), source="roads.geojson", roads=[
        RoadRow(name="望江路", geometry={"type": "LineString", "coordinates": [[120.201, 30.2049], [120.209, 30.2049]]}),
        RoadRow(name="近江路", geometry={"type": "LineString", "coordinates": [[120.30, 30.30], [120.31, 30.30]]}),
    ])
    # when the grid worker of a1 asks for the street's box, then the road in it comes as a named line
    answer = as_user(users.grid_worker_a1).get("/map/base.json", {"bbox": BOX}).json()
    assert names(answer, "road") == {"望江路"}
    # and the worker of b1, whose grid the road does not reach, gets none
    assert names(as_user(users.grid_worker_b1).get("/map/base.json", {"bbox": BOX}).json(), "road") == set()


def test_nearest_building_answers_in_words(street: Street, users: Users) -> None:
    answer = as_user(users.grid_worker_a1).get("/map/nearest.json", NEAR_A).json()
    assert answer["found"] is True
    assert answer["address"] == "望江路12号"
    assert answer["text"].startswith("望江花园12幢附近")
    assert not COORDINATE.search(answer["text"])
    # another grid's worker is told nothing about it
    theirs = as_user(users.grid_worker_b1).get("/map/nearest.json", NEAR_A).json()
    assert theirs["found"] is False
    assert "望江" not in theirs["text"]
    assert (
        as_user(users.grid_worker_a1).get("/map/nearest.json", {"lat": "x", "lon": "1"}).status_code
        == 400
    )


def test_report_form_has_the_picker_and_shows_no_coordinates(
    street: Street, users: Users, categories: None
) -> None:
    client = as_user(users.grid_worker_a1)
    page = client.get("/cases/new/").content.decode()
    assert 'data-testid="map-picker"' in page
    assert "web/map-picker.js" in page
    # when the form comes back with an error, the position stays in the hidden fields only
    again = client.post(
        "/cases/new/",
        {"category": "0101", "description": "", "lon": "120.2052134", "lat": "30.2051234"},
    )
    assert again.status_code == 400
    body = again.content.decode()
    assert 'value="120.2052134"' in body
    assert_no_coordinates(body)


def test_case_page_names_the_place_and_shows_no_coordinates(
    street: Street, users: Users, categories: None
) -> None:
    case, _created = case_open(
        actor=users.community_a,
        source="staff",
        category="0101",
        description="东门口一堆垃圾",
        lon=120.2052134,
        lat=30.2051234,
    )
    page = as_user(users.community_a).get(f"/cases/{case.pk}/").content.decode()
    assert 'data-testid="case-map"' in page
    assert "望江花园12幢附近" in visible_text(page)
    assert 'data-base-url="/map/base.json"' in page
    assert_no_coordinates(page)


def test_grid_page_and_cockpit_show_no_coordinates(
    street: Street, users: Users, tree: Tree
) -> None:
    grid = as_user(users.grid_worker_a1).get(f"/grids/{tree.grid_a1.pk}/").content.decode()
    assert 'data-testid="grid-map"' in grid
    assert_no_coordinates(grid)
    cockpit = as_user(users.street).get("/cockpit/").content.decode()
    assert 'data-testid="cockpit-map"' in cockpit
    assert_no_coordinates(cockpit)


def test_visit_page_names_the_building_instead_of_coordinates(street: Street, users: Users) -> None:
    visit = Visit.objects.create(
        person=street.elder_a,
        grid=street.building_a.grid,
        visitor=users.grid_worker_a1,
        visited_at=timezone.now(),
        place="家中",
        lon=120.2052134,
        lat=30.2051234,
    )
    page = as_user(users.grid_worker_a1).get(f"/care/visits/{visit.pk}/").content.decode()
    assert "望江花园12幢附近" in visible_text(page)
    assert_no_coordinates(page)


def test_visit_form_has_the_picker_writing_into_the_place_field(
    street: Street, users: Users
) -> None:
    page = (
        as_user(users.grid_worker_a1)
        .get(f"/care/persons/{street.elder_a.pk}/visit/")
        .content.decode()
    )
    assert 'data-testid="map-picker"' in page
    assert 'data-address-input="id_place"' in page
    assert_no_coordinates(page)
