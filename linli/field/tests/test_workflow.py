"""Pure rules of the phone app."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linli.field import workflow


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
