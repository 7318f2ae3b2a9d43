"""Pure rules: codes per level and parent, and what a usable boundary is."""

from __future__ import annotations

from typing import Any

import pytest

from linli.core.errors import ValidationFailed
from linli.geo.choices import AreaLevel
from linli.geo.workflow import (
    boundary_centroid,
    parse_level,
    validate_area_code,
    validate_boundary,
    validate_parent_level,
)


def ring(*points: tuple[object, object]) -> list[list[object]]:
    return [list(p) for p in points]


SQUARE: dict[str, Any] = {"type": "Polygon", "coordinates": [ring((120.2, 30.2), (120.21, 30.2), (120.21, 30.21), (120.2, 30.21), (120.2, 30.2))]}


@pytest.mark.parametrize(
    ("level", "code", "parent_level", "parent_code"),
    [
        (AreaLevel.DISTRICT, "330102", None, None),
        (AreaLevel.STREET, "330102001", AreaLevel.DISTRICT, "330102"),
        (AreaLevel.COMMUNITY, "330102001002", AreaLevel.STREET, "330102001"),
        (AreaLevel.ZONE, "330102001002901", AreaLevel.COMMUNITY, "330102001002"),
        (AreaLevel.GRID, "330102001002003", AreaLevel.COMMUNITY, "330102001002"),
        (AreaLevel.GRID, "330102001002004", AreaLevel.ZONE, "330102001002901"),
    ],
)
def test_codes_that_extend_their_parent_by_three_digits_are_accepted(level, code, parent_level, parent_code):
    # when
    accepted = validate_area_code(level=level, code=f" {code} ", parent_level=parent_level, parent_code=parent_code)
    # then
    assert accepted == code


@pytest.mark.parametrize(
    ("level", "code", "parent_level", "parent_code"),
    [
        (AreaLevel.DISTRICT, "33010", None, None),
        (AreaLevel.DISTRICT, "33010a", None, None),
        (AreaLevel.STREET, "330103001", AreaLevel.DISTRICT, "330102"),
        (AreaLevel.STREET, "3301020001", AreaLevel.DISTRICT, "330102"),
        (AreaLevel.COMMUNITY, "330102001000", AreaLevel.STREET, "330102001"),
        (AreaLevel.GRID, "330102001002901003", AreaLevel.ZONE, "330102001002901"),
        (AreaLevel.GRID, "330102001003004", AreaLevel.ZONE, "330102001002901"),
        (AreaLevel.GRID, "３３０１０２００１００２００４", AreaLevel.COMMUNITY, "330102001002"),
    ],
)
def test_codes_that_do_not_fit_their_level_or_parent_are_refused(level, code, parent_level, parent_code):
    # when
    with pytest.raises(ValidationFailed) as refused:
        validate_area_code(level=level, code=code, parent_level=parent_level, parent_code=parent_code)
    # then
    assert refused.value.field == "code"


def test_a_grid_may_sit_under_a_community_or_a_zone_but_not_a_street():
    # when / then
    validate_parent_level(level=AreaLevel.GRID, parent_level=AreaLevel.COMMUNITY)
    validate_parent_level(level=AreaLevel.GRID, parent_level=AreaLevel.ZONE)
    with pytest.raises(ValidationFailed) as refused:
        validate_parent_level(level=AreaLevel.GRID, parent_level=AreaLevel.STREET)
    assert refused.value.field == "parent"


def test_only_a_district_stands_without_a_parent():
    # when / then
    validate_parent_level(level=AreaLevel.DISTRICT, parent_level=None)
    with pytest.raises(ValidationFailed) as refused:
        validate_parent_level(level=AreaLevel.STREET, parent_level=None)
    assert refused.value.field == "parent"
    with pytest.raises(ValidationFailed):
        validate_parent_level(level=AreaLevel.DISTRICT, parent_level=AreaLevel.DISTRICT)


def test_unknown_levels_are_refused():
    # when / then
    assert parse_level(5) is AreaLevel.GRID
    for bad in (0, 9, "x", None):
        with pytest.raises(ValidationFailed) as refused:
            parse_level(bad)
        assert refused.value.field == "level"


def test_a_valid_polygon_is_returned_clean_and_two_dimensional():
    # given
    with_altitude = {"type": "Polygon", "coordinates": [[[*p, 12.0] for p in SQUARE["coordinates"][0]]]}
    # when
    clean = validate_boundary(with_altitude)
    # then
    assert clean == SQUARE


def test_a_polygon_with_a_hole_and_a_multipolygon_are_accepted():
    # given
    hole = ring((120.202, 30.202), (120.205, 30.202), (120.205, 30.205), (120.202, 30.205), (120.202, 30.202))
    holed = {"type": "Polygon", "coordinates": [SQUARE["coordinates"][0], hole]}
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"], [[[x + 0.1, y] for x, y in SQUARE["coordinates"][0]]]]}
    # when / then
    assert validate_boundary(holed)["type"] == "Polygon"
    assert len(validate_boundary(multi)["coordinates"]) == 2


@pytest.mark.parametrize(
    ("boundary", "reason"),
    [
        ("POLYGON((0 0, 1 0, 1 1, 0 0))", "GeoJSON"),
        ({"type": "Point", "coordinates": [120.2, 30.2]}, "Polygon"),
        ({"type": "Polygon", "coordinates": [ring((120.2, 30.2), (120.21, 30.2), (120.21, 30.21), (120.2, 30.21))]}, "闭合"),
        ({"type": "Polygon", "coordinates": [ring((120.2, 30.2), (120.21, 30.2), (120.2, 30.2))]}, "4"),
        ({"type": "Polygon", "coordinates": [ring((2.29, 48.85), (2.30, 48.85), (2.30, 48.86), (2.29, 48.85))]}, "中国"),
        ({"type": "Polygon", "coordinates": [ring((120.2, 30.2), ("e", 30.2), (120.21, 30.21), (120.2, 30.2))]}, "非数字"),
        ({"type": "Polygon", "coordinates": [ring((120.2, 30.2), (120.21, 30.21), (120.21, 30.2), (120.2, 30.21), (120.2, 30.2))]}, "Self-intersection"),
        ({"type": "Polygon", "coordinates": []}, "外环"),
        ({"type": "MultiPolygon", "coordinates": []}, "多边形"),
    ],
)
def test_bad_boundaries_are_refused_naming_the_boundary_field(boundary, reason):
    # when
    with pytest.raises(ValidationFailed) as refused:
        validate_boundary(boundary)
    # then
    assert refused.value.field == "boundary"
    assert reason in refused.value.message


def test_the_centroid_of_a_concave_boundary_lies_inside_it():
    # given: a U shape whose plain centroid falls in the notch
    u_shape = {"type": "Polygon", "coordinates": [ring(
        (120.0, 30.0), (120.03, 30.0), (120.03, 30.03), (120.02, 30.03), (120.02, 30.01),
        (120.01, 30.01), (120.01, 30.03), (120.0, 30.03), (120.0, 30.0),
    )]}
    # when
    lon, lat = boundary_centroid(u_shape)
    # then
    assert not (120.01 < lon < 120.02 and lat > 30.01)
    assert boundary_centroid(SQUARE) == pytest.approx((120.205, 30.205))
