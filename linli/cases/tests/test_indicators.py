"""The indicator formulas on hand-made counters (pure, no database)."""

from __future__ import annotations

import pytest

from linli.cases.indicators import (
    COUNTER_NAMES,
    INDICATOR_KEYS,
    Counters,
    compute,
    delta,
    point_delta,
)


def test_every_indicator_of_the_issue_is_computed_in_order() -> None:
    # given the issue's list of indicators
    expected = ["上报数", "立案数", "派遣数", "准确派遣率", "处置数", "按期处置率", "结案数", "结案率",
                "按期结案率", "返工率", "超期案件数", "平均处置时长(小时)", "自行处置数", "主动发现率", "满意率"]
    # when all indicators of empty counters are computed
    from linli.cases.indicators import INDICATORS
    values = compute(Counters())
    # then every one is there, in the issue's order
    assert [str(label) for _key, label, _kind in INDICATORS] == expected
    assert list(values) == list(INDICATOR_KEYS)


def test_rates_follow_their_formulas() -> None:
    # given counters of a small month
    c = Counters(
        reported=20, proactive=11, registered=18, dispatched=10, dispatched_accurate=9,
        handled=12, handle_timed=10, handle_seconds=10 * 5 * 3600, on_spot=2,
        should_handle=8, handled_on_time=6, overdue=3,
        should_close=16, closed_in_cohort=12, closed_on_time=10, rework=2,
        closed=13, rated=5, satisfied=4,
    )
    # when the indicators are computed
    values = compute(c)
    # then each is its numerator over its denominator
    assert values["accurate_dispatch_rate"] == pytest.approx(9 / 10)
    assert values["on_time_handle_rate"] == pytest.approx(6 / 8)
    assert values["close_rate"] == pytest.approx(12 / 16)
    assert values["on_time_close_rate"] == pytest.approx(10 / 16)
    assert values["rework_rate"] == pytest.approx(2 / 16)
    assert values["proactive_rate"] == pytest.approx(11 / 20)
    assert values["satisfaction_rate"] == pytest.approx(4 / 5)
    assert values["average_handle_hours"] == pytest.approx(5.0)
    # and the counts are the counters themselves
    assert (values["reported"], values["registered"], values["dispatched"], values["handled"],
            values["closed"], values["overdue"], values["on_spot"]) == (20, 18, 10, 12, 13, 3, 2)


def test_rates_with_nothing_to_divide_by_are_none_not_zero() -> None:
    # given counters with cases reported but none dispatched, closed or rated
    c = Counters(reported=3)
    # when computed
    values = compute(c)
    # then rates without a denominator are unknown
    for key in ("accurate_dispatch_rate", "on_time_handle_rate", "close_rate", "on_time_close_rate",
                "rework_rate", "satisfaction_rate", "average_handle_hours"):
        assert values[key] is None, key
    assert values["proactive_rate"] == 0


def test_counters_add_field_by_field() -> None:
    # given two sets of counters
    a = Counters.of(list(range(len(COUNTER_NAMES))))
    b = Counters.of([1] * len(COUNTER_NAMES))
    # when added
    total = a + b
    # then each field is the sum
    assert total.as_tuple() == tuple(i + 1 for i in range(len(COUNTER_NAMES)))


def test_sum_of_no_rows_reads_as_zero() -> None:
    assert Counters.of([None] * len(COUNTER_NAMES)) == Counters()


def test_count_change_is_relative_and_rate_change_is_in_points() -> None:
    assert delta(125, 100) == pytest.approx(0.25)
    assert delta(5, 0) is None
    assert delta(None, 3) is None
    assert point_delta(0.9, 0.85) == pytest.approx(0.05)
    assert point_delta(0.9, None) is None
