"""Distances and boxes for maps: pure functions, checked against known figures."""

from __future__ import annotations

import pytest

from linli.geo.measure import (
    bbox_around,
    bbox_contains,
    bbox_intersects,
    bbox_parse,
    distance_m,
    geometry_bbox,
)


def test_distance_of_a_thousandth_of_a_degree_of_latitude_is_about_111_m() -> None:
    assert distance_m(120.2, 30.2, 120.2, 30.201) == pytest.approx(111.2, abs=0.5)
    assert distance_m(120.2, 30.2, 120.2, 30.2) == 0.0


def test_box_around_a_point_holds_the_circle_and_not_much_more() -> None:
    west, south, east, north = bbox_around(120.2, 30.2, 100)
    # given the box's edges, when measured from the centre, then each is 100 m away
    assert distance_m(120.2, 30.2, 120.2, north) == pytest.approx(100, rel=0.01)
    assert distance_m(120.2, 30.2, east, 30.2) == pytest.approx(100, rel=0.01)
    assert bbox_contains((west, south, east, north), 120.2005, 30.2005)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("120.1,30.1,120.2,30.2", (120.1, 30.1, 120.2, 30.2)),
        ("120.1,30.1,120.2", None),
        ("120.2,30.1,120.1,30.2", None),  # west east of east
        ("a,30.1,120.2,30.2", None),
        ("nan,30.1,120.2,30.2", None),
        ("120.0,30.0,121.0,30.2", None),  # too wide
    ],
)
def test_bbox_parse_accepts_only_small_proper_boxes(text: str, expected: object) -> None:
    assert bbox_parse(text, max_side_deg=0.5) == expected


def test_geometry_bbox_of_polygons_and_empty_shapes() -> None:
    square = {"type": "Polygon", "coordinates": [[[1, 2], [3, 2], [3, 4], [1, 4], [1, 2]]]}
    multi = {
        "type": "MultiPolygon",
        "coordinates": [square["coordinates"], [[[5, 5], [6, 5], [6, 6], [5, 5]]]],
    }
    assert geometry_bbox(square) == (1, 2, 3, 4)
    assert geometry_bbox(multi) == (1, 2, 6, 6)
    assert geometry_bbox(None) is None
    assert geometry_bbox({"type": "Polygon", "coordinates": []}) is None
    assert bbox_intersects((0, 0, 2, 2), (1, 1, 3, 3))
    assert not bbox_intersects((0, 0, 1, 1), (2, 2, 3, 3))
