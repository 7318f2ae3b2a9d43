"""Statistics over any window: month, week and day rows composed (with signs) give exactly
what counting the cases themselves gives."""

from __future__ import annotations

import random
from collections import Counter as Tally
from collections import defaultdict
from datetime import date, timedelta

import pytest

from conftest import Tree, Users
from linli.cases import stats
from linli.cases.indicators import COUNTER_NAMES, Counters
from linli.cases.models import Case
from linli.cases.rollups import contributions, rollup_facts, rollup_rebuild, week_of
from linli.cases.stats import GROUP_BYS, case_statistics_for_user, read_plan
from linli.cases.stats_models import CaseRollupArea
from linli.cases.tests.test_stats import at, new_case, random_history, snapshot


def _periods(grain: str, first: date, last: date) -> list[date]:
    """The days a span of ``grain`` rows covers."""
    if grain == "m":
        stop = (last.replace(day=28) + timedelta(days=4)).replace(day=1)
    elif grain == "w":
        stop = last + timedelta(days=7)
    else:
        stop = last + timedelta(days=1)
    return [first + timedelta(days=i) for i in range((stop - first).days)]


def _rows(grain: str, first: date, last: date) -> int:
    if grain == "m":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - first).days // (7 if grain == "w" else 1) + 1


@pytest.mark.parametrize("seed", range(4))
def test_read_plan_of_a_random_window_counts_each_of_its_days_once(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(250):
        # given any window up to three years long
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(800))
        end = start + timedelta(days=rng.choice([0, 1, 6, 13, 44, 90, 400, 1000]) + rng.randrange(40))
        # when planned
        plan = read_plan(start, end)
        days: Tally[date] = Tally()
        for grain, first, last, sign in plan:
            assert grain in {"d", "w", "m"}
            if grain == "w":
                assert first.weekday() == 0
                assert last.weekday() == 0
            if grain == "m":
                assert first.day == 1
                assert last.day == 1
            for day in _periods(grain, first, last):
                days[day] += sign
        # then every day of the window counts once and no other day counts
        wanted = {start + timedelta(days=i) for i in range((end - start).days + 1)}
        assert {d for d, n in days.items() if n} == wanted
        assert set(days.values()) - {0} == {1}
        # and beyond its whole months it reads a handful of rows, never a month of days
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        assert sum(_rows(g, f, la) for g, f, la, _s in plan) <= months + 16


def test_plan_of_45_days_reads_weeks_and_few_days() -> None:
    # given 17 September – 31 October 2026 (a Thursday to a Saturday)
    plan = read_plan(date(2026, 9, 17), date(2026, 10, 31))
    # then it reads months and weeks and at most nine rows per area (day rows alone: 45)
    assert {g for g, *_rest in plan} >= {"m", "w"}
    assert sum(_rows(g, f, la) for g, f, la, _s in plan) <= 9


def _naive(group_by: str, start: date, end: date, tree: Tree) -> dict[str, Counters]:
    """Counters per group straight from the cases (each case's facts, its event days)."""
    parents = {tree.grid_a1.pk: tree.community_a.pk, tree.grid_a2.pk: tree.community_a.pk,
               tree.grid_b1.pk: tree.community_b.pk}
    sums: dict[str, list[int]] = defaultdict(lambda: [0] * len(COUNTER_NAMES))
    for case in Case.objects.select_related("category"):
        facts = rollup_facts(case)
        if facts.grid_id not in parents:
            continue
        for day, vector in contributions(facts).items():
            if not start <= day <= end:
                continue
            key = {
                "grid": str(facts.grid_id), "community": str(parents[facts.grid_id]), "street": str(tree.street.pk),
                "department": str(facts.department_id), "category": str(facts.major_id), "source": facts.source,
                "month": f"{day:%Y-%m}",
            }[group_by]
            sums[key] = [a + b for a, b in zip(sums[key], vector, strict=True)]
    return {k: Counters(*v) for k, v in sums.items() if any(v)}


@pytest.mark.parametrize(("seed", "many_areas"), [(11, 64), (12, 1)])
def test_statistics_of_random_windows_equal_counting_the_cases(
    users: Users, tree: Tree, seed: int, many_areas: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given cases moved through random transitions (events from January to about May),
    # read per area or (many_areas=1) by period as for a district's hundreds of grids
    monkeypatch.setattr(stats, "MANY_AREAS", many_areas)
    rng = random.Random(seed)
    random_history(rng, tree, 40)
    for _ in range(12):
        # when a random window is asked, grouped every way
        start = date(2025, 12, 20) + timedelta(days=rng.randrange(120))
        end = start + timedelta(days=rng.choice([0, 3, 9, 20, 44, 75]) + rng.randrange(10))
        for group_by in GROUP_BYS:
            table = case_statistics_for_user(user=users.district_admin, group_by=group_by, start=start, end=end)
            # then each group's counters are those of its cases' events in the window
            got = {row.key: row.counters for row in table.rows}
            assert got == _naive(group_by, start, end, tree), (group_by, start, end)


def test_week_rows_follow_changes_and_the_rebuild(tree: Tree) -> None:
    # given a case reported on Sunday 1 March 2026 and another on Monday 2 March
    new_case(grid=tree.grid_a1, created_at=at(2026, 3, 1, 23, 30))
    new_case(grid=tree.grid_a1, created_at=at(2026, 3, 2, 0, 30))
    # then they land in different ISO weeks (Monday 23 February and Monday 2 March)
    weeks = dict(CaseRollupArea.objects.filter(grain="w", dim="all", area_id=tree.grid_a1.pk)
                 .values_list("period", "reported"))
    assert weeks == {week_of(date(2026, 3, 1)): 1, date(2026, 3, 2): 1}
    assert week_of(date(2026, 3, 1)) == date(2026, 2, 23)
    # and a rebuild from March (which redoes the week of 23 February too) keeps them
    before = snapshot()
    rollup_rebuild(since=date(2026, 3, 15))
    assert snapshot() == before
