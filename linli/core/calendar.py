"""Working days and working hours under the Chinese public-holiday calendar.

Legal time limits (cases, service items) count working days: weekends and public holidays
are off, and the make-up working Saturdays/Sundays (调休) are on. The calendar comes from
the maintained ``chinese_calendar`` package, which the State Council's yearly notice
updates. For a year the package does not know yet we fall back to weekends plus the
fixed-date holidays and log a warning once, rather than stop the clock.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Office hours used for deadlines counted in working hours.
WORKDAY_START = time(8, 30)
WORKDAY_END = time(17, 30)
_FIXED_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}


@lru_cache(maxsize=64)
def calendar_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        logger.warning("holiday calendar has no data for %s: counting weekends only", year)
        return False
    return True


@lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    if calendar_covers(day.year):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when end is before start."""
    if end < start:
        return -working_days_between(end, start)
    return sum(1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n)))


def deadline_in_working_days(start: datetime, days: int) -> datetime:
    """End of office hours, Shanghai time, on the ``days``-th working day after ``start``."""
    local = start.astimezone(SHANGHAI)
    due_day = add_working_days(local.date(), days)
    return datetime.combine(due_day, WORKDAY_END, tzinfo=SHANGHAI)


def _next_office_moment(moment: datetime) -> datetime:
    """``moment`` if inside office hours of a working day, else the next opening."""
    local = moment.astimezone(SHANGHAI)
    day = local.date()
    if is_working_day(day) and local.time() < WORKDAY_END:
        return max(local, datetime.combine(day, WORKDAY_START, tzinfo=SHANGHAI))
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, WORKDAY_START, tzinfo=SHANGHAI)


def deadline_in_working_hours(start: datetime, hours: float) -> datetime:
    """``hours`` of office time after ``start`` (08:30–17:30 on working days)."""
    remaining = timedelta(hours=hours)
    current = _next_office_moment(start)
    while True:
        day_end = datetime.combine(current.date(), WORKDAY_END, tzinfo=SHANGHAI)
        available = day_end - current
        if remaining <= available:
            return current + remaining
        remaining -= available
        current = _next_office_moment(day_end)
