"""Pure rules of the phone app."""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.core.calendar import SHANGHAI
from linli.field import workflow
from linli.geo.measure import distance_m


def test_today_orders_tier_first_then_the_earliest_deadline_then_none() -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late = datetime(2026, 1, 2, tzinfo=UTC)
    items = [
        workflow.Urgency(workflow.TIER_CASE, None, 1),
        workflow.Urgency(workflow.TIER_CASE, late, 2),
        workflow.Urgency(workflow.TIER_ALARM, late, 3),
        workflow.Urgency(workflow.TIER_CASE, early, 4),
    ]
    assert [u.tie for u in sorted(items, key=lambda u: u.key())] == [3, 4, 2, 1]


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("0123456789abcdef0123456789abcdef", True),
        ("short", False),
        ("has space in it", False),
        ("x" * 65, False),
        ("", False),
        ("abc-def_1234", True),
    ],
)
def test_key_shape(key: str, valid: bool) -> None:
    assert workflow.key_valid(key) is valid


def test_conflict_codes_are_what_others_did_not_what_the_worker_typed() -> None:
    assert workflow.is_conflict("conflict")
    assert workflow.is_conflict("not_assignee")
    assert not workflow.is_conflict("invalid")


def test_correction_fields_per_target() -> None:
    assert workflow.correction_field_allowed("person", "phone")
    assert not workflow.correction_field_allowed("person", "password")
    assert not workflow.correction_field_allowed("car", "other")


def test_track_keeps_plausible_points_in_time_order_and_measures_it() -> None:
    points = workflow.track_clean(
        [[120.2, 30.2, 20], ["x", 1, 2], [500, 30, 3], [120.2, 30.201, 10], [1, 2]]
    )
    assert points == [[120.2, 30.201, 10], [120.2, 30.2, 20]]
    assert 105 < workflow.track_length_m(points) < 118  # 0.001° of latitude is about 111 m


# 1 m north is 1 / 111320 of a degree of latitude; east is that over cos(latitude).
LAT0 = 30.2
M_LAT = 1 / 111_320
M_LON = M_LAT / math.cos(math.radians(LAT0))


def test_a_building_within_fifty_metres_of_a_track_point_is_covered_and_one_beyond_is_not() -> None:
    # given three buildings 45 m, 55 m and 300 m east of the only track point
    point = [120.2, LAT0, 1]
    buildings = [
        (120.2 + 45 * M_LON, LAT0),
        (120.2 + 55 * M_LON, LAT0),
        (120.2 + 300 * M_LON, LAT0),
    ]
    # then only the first counts
    assert workflow.buildings_covered(buildings, [point]) == 1
    # and a wider radius takes the second too
    assert workflow.buildings_covered(buildings, [point], radius_m=60) == 2


def test_coverage_looks_across_cell_borders_diagonally() -> None:
    # a point and a building 30 m apart on a diagonal, in different 50 m cells
    building = (120.2, LAT0)
    point = [120.2 - 21 * M_LON, LAT0 - 21 * M_LAT, 1]
    assert workflow.buildings_covered([building], [point]) == 1


def test_coverage_of_nothing_is_nothing() -> None:
    assert workflow.buildings_covered([], [[120.2, LAT0, 1]]) == 0
    assert workflow.buildings_covered([(120.2, LAT0)], []) == 0
    assert workflow.coverage_share(0, 0) is None
    assert workflow.coverage_share(1, 4) == 0.25


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-400, 400), st.integers(-400, 400)), min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(-400, 400), st.integers(-400, 400)), max_size=60),
)
def test_coverage_agrees_with_checking_every_pair_by_great_circle(
    building_offsets: list[tuple[int, int]], point_offsets: list[tuple[int, int]]
) -> None:
    # given buildings and points within a few hundred metres (offsets in metres)
    buildings = [(120.2 + x * M_LON, LAT0 + y * M_LAT) for x, y in building_offsets]
    points = [[120.2 + x * M_LON, LAT0 + y * M_LAT, 1] for x, y in point_offsets]
    # when counted by cells, and by every pair with the great-circle distance
    fast = workflow.buildings_covered(buildings, points)
    slow = [
        min((distance_m(b[0], b[1], p[0], p[1]) for p in points), default=math.inf)
        for b in buildings
    ]
    # then they agree, except for a building within a metre of the 50 m edge (plane vs sphere,
    # and points a metre apart counted once)
    assert sum(d <= 49 for d in slow) <= fast <= sum(d <= 51 for d in slow)


def test_coverage_of_a_long_track_over_many_buildings_is_fast() -> None:
    # given a day's track of 5000 points along a 5 km street and 2000 buildings beside it
    points = [[120.2 + i * M_LON, LAT0, i] for i in range(5000)]
    buildings = [(120.2 + (i * 2.5) * M_LON, LAT0 + (i % 7) * 20 * M_LAT) for i in range(2000)]
    started = time.perf_counter()
    covered = workflow.buildings_covered(buildings, points)
    elapsed = time.perf_counter() - started
    # then buildings up to 40 m off the street are covered (rows 0-2 of every 7), quickly
    assert covered == sum(1 for i in range(2000) if (i % 7) * 20 <= 50)
    assert elapsed < 1.0  # every pair would be 10 million distances


def test_a_track_becomes_a_line_without_times_or_repeats() -> None:
    track = [[120.2, 30.2, 1], [120.2, 30.2, 16], [120.201, 30.2, 31]]
    assert workflow.track_line(track) == [[120.2, 30.2], [120.201, 30.2]]


def test_the_track_window_starts_at_midnight_in_shanghai_days_ago() -> None:
    start = workflow.track_window_start(date(2026, 12, 7), 7)
    assert start == datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert workflow.track_window_start(date(2026, 12, 7), 1).day == 7
