"""The cockpit's case figures in one rollup statement give what the three statistics calls
gave (the day, the month, the 12-month trend), for each level of user; another street's
operator gets nothing of this street."""

from __future__ import annotations

import random
from datetime import date, timedelta
from unittest import mock

import pytest

from conftest import Tree, Users, _area, make_user, square
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import User
from linli.cases import stats
from linli.cases.stats import case_figures_for_user, case_statistics_for_user
from linli.cases.tests.test_stats import at, new_case, random_history
from linli.cockpit import selectors
from linli.geo.choices import AreaLevel

pytestmark = pytest.mark.django_db


def _rate_text(value: object) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]


def _old_figures(user: User, today: date) -> dict[str, object]:
    """The cockpit's case figures as computed before (cf06489): three statistics calls."""
    day = case_statistics_for_user(user=user, group_by="month", start=today, end=today)
    month = case_statistics_for_user(user=user, group_by="month", start=today.replace(day=1), end=today)
    first = today.replace(day=1)
    for _step in range(selectors.TREND_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    trend = case_statistics_for_user(user=user, group_by="month", start=first, end=today)
    return {
        "kpi-intake-today": day.total.counters.reported if day.total else 0,
        "kpi-on-time": _rate_text(month.total.values.get("on_time_handle_rate") if month.total else None),
        "months": [r.label for r in trend.rows],
        "reported": [r.counters.reported for r in trend.rows],
        "closed": [r.counters.closed for r in trend.rows],
    }


def _new_figures(user: User, today: date) -> dict[str, object]:
    data = selectors.cockpit_for_user(user=user, today=today)
    figures = {testid: value for _label, value, testid in data.figures}
    return {"kpi-intake-today": figures["kpi-intake-today"], "kpi-on-time": figures["kpi-on-time"],
            **data.trend}


@pytest.fixture
def history(tree: Tree) -> Tree:
    random_history(random.Random(21), tree, 40)
    # cases on the days compared below, so that "today" has an intake to count
    for day in (date(2026, 3, 15), date(2026, 3, 31), date(2026, 2, 28)):
        new_case(grid=tree.grid_a1, created_at=at(day.year, day.month, day.day, 9))
        new_case(grid=tree.grid_b1, created_at=at(day.year, day.month, day.day, 23, 55))
    return tree


DAYS = [date(2026, 3, 15), date(2026, 3, 31), date(2026, 2, 28), date(2026, 1, 1), date(2026, 4, 2),
        date(2027, 2, 10)]


@pytest.mark.parametrize("who", ["street", "community_a", "community_b", "district_admin"])
def test_the_figures_are_those_of_the_three_statistics_calls(history: Tree, users: Users, who: str) -> None:
    user: User = getattr(users, who)
    seen_intake = False
    for today in DAYS:
        old, new = _old_figures(user, today), _new_figures(user, today)
        assert new == old, today
        seen_intake = seen_intake or bool(new["kpi-intake-today"])
    # the comparison is not of empty tables: these users have cases and intake on some day
    assert seen_intake
    assert any(_new_figures(user, date(2026, 3, 31))["reported"])  # type: ignore[arg-type]


def test_the_day_month_and_trend_are_one_statement(history: Tree, users: Users) -> None:
    case_figures_for_user(user=users.street, today=date(2026, 3, 15), first=date(2025, 4, 1))  # warm caches
    # (SQLite's statistics statements bypass Django's cursor: counted at ``stats._read``)
    with mock.patch.object(stats, "_read", wraps=stats._read) as read:
        figures = case_figures_for_user(user=users.street, today=date(2026, 3, 15), first=date(2025, 4, 1))
    assert read.call_count == 1
    old = _old_figures(users.street, date(2026, 3, 15))
    assert figures.today.reported == old["kpi-intake-today"]
    assert figures.today.reported >= 2
    assert [key for key, _c in figures.months] == ["2026-01", "2026-02", "2026-03"]


def test_another_streets_operator_gets_nothing_of_this_street(history: Tree, users: Users) -> None:
    other_street = _area(AreaLevel.STREET, "330102009", "清波街道", history.district)
    other_community = _area(AreaLevel.COMMUNITY, "330102009001", "清波社区", other_street)
    other_grid = _area(AreaLevel.GRID, "330102009001001", "清波社区第1网格", other_community, square(120.30, 30.20))
    other = make_user("street_qb", Role.STREET_STAFF, (other_street, AssignmentKind.MEMBER))
    today = date(2026, 3, 15)
    before = case_figures_for_user(user=users.street, today=today, first=date(2025, 4, 1))
    grid_before = case_figures_for_user(user=users.grid_worker_a1, today=today, first=date(2025, 4, 1))
    assert _new_figures(other, today)["months"] == []  # nothing of this street
    new_case(grid=other_grid, created_at=at(2026, 3, 15, 11))
    theirs = _new_figures(other, today)
    assert theirs == _old_figures(other, today)
    assert theirs["kpi-intake-today"] == 1  # their own case only, not this street's two
    assert theirs["reported"] == [1]
    # and this street's figures (and a grid worker's: the selector is shared) do not count it
    assert case_figures_for_user(user=users.street, today=today, first=date(2025, 4, 1)) == before
    assert case_figures_for_user(user=users.grid_worker_a1, today=today, first=date(2025, 4, 1)) == grid_before
    assert before.today.reported > grid_before.today.reported >= 1
    assert case_figures_for_user(user=users.auditor, today=today, first=date(2025, 4, 1)).months == []
