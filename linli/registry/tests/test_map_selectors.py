"""The base map and the nearest building: scoped to the caller's areas, no residents in them."""

from __future__ import annotations

from typing import Any

import pytest

from linli.registry.map_selectors import basemap_for_user, building_label, nearest_building
from linli.registry.models import Building

pytestmark = pytest.mark.django_db

# 江景苑3幢 stands at (120.205, 30.205) in grid a1; 金色新村12幢 at (120.205, 30.215) in grid b1.
NEAR_A = {"lon": 120.2052, "lat": 30.2051}  # about 22 m from 江景苑3幢
BOX_ALL = (120.19, 30.19, 120.23, 30.23)


def names(answer: dict[str, Any], layer: str) -> set[str]:
    return {
        f["properties"]["name"] for f in answer["features"] if f["properties"]["layer"] == layer
    }


def test_nearest_building_names_the_building_and_its_distance(registry: Any, users: Any) -> None:
    # given a position a few metres from 江景苑3幢, when the grid worker of a1 asks
    found = nearest_building(user=users.grid_worker_a1, **NEAR_A)
    # then the building comes back in words with its distance
    assert found is not None
    assert found.label == "江景苑3幢"
    assert found.address == "望江路100号江景苑3幢"
    assert found.building_id == registry.building_a.pk
    assert 15 < found.distance_m < 30


def test_nearest_building_picks_the_closer_of_two(registry: Any, users: Any, tree: Any) -> None:
    # given a second building of grid a1 farther away than 江景苑3幢
    Building.objects.create(
        grid=tree.grid_a1,
        compound="江景苑",
        name="5幢",
        address="望江路100号江景苑5幢",
        lon=120.2056,
        lat=30.2053,
    )
    # when asked next to 3幢, then 3幢 is the answer; next to 5幢, 5幢
    near_3 = nearest_building(user=users.grid_worker_a1, lon=120.20501, lat=30.20501)
    near_5 = nearest_building(user=users.grid_worker_a1, lon=120.20559, lat=30.20529)
    assert near_3 is not None
    assert near_3.label == "江景苑3幢"
    assert near_5 is not None
    assert near_5.label == "江景苑5幢"


def test_another_areas_user_gets_no_building(registry: Any, users: Any) -> None:
    # given the grid worker of b1, when he asks next to a1's building, then nothing is named
    assert nearest_building(user=users.grid_worker_b1, **NEAR_A) is None
    # and a user who may not read the registry gets nothing either
    assert nearest_building(user=users.auditor, **NEAR_A) is None


def test_nothing_within_reach_names_nothing(registry: Any, users: Any) -> None:
    assert nearest_building(user=users.street, lon=120.215, lat=30.205) is None  # about 960 m away
    assert nearest_building(user=users.street, lon=120.2075, lat=30.205, max_m=300) is not None


def test_basemap_holds_the_callers_areas_and_buildings_only(registry: Any, users: Any) -> None:
    # when the grid worker of a1 asks for the whole street's box
    mine = basemap_for_user(user=users.grid_worker_a1, bbox=BOX_ALL)
    # then only their grid and its building are there, with names and a label point
    assert names(mine, "area") == {"近江社区第1网格"}
    assert names(mine, "building") == {"江景苑3幢"}
    area = next(f for f in mine["features"] if f["properties"]["layer"] == "area")
    assert area["properties"]["label_at"] is not None
    # and the street sees every grid and both buildings
    street = basemap_for_user(user=users.street, bbox=BOX_ALL)
    assert names(street, "area") == {"近江社区第1网格", "近江社区第2网格", "婺江社区第1网格"}
    assert names(street, "building") == {"江景苑3幢", "金色新村12幢"}


def test_another_areas_user_gets_nothing_of_this_area(registry: Any, users: Any) -> None:
    theirs = basemap_for_user(user=users.grid_worker_b1, bbox=BOX_ALL)
    assert "近江社区第1网格" not in names(theirs, "area")
    assert "江景苑3幢" not in names(theirs, "building")
    assert basemap_for_user(user=users.auditor, bbox=BOX_ALL)["features"] == []


def test_basemap_without_a_box_has_areas_only_and_a_box_cuts_them(
    registry: Any, users: Any
) -> None:
    whole = basemap_for_user(user=users.street)
    assert names(whole, "building") == set()
    assert len(names(whole, "area")) == 3
    # a box around grid a1's building only touches the grids near it
    near = basemap_for_user(user=users.street, bbox=(120.204, 30.204, 120.206, 30.206))
    assert names(near, "area") == {"近江社区第1网格"}
    assert names(near, "building") == {"江景苑3幢"}


def test_basemap_carries_no_residents(registry: Any, users: Any) -> None:
    text = str(basemap_for_user(user=users.street, bbox=BOX_ALL))
    for resident in ("王小明", "王晓红", "李强", "王芳"):
        assert resident not in text


def test_building_label_falls_back_to_name_or_address() -> None:
    assert building_label(Building(compound="江景苑", name="3幢", address="x")) == "江景苑3幢"
    assert building_label(Building(compound="", name="3幢", address="x")) == "3幢"
    assert building_label(Building(compound="", name="", address="望江路1号")) == "望江路1号"


def _road(name: str, coordinates: list[list[float]]) -> None:
    from linli.core.actors import SystemActor
    from linli.geo.road_files import RoadRow
    from linli.geo.services import roads_replace

    roads_replace(actor=SystemActor("test"), source="test.geojson",
                  roads=[RoadRow(name=name, geometry={"type": "LineString", "coordinates": coordinates})])


def test_basemap_holds_the_roads_in_the_box_within_the_callers_areas(registry: Any, users: Any) -> None:
    # given 望江路 across grid a1 (30.205 N) and nothing else
    _road("望江路", [[120.201, 30.2049], [120.209, 30.2049]])
    # when the grid worker of a1 asks for a box over their grid, then the road is there as a line
    mine = basemap_for_user(user=users.grid_worker_a1, bbox=(120.20, 30.20, 120.21, 30.21))
    assert names(mine, "road") == {"望江路"}
    road = next(f for f in mine["features"] if f["properties"]["layer"] == "road")
    assert road["geometry"]["type"] == "LineString"
    # a box beside the road holds no road
    assert names(basemap_for_user(user=users.grid_worker_a1, bbox=(120.20, 30.207, 120.21, 30.21)), "road") == set()
    # the grid worker of b1 asks for the same box: the road lies outside b1's areas, so nothing
    assert names(basemap_for_user(user=users.grid_worker_b1, bbox=(120.20, 30.20, 120.21, 30.21)), "road") == set()
    # and without a box there are outlines only
    assert names(basemap_for_user(user=users.grid_worker_a1), "road") == set()
    # a user who may not read the registry gets no road either
    assert basemap_for_user(user=users.auditor, bbox=BOX_ALL)["features"] == []


def test_basemap_gives_a_buildings_outline_when_it_has_one(registry: Any, users: Any) -> None:
    # given an outline on 江景苑3幢 only
    outline = {"type": "Polygon", "coordinates": [[[120.2049, 30.2049], [120.2051, 30.2049], [120.2051, 30.2051],
                                                   [120.2049, 30.2051], [120.2049, 30.2049]]]}
    Building.objects.filter(pk=registry.building_a.pk).update(footprint=outline)
    answer = basemap_for_user(user=users.street, bbox=BOX_ALL)
    outlines = {f["properties"]["name"]: f["properties"]["footprint"]
                for f in answer["features"] if f["properties"]["layer"] == "building"}
    # then the building carries it and keeps its point; the other building has none
    assert outlines == {"江景苑3幢": outline, "金色新村12幢": None}
