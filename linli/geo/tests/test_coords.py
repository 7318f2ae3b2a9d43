"""WGS-84 ⇄ GCJ-02: reference values, round trips, points outside China, numpy variants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.geo.coords import (
    gcj02_to_wgs84,
    gcj02_to_wgs84_array,
    wgs84_to_gcj02,
    wgs84_to_gcj02_array,
)


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance: plenty for sub-metre checks."""
    k = math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((a[0] - b[0]) * k, a[1] - b[1]) * 111_320.0


def test_tiananmen_is_shifted_as_published():
    # when
    lon, lat = wgs84_to_gcj02(116.391275, 39.906217)
    # then
    assert lon == pytest.approx(116.397519, abs=1e-5)
    assert lat == pytest.approx(39.907613, abs=1e-5)


def test_forward_transform_matches_a_widely_used_implementation():
    # given: wandergis/coordtransform's documented result for (116.404, 39.915)
    # when
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    # then
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)


def test_points_outside_china_are_unchanged():
    # when / then
    assert wgs84_to_gcj02(2.2945, 48.8584) == (2.2945, 48.8584)
    assert gcj02_to_wgs84(-74.0445, 40.6892) == (-74.0445, 40.6892)


china = st.tuples(st.floats(73.0, 135.0), st.floats(18.0, 53.0))


@settings(max_examples=300)
@given(china)
def test_inverse_recovers_the_wgs84_point_within_half_a_metre(point):
    # given
    gcj = wgs84_to_gcj02(*point)
    # when
    back = gcj02_to_wgs84(*gcj)
    # then
    assert metres_between(back, point) < 0.5
    assert metres_between(gcj, point) > 1.0  # the shift is real, so the test can fail


@settings(max_examples=50)
@given(st.lists(china, min_size=1, max_size=30))
def test_numpy_variants_agree_with_the_scalar_functions(points):
    # given
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    # when
    g_lon, g_lat = wgs84_to_gcj02_array(lons, lats)
    w_lon, w_lat = gcj02_to_wgs84_array(g_lon, g_lat)
    # then
    for i, point in enumerate(points):
        assert (g_lon[i], g_lat[i]) == pytest.approx(wgs84_to_gcj02(*point), abs=1e-12)
        assert (w_lon[i], w_lat[i]) == pytest.approx(gcj02_to_wgs84(g_lon[i], g_lat[i]), abs=1e-9)


def test_numpy_variants_leave_points_outside_china_alone():
    # when
    lon, lat = wgs84_to_gcj02_array(np.array([2.2945, 120.2]), np.array([48.8584, 30.25]))
    back_lon, back_lat = gcj02_to_wgs84_array(np.array([2.2945]), np.array([48.8584]))
    # then
    assert (lon[0], lat[0]) == (2.2945, 48.8584)
    assert lon[1] != 120.2
    assert (back_lon[0], back_lat[0]) == (2.2945, 48.8584)
