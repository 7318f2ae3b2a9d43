"""Point → grid locator: interiors, shared edges, vertices, holes, outside, batch = single."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.geo.locator import (
    STATUS_BOUNDARY,
    STATUS_INSIDE,
    STATUS_OUTSIDE,
    GridLocator,
    Location,
    LocationStatus,
)
from linli.geo.tessellation import jittered_lattice


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


# Two unit-ish grids side by side (shared edge x=120.01), a grid with a hole, and a
# two-part MultiPolygon. Ids deliberately do not follow code order.
LEFT = (11, "330102001001002", rect(120.00, 30.00, 120.01, 30.01))
RIGHT = (12, "330102001001001", rect(120.01, 30.00, 120.02, 30.01))
HOLED = (13, "330102001001003", {
    "type": "Polygon",
    "coordinates": [
        [[120.03, 30.00], [120.05, 30.00], [120.05, 30.02], [120.03, 30.02], [120.03, 30.00]],
        [[120.035, 30.005], [120.045, 30.005], [120.045, 30.015], [120.035, 30.015], [120.035, 30.005]],
    ],
})
MULTI = (14, "330102001001004", {
    "type": "MultiPolygon",
    "coordinates": [
        [[[120.06, 30.00], [120.07, 30.00], [120.07, 30.01], [120.06, 30.01], [120.06, 30.00]]],
        [[[120.08, 30.00], [120.09, 30.00], [120.09, 30.01], [120.08, 30.01], [120.08, 30.00]]],
    ],
})


@pytest.fixture(scope="module")
def locator() -> GridLocator:
    return GridLocator([LEFT, RIGHT, HOLED, MULTI])


def reference(grids: list[tuple[int, str, dict[str, Any]]], lon: float, lat: float) -> tuple[int, int]:
    """Brute force over every polygon in code order: interior first, then boundary."""
    ordered = sorted(grids, key=lambda g: g[1])
    shapes = [shapely.geometry.shape(g[2]) for g in ordered]
    for (gid, _code, _geo), shape in zip(ordered, shapes, strict=True):
        if shapely.contains_xy(shape, lon, lat):
            return gid, STATUS_INSIDE
    for (gid, _code, _geo), shape in zip(ordered, shapes, strict=True):
        if shapely.intersects_xy(shape, lon, lat):
            return gid, STATUS_BOUNDARY
    return -1, STATUS_OUTSIDE


def test_point_in_the_interior_is_inside_its_grid(locator):
    # when
    found = locator.locate(120.005, 30.005)
    # then
    assert found == Location(11, LocationStatus.INSIDE)


def test_point_on_a_shared_edge_goes_to_the_grid_with_the_smallest_code(locator):
    # given: the edge x=120.01 is shared by LEFT (…002) and RIGHT (…001)
    # when
    found = locator.locate(120.01, 30.005)
    # then
    assert found == Location(12, LocationStatus.BOUNDARY)


def test_point_on_a_shared_vertex_is_boundary_of_the_smallest_code(locator):
    # when
    found = locator.locate(120.01, 30.01)
    # then
    assert found == Location(12, LocationStatus.BOUNDARY)


def test_point_on_an_outer_edge_is_boundary_of_that_grid(locator):
    # when
    west = locator.locate(120.00, 30.003)
    corner = locator.locate(120.00, 30.00)
    # then
    assert west == Location(11, LocationStatus.BOUNDARY)
    assert corner == Location(11, LocationStatus.BOUNDARY)


def test_point_outside_every_grid_is_outside_without_a_guess(locator):
    # when
    between = locator.locate(120.025, 30.005)  # the gap between RIGHT and HOLED
    far = locator.locate(116.39, 39.9)
    # then
    assert between == Location(None, LocationStatus.OUTSIDE)
    assert far.grid_id is None
    assert far.status is LocationStatus.OUTSIDE


def test_point_in_a_hole_is_outside_and_on_the_hole_edge_is_boundary(locator):
    # when
    in_hole = locator.locate(120.04, 30.01)
    on_hole_edge = locator.locate(120.035, 30.01)
    in_ring = locator.locate(120.032, 30.01)
    # then
    assert in_hole.status is LocationStatus.OUTSIDE
    assert on_hole_edge == Location(13, LocationStatus.BOUNDARY)
    assert in_ring == Location(13, LocationStatus.INSIDE)


def test_both_parts_of_a_multipolygon_belong_to_the_grid_but_the_gap_does_not(locator):
    # when
    first, second = locator.locate(120.065, 30.005), locator.locate(120.085, 30.005)
    gap = locator.locate(120.075, 30.005)
    # then
    assert first == second == Location(14, LocationStatus.INSIDE)
    assert gap.status is LocationStatus.OUTSIDE


def test_nan_coordinates_are_outside(locator):
    # when
    single = locator.locate(float("nan"), 30.005)
    ids, status = locator.locate_many(np.array([np.nan, 120.005]), np.array([30.005, np.nan]))
    # then
    assert single.status is LocationStatus.OUTSIDE
    assert ids.tolist() == [-1, -1]
    assert status.tolist() == [STATUS_OUTSIDE, STATUS_OUTSIDE]


def test_batch_reports_ids_and_status_codes(locator):
    # given
    lons = np.array([120.005, 120.01, 120.025, 120.04, 120.085])
    lats = np.array([30.005, 30.005, 30.005, 30.01, 30.005])
    # when
    ids, status = locator.locate_many(lons, lats)
    # then
    assert ids.dtype == np.int64
    assert status.dtype == np.int8
    assert ids.tolist() == [11, 12, -1, -1, 14]
    assert status.tolist() == [STATUS_INSIDE, STATUS_BOUNDARY, STATUS_OUTSIDE, STATUS_OUTSIDE, STATUS_INSIDE]


def test_overlapping_grids_give_the_interior_to_the_smallest_code():
    # given: a small grid with a larger code sits entirely inside a big one
    big = (1, "330102001001001", rect(120.0, 30.0, 120.1, 30.1))
    small = (2, "330102001001009", rect(120.04, 30.04, 120.05, 30.05))
    locator = GridLocator([small, big])
    # when
    on_small_edge = locator.locate(120.04, 30.045)
    inside_both = locator.locate(120.045, 30.045)
    # then: the point on the small grid's edge is inside the big one
    assert on_small_edge == Location(1, LocationStatus.INSIDE)
    assert inside_both == Location(1, LocationStatus.INSIDE)


def test_a_locator_without_grids_finds_nothing():
    # given
    locator = GridLocator([])
    # when
    single = locator.locate(120.0, 30.0)
    ids, status = locator.locate_many(np.array([120.0]), np.array([30.0]))
    # then
    assert single.status is LocationStatus.OUTSIDE
    assert ids.tolist() == [-1]
    assert status.tolist() == [STATUS_OUTSIDE]


def test_nearest_returns_the_closest_grid_within_the_distance_only(locator):
    # given: 0.001° of latitude is about 111 m south of LEFT
    lon, lat = 120.005, 29.999
    # when
    near = locator.nearest(lon, lat, max_distance_m=150)
    too_far = locator.nearest(lon, lat, max_distance_m=80)
    inside = locator.nearest(120.005, 30.005, max_distance_m=0)
    # then
    assert near == 11
    assert too_far is None
    assert inside == 11


# --- irregular polygons against brute force ---------------------------------------------------

LATTICE = jittered_lattice(count=40, size_m=2000, wiggle_points=2, seed=3)
LATTICE_LOCATOR = GridLocator(LATTICE, max_cells=4096)  # coarse: many points hit mixed cells
_shapes = [shapely.geometry.shape(g[2]) for g in LATTICE]
BOUNDS = shapely.total_bounds(_shapes)
VERTICES = shapely.get_coordinates(_shapes)
MIDPOINTS = (VERTICES[:-1] + VERTICES[1:]) / 2


def test_every_vertex_and_edge_midpoint_matches_brute_force():
    # given: points exactly on the boundaries of irregular grids, and a few off them
    pts = np.vstack([VERTICES, MIDPOINTS])
    # when
    ids, status = LATTICE_LOCATOR.locate_many(pts[:, 0], pts[:, 1])
    # then
    expected = [reference(LATTICE, x, y) for x, y in pts.tolist()]
    assert list(zip(ids.tolist(), status.tolist(), strict=True)) == expected
    assert sum(1 for _gid, s in expected if s == STATUS_BOUNDARY) > len(VERTICES) // 2


points_in_box = st.tuples(
    st.floats(BOUNDS[0] - 0.002, BOUNDS[2] + 0.002, allow_nan=False),
    st.floats(BOUNDS[1] - 0.002, BOUNDS[3] + 0.002, allow_nan=False),
)
on_boundary = st.integers(0, len(VERTICES) - 2).flatmap(
    lambda i: st.sampled_from([tuple(VERTICES[i]), tuple(MIDPOINTS[i])])
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(points_in_box, on_boundary), min_size=1, max_size=40))
def test_batch_equals_single_equals_brute_force(points):
    # given
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    # when
    ids, status = LATTICE_LOCATOR.locate_many(lons, lats)
    singles = [LATTICE_LOCATOR.locate(x, y) for x, y in points]
    # then
    codes = {LocationStatus.INSIDE: STATUS_INSIDE, LocationStatus.BOUNDARY: STATUS_BOUNDARY,
             LocationStatus.OUTSIDE: STATUS_OUTSIDE}
    as_pairs = [(-1 if s.grid_id is None else s.grid_id, codes[s.status]) for s in singles]
    assert list(zip(ids.tolist(), status.tolist(), strict=True)) == as_pairs
    assert as_pairs == [reference(LATTICE, x, y) for x, y in points]


def test_resolution_does_not_change_answers():
    # given: the same grids rasterised coarse and fine
    rng = np.random.default_rng(5)
    lons = rng.uniform(BOUNDS[0] - 0.001, BOUNDS[2] + 0.001, 20_000)
    lats = rng.uniform(BOUNDS[1] - 0.001, BOUNDS[3] + 0.001, 20_000)
    fine = GridLocator(LATTICE, max_cells=1 << 20)
    # when
    coarse_answer = LATTICE_LOCATOR.locate_many(lons, lats)
    fine_answer = fine.locate_many(lons, lats)
    # then
    assert np.array_equal(coarse_answer[0], fine_answer[0])
    assert np.array_equal(coarse_answer[1], fine_answer[1])
