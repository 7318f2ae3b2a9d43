from datetime import date, datetime

import pytest

from linli.core.calendar import (
    SHANGHAI,
    add_working_days,
    deadline_in_working_days,
    deadline_in_working_hours,
    is_working_day,
    working_days_between,
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 9), True),  # ordinary Friday after the Golden Week
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 11, 23), True),  # Monday
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2027, 10, 1), False),  # beyond the package's data: fixed-date holiday
        (date(2027, 10, 4), True),  # beyond the package's data: an ordinary Monday
    ],
)
def test_is_working_day_follows_the_holiday_calendar(day, expected):
    assert is_working_day(day) is expected


def test_add_working_days_skips_the_golden_week():
    # given a Wednesday just before National Day 2026
    start = date(2026, 9, 30)
    # when three working days are added
    due = add_working_days(start, 3)
    # then the holiday week is skipped entirely
    assert due > date(2026, 10, 7)
    assert working_days_between(start, due) == 3


def test_add_working_days_over_a_weekend():
    assert add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 23)


def test_working_days_between_is_antisymmetric():
    a, b = date(2026, 3, 1), date(2026, 5, 20)
    assert working_days_between(a, b) == -working_days_between(b, a)


def test_deadline_in_working_days_ends_at_close_of_office():
    start = datetime(2026, 11, 20, 16, 0, tzinfo=SHANGHAI)  # Friday afternoon
    due = deadline_in_working_days(start, 2)
    assert (due.date(), due.hour, due.minute) == (date(2026, 11, 24), 17, 30)


def test_deadline_in_working_hours_carries_over_the_weekend():
    # given 2 office hours left on Friday at 16:30 there is one hour that day
    start = datetime(2026, 11, 20, 16, 30, tzinfo=SHANGHAI)
    # when a two-hour deadline is set
    due = deadline_in_working_hours(start, 2)
    # then the second hour falls on Monday morning
    assert due == datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)


def test_deadline_in_working_hours_starting_at_night_starts_next_morning():
    start = datetime(2026, 11, 23, 22, 0, tzinfo=SHANGHAI)
    assert deadline_in_working_hours(start, 1) == datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI)
