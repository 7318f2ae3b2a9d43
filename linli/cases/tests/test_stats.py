"""Statistics: rollups kept current, rebuilt equal, scoped, compared, exported.

The cases here are written directly (the services are another helper's work): each change
goes through ``rollup_tracking`` exactly as ``case_transition`` does, so the rollups see
the same sequence of facts as in production.
"""

from __future__ import annotations

import io
import itertools
import random
import zipfile
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command

from conftest import Tree, Users
from linli.accounts.models import Department
from linli.cases.choices import CaseAction, CaseSource, CaseStatus
from linli.cases.export import case_statistics_xlsx
from linli.cases.indicators import COUNTER_NAMES
from linli.cases.models import Case, CaseEvent, Category
from linli.cases.rollups import rollup_apply, rollup_rebuild, rollup_tracking
from linli.cases.stats import case_statistics_for_user, comparison_window, split_period
from linli.cases.stats_models import CaseRollup, CaseRollupArea
from linli.core.calendar import SHANGHAI
from linli.core.errors import ValidationFailed

_numbers = itertools.count(1)


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def minor(code: str = "0101") -> Category:
    return Category.objects.get(code=code)


def new_case(*, grid: Any, created_at: datetime, source: str = CaseSource.PATROL,
             category: Category | None = None, **fields: Any) -> Case:
    """A case reported at ``created_at`` with its rollups added."""
    case = Case.objects.create(
        number=f"T-{next(_numbers):06d}", source=source, category=category or minor(),
        description="测试", grid=grid, **fields,
    )
    Case.objects.filter(pk=case.pk).update(created_at=created_at)
    case.refresh_from_db()
    rollup_apply(case=case, before=None)
    return case


def change(case: Case, action: str = "", **fields: Any) -> None:
    """One tracked change of a case, with its timeline entry for the actions that matter."""
    with rollup_tracking(case, action=action):
        for name, value in fields.items():
            setattr(case, name, value)
        case.save()
        if action:
            CaseEvent.objects.create(case=case, action=action, actor_label="test", at=case.updated_at)


def snapshot() -> dict[str, dict[tuple[Any, ...], tuple[int, ...]]]:
    """Both tables as {key: counters}, leaving out rows that sum to nothing."""
    days = {
        (r.day, r.grid_id, r.category_id, r.major_id, r.source, r.department_id): tuple(getattr(r, n) for n in COUNTER_NAMES)
        for r in CaseRollup.objects.all()
    }
    areas = {
        (r.grain, r.dim, r.area_id, r.period, r.value): tuple(getattr(r, n) for n in COUNTER_NAMES)
        for r in CaseRollupArea.objects.all()
    }
    return {
        "days": {k: v for k, v in days.items() if any(v)},
        "areas": {k: v for k, v in areas.items() if any(v)},
    }


def random_history(rng: random.Random, tree: Tree, cases: int) -> None:
    """Cases moved through random but plausible transitions, some twice over."""
    grids = [tree.grid_a1, tree.grid_a2, tree.grid_b1]
    categories = list(Category.objects.filter(parent__isnull=False).order_by("code")[:12])
    departments = list(Department.objects.order_by("code")[:4])
    sources = [s.value for s in CaseSource]
    opened = []
    for _ in range(cases):
        # around month ends and Shanghai midnight (16:00 UTC), where day attribution can slip
        created = at(2026, rng.choice([1, 2, 3]), rng.choice([1, 15, 28]), rng.choice([0, 7, 23]),
                     rng.choice([5, 55]))
        opened.append(new_case(grid=rng.choice(grids), created_at=created, source=rng.choice(sources),
                               category=rng.choice(categories)))
    for case in opened:
        now = case.created_at
        for _step in range(rng.randint(0, 9)):
            now += timedelta(hours=rng.choice([1, 5, 20, 30, 200]))
            move = rng.choice(["register", "dispatch", "reassign", "reject", "handle", "close", "rate",
                               "rework", "overdue", "cancel", "merge", "regrid", "recategorise"])
            if move == "register" and case.registered_at is None:
                change(case, registered_at=now, status=CaseStatus.REGISTERED)
            elif move == "dispatch":
                change(case, CaseAction.DISPATCH, dispatched_at=now, department=rng.choice(departments),
                       due_at=now + timedelta(hours=rng.choice([2, 24, 72])), status=CaseStatus.DISPATCHED)
            elif move == "reassign" and case.dispatched_at is not None:
                change(case, CaseAction.REASSIGN, dispatched_at=now, department=rng.choice(departments))
            elif move == "reject" and case.dispatched_at is not None:
                change(case, CaseAction.REJECT_BACK, status=CaseStatus.RETURNED)
            elif move == "handle":
                change(case, handled_at=now, handled_on_spot=case.dispatched_at is None, status=CaseStatus.HANDLED)
            elif move == "close" and case.handled_at is not None:
                change(case, closed_at=now, status=CaseStatus.CLOSED)
            elif move == "rate" and case.closed_at is not None:
                change(case, satisfaction=rng.randint(1, 5), status=CaseStatus.EVALUATED)
            elif move == "rework":
                change(case, rework_count=case.rework_count + 1, handled_at=None, closed_at=None,
                       status=CaseStatus.DISPATCHED)
            elif move == "overdue":
                change(case, overdue_count=case.overdue_count + 1)
            elif move == "cancel" and rng.random() < 0.3:
                change(case, status=CaseStatus.CANCELLED)
            elif move == "merge" and rng.random() < 0.2:
                change(case, status=CaseStatus.MERGED)
            elif move == "regrid":
                change(case, grid=rng.choice(grids))
            elif move == "recategorise":
                change(case, category=rng.choice(categories))


# --- rollups -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_kept_by_transitions_equal_a_rebuild_from_the_cases(tree: Tree, seed: int) -> None:
    # given rollups kept current through a random sequence of transitions
    random_history(random.Random(seed), tree, cases=40)
    incremental = snapshot()
    assert incremental["days"], "the history must have produced something"
    # when they are rebuilt from the case table
    rollup_rebuild()
    # then the rebuilt tables hold exactly the same counters
    rebuilt = snapshot()
    assert rebuilt["days"] == incremental["days"]
    assert rebuilt["areas"] == incremental["areas"]


def test_rebuild_since_a_day_keeps_earlier_months_and_redoes_later_ones(tree: Tree) -> None:
    # given cases in January and March, and March's rollups damaged
    new_case(grid=tree.grid_a1, created_at=at(2026, 1, 10))
    new_case(grid=tree.grid_a1, created_at=at(2026, 3, 10))
    before = snapshot()
    CaseRollup.objects.filter(day__gte=date(2026, 3, 1)).update(reported=99)
    CaseRollupArea.objects.filter(period__gte=date(2026, 3, 1)).delete()
    # when rebuilt from a day in March
    rollup_rebuild(since=date(2026, 3, 20))
    # then everything is as before
    assert snapshot() == before


def test_rebuild_command_reports_what_it_wrote(tree: Tree) -> None:
    # given one case
    new_case(grid=tree.grid_a1, created_at=at(2026, 1, 10))
    out = io.StringIO()
    # when the command runs
    call_command("linli_cases_rollup_rebuild", "--since", "2026-01-01", stdout=out)
    # then it says how many rows it rebuilt
    # (one day row; per grain (day, week, month) and dimension a row for the community,
    # street and district, and the grid's total: its breakdowns are read from the day row)
    assert "rebuilt 1 daily and 39 area rollup rows" in out.getvalue()


def test_event_after_shanghai_midnight_counts_on_the_next_local_day(tree: Tree) -> None:
    # given a case reported at 00:30 Shanghai on 1 March (16:30 UTC on 28 February)
    new_case(grid=tree.grid_a1, created_at=at(2026, 3, 1, 0, 30))
    # then it lands on 1 March, in March
    row = CaseRollup.objects.get()
    assert row.day == date(2026, 3, 1)
    assert CaseRollupArea.objects.get(grain="m", dim="all", area_id=tree.grid_a1.pk).period == date(2026, 3, 1)
    assert CaseRollupArea.objects.get(grain="d", dim="all", area_id=tree.street.pk).period == date(2026, 3, 1)


# --- indicators on a table of cases --------------------------------------------------------


@pytest.fixture
def march(tree: Tree) -> None:
    """Four cases of March 2026 in 近江社区第1网格, one in 婺江社区第1网格."""
    department = Department.objects.get(code="huanwei")
    # patrol: dispatched, handled in 5 h (on time), closed, rated 5
    a = new_case(grid=tree.grid_a1, created_at=at(2026, 3, 2, 9))
    change(a, registered_at=at(2026, 3, 2, 9, 5), status=CaseStatus.REGISTERED)
    change(a, CaseAction.DISPATCH, dispatched_at=at(2026, 3, 2, 10), department=department,
           due_at=at(2026, 3, 3, 10), status=CaseStatus.DISPATCHED)
    change(a, handled_at=at(2026, 3, 2, 15), status=CaseStatus.HANDLED)
    change(a, closed_at=at(2026, 3, 2, 16), status=CaseStatus.CLOSED)
    change(a, satisfaction=5, status=CaseStatus.EVALUATED)
    # hotline: dispatched, reassigned, handled late after 31 h, reworked, closed, rated 2
    b = new_case(grid=tree.grid_a1, created_at=at(2026, 3, 5, 9), source=CaseSource.HOTLINE)
    change(b, registered_at=at(2026, 3, 5, 9), status=CaseStatus.REGISTERED)
    change(b, CaseAction.DISPATCH, dispatched_at=at(2026, 3, 5, 10), department=department,
           due_at=at(2026, 3, 5, 14), status=CaseStatus.DISPATCHED)
    change(b, CaseAction.REASSIGN, dispatched_at=at(2026, 3, 5, 11))
    change(b, handled_at=at(2026, 3, 6, 18), rework_count=1, status=CaseStatus.HANDLED)
    change(b, closed_at=at(2026, 3, 7, 9), status=CaseStatus.CLOSED)
    change(b, satisfaction=2, status=CaseStatus.EVALUATED)
    # camera: reported only
    new_case(grid=tree.grid_a1, created_at=at(2026, 3, 9), source=CaseSource.CAMERA)
    # resident: registered then cancelled as invalid
    d = new_case(grid=tree.grid_a1, created_at=at(2026, 3, 20), source=CaseSource.RESIDENT)
    change(d, registered_at=at(2026, 3, 20, 11), status=CaseStatus.REGISTERED)
    change(d, status=CaseStatus.CANCELLED)
    # patrol, handled on the spot and closed at once
    e = new_case(grid=tree.grid_b1, created_at=at(2026, 3, 21))
    change(e, registered_at=at(2026, 3, 21), handled_at=at(2026, 3, 21, 10, 10), handled_on_spot=True,
           closed_at=at(2026, 3, 21, 10, 20), status=CaseStatus.CLOSED)


def test_indicators_of_a_table_of_cases(users: Users, march: None) -> None:
    # when the street looks at March by grid
    table = case_statistics_for_user(user=users.street, group_by="grid", start=date(2026, 3, 1),
                                     end=date(2026, 3, 31))
    # then 近江社区第1网格 shows its four cases by the formulas
    a1 = next(r for r in table.rows if r.label == "近江社区第1网格")
    v = a1.values
    assert (v["reported"], v["registered"], v["dispatched"], v["handled"], v["closed"]) == (4, 3, 2, 2, 2)
    assert v["accurate_dispatch_rate"] == pytest.approx(1 / 2)  # the hotline case was reassigned
    assert v["on_time_handle_rate"] == pytest.approx(1 / 2)  # due in March: a on time, b late
    assert v["close_rate"] == pytest.approx(2 / 2)  # the cancelled case is not to be closed
    assert v["on_time_close_rate"] == pytest.approx(1 / 2)
    assert v["rework_rate"] == pytest.approx(1 / 2)
    assert v["overdue"] == 1
    assert v["average_handle_hours"] == pytest.approx((5 + 31) / 2)
    assert v["on_spot"] == 0
    assert v["proactive_rate"] == pytest.approx(2 / 4)  # patrol + camera
    assert v["satisfaction_rate"] == pytest.approx(1 / 2)
    # and the other community's grid counts its on-the-spot case
    b1 = next(r for r in table.rows if r.label == "婺江社区第1网格")
    assert (b1.values["on_spot"], b1.values["close_rate"], b1.values["average_handle_hours"]) == (1, 1.0, None)
    # and the total adds both
    assert table.total is not None
    assert table.total.values["reported"] == 5


@pytest.mark.parametrize(("group_by", "expected"), [
    ("community", {"近江社区": 4, "婺江社区": 1}),
    ("street", {"望江街道": 5}),
    ("source", {"网格员巡查": 2, "12345热线": 1, "视频AI": 1, "居民": 1}),
    ("category", {"市容环境": 5}),
    ("department", {"环卫所": 2, "未派遣": 3}),
    ("month", {"2026-03": 5}),
])
def test_statistics_group_by_every_dimension(users: Users, march: None, group_by: str, expected: dict[str, int]) -> None:
    # when the street groups March by a dimension
    table = case_statistics_for_user(user=users.street, group_by=group_by, start=date(2026, 3, 1),
                                     end=date(2026, 3, 31))
    # then each group reports its cases
    assert {r.label: r.values["reported"] for r in table.rows} == expected


def test_period_not_on_month_boundaries_reads_the_odd_days(users: Users, march: None) -> None:
    # when the street asks for 5–20 March (no whole month inside)
    table = case_statistics_for_user(user=users.street, group_by="community", start=date(2026, 3, 5),
                                     end=date(2026, 3, 20))
    # then only the cases reported in those days count
    assert {r.label: r.values["reported"] for r in table.rows} == {"近江社区": 3}


def test_an_area_renamed_after_a_first_call_shows_its_new_name(users: Users, tree: Tree, march: None) -> None:
    # given a first call that filled the process's area cache
    first = case_statistics_for_user(user=users.street, group_by="community", start=date(2026, 3, 1),
                                     end=date(2026, 3, 31))
    assert "近江社区" in {r.label for r in first.rows}
    # when the community is renamed
    tree.community_a.name = "近江新村社区"
    tree.community_a.save()
    # then the next call names it so
    table = case_statistics_for_user(user=users.street, group_by="community", start=date(2026, 3, 1),
                                     end=date(2026, 3, 31))
    assert {r.label for r in table.rows} == {"近江新村社区", "婺江社区"}


# --- scope ---------------------------------------------------------------------------------


def test_community_staff_sees_only_its_grids(users: Users, march: None) -> None:
    # when 近江社区's staff look at March by grid
    table = case_statistics_for_user(user=users.community_a, group_by="grid", start=date(2026, 3, 1),
                                     end=date(2026, 3, 31))
    # then they see their grid and nothing of 婺江社区
    assert [r.label for r in table.rows] == ["近江社区第1网格"]
    assert table.total is not None
    assert table.total.values["reported"] == 4


def test_other_community_user_gets_nothing_of_this_community(users: Users, tree: Tree) -> None:
    # given cases only in 近江社区
    new_case(grid=tree.grid_a1, created_at=at(2026, 3, 2))
    # when 婺江社区's staff and grid worker ask, by grid and broken down by source (a grid
    # worker's breakdown is read from the daily rows of their own grid)
    for user in (users.community_b, users.grid_worker_b1):
        for group_by in ("grid", "source"):
            table = case_statistics_for_user(user=user, group_by=group_by, start=date(2026, 3, 1),
                                             end=date(2026, 3, 31))
            # then they get no rows and a zero total
            assert table.rows == []
            assert table.total is not None
            assert table.total.values["reported"] == 0


def test_resident_and_anonymous_get_an_empty_table(tree: Tree, users: Users) -> None:
    # given a case and a resident of the same grid
    from conftest import make_user
    from linli.accounts.choices import AssignmentKind, Role
    new_case(grid=tree.grid_a1, created_at=at(2026, 3, 2))
    resident = make_user("res", Role.RESIDENT, (tree.grid_a1, AssignmentKind.MEMBER))
    # when they ask
    for user in (resident, None):
        table = case_statistics_for_user(user=user, group_by="grid", start=date(2026, 3, 1), end=date(2026, 3, 31))
        # then nothing
        assert table.rows == []
        assert table.total is None


def test_kept_statistics_are_per_scope_and_expire(users: Users, tree: Tree, march: None, settings) -> None:
    # given statistics kept for a minute, first asked by 近江社区's staff
    settings.LINLI_CASE_STATISTICS_SECONDS = 60
    cache.clear()

    def march_of(user: Any) -> Any:
        return case_statistics_for_user(user=user, group_by="grid", start=date(2026, 3, 1), end=date(2026, 3, 31),
                                        kept=True)

    with time_machine.travel(at(2026, 4, 1), tick=False) as clock:
        first = march_of(users.community_a)
        assert [r.label for r in first.rows] == ["近江社区第1网格"]
        # when 婺江社区's staff ask for the same period
        other = march_of(users.community_b)
        # then they get their own grid, never the figures kept for 近江社区
        assert [(r.label, r.values["reported"]) for r in other.rows] == [("婺江社区第1网格", 1)]
        # and a case written meanwhile shows only once the kept table expires
        new_case(grid=tree.grid_a1, created_at=at(2026, 3, 30))
        again = march_of(users.community_a)
        assert again.total is not None
        assert again.total.values["reported"] == 4
        # (a caller that does not accept a kept table, as the cockpit, reads it at once)
        live = case_statistics_for_user(user=users.community_a, group_by="grid", start=date(2026, 3, 1),
                                        end=date(2026, 3, 31))
        assert live.total is not None
        assert live.total.values["reported"] == 5
        clock.shift(61)
        fresh = march_of(users.community_a)
        assert fresh.total is not None
        assert fresh.total.values["reported"] == 5
    cache.clear()


def test_grid_worker_grouping_by_community_sees_only_own_grid_numbers(users: Users, march: None) -> None:
    # when the grid worker of 近江社区第1网格 groups by community
    table = case_statistics_for_user(user=users.grid_worker_a1, group_by="community", start=date(2026, 3, 1),
                                     end=date(2026, 3, 31))
    # then the community is named but counts only the worker's grid
    assert {r.label: r.values["reported"] for r in table.rows} == {"近江社区": 4}


@pytest.mark.parametrize(("group_by", "start", "expected"), [
    ("source", date(2026, 3, 1), {"网格员巡查": 1, "12345热线": 1, "视频AI": 1, "居民": 1}),
    ("department", date(2026, 3, 1), {"环卫所": 2, "未派遣": 2}),
    ("category", date(2026, 3, 1), {"市容环境": 4}),
    ("source", date(2026, 3, 5), {"12345热线": 1, "视频AI": 1, "居民": 1}),  # odd days only
])
def test_grid_worker_breakdowns_come_from_the_grids_own_days(users: Users, march: None, group_by: str,
                                                             start: date, expected: dict[str, int]) -> None:
    # when the grid worker of 近江社区第1网格 breaks their grid down (read from the daily
    # rows: the area rollup keeps only a grid's totals)
    table = case_statistics_for_user(user=users.grid_worker_a1, group_by=group_by, start=start,
                                     end=date(2026, 3, 20))
    # then each group counts the grid's cases of those days, and nothing of 婺江社区
    assert {r.label: r.values["reported"] for r in table.rows} == expected
    assert table.total is not None
    assert table.total.values["reported"] == sum(expected.values())


def test_a_scope_of_a_grid_and_a_community_adds_both_breakdowns(tree: Tree, march: None) -> None:
    # given a user assigned 近江社区第1网格 and the whole of 婺江社区 (a grid read from its
    # daily rows, a community from the area rollup)
    from conftest import make_user
    from linli.accounts.choices import AssignmentKind, Role
    user = make_user("mixed", Role.COMMUNITY_STAFF, (tree.grid_a1, AssignmentKind.MEMBER),
                     (tree.community_b, AssignmentKind.MEMBER))
    # when they group March by source, with the month before to compare
    table = case_statistics_for_user(user=user, group_by="source", start=date(2026, 3, 1),
                                     end=date(2026, 3, 31), compare="mom")
    # then the patrol cases of both add up, and February (no cases) compares as zero
    assert {r.label: r.values["reported"] for r in table.rows} == {"网格员巡查": 2, "12345热线": 1, "视频AI": 1,
                                                                   "居民": 1}
    assert table.total is not None
    assert table.total.previous is not None
    assert table.total.previous["reported"] == 0


# --- comparison ------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "compare", "expected"), [
    (date(2026, 3, 1), date(2026, 3, 31), "mom", (date(2026, 2, 1), date(2026, 2, 28))),
    (date(2026, 3, 1), date(2026, 3, 31), "yoy", (date(2025, 3, 1), date(2025, 3, 31))),
    (date(2026, 4, 1), date(2026, 6, 30), "mom", (date(2026, 1, 1), date(2026, 3, 31))),
    (date(2025, 2, 1), date(2025, 2, 28), "yoy", (date(2024, 2, 1), date(2024, 2, 29))),
    (date(2024, 2, 29), date(2024, 2, 29), "yoy", (date(2023, 2, 28), date(2023, 2, 28))),
    (date(2026, 3, 10), date(2026, 3, 16), "mom", (date(2026, 3, 3), date(2026, 3, 9))),
    (date(2026, 3, 10), date(2026, 3, 16), None, None),
])
def test_comparison_windows(start: date, end: date, compare: str | None, expected: tuple[date, date] | None) -> None:
    assert comparison_window(start, end, compare) == expected


def test_split_period_into_whole_months_and_odd_days() -> None:
    assert split_period(date(2026, 1, 1), date(2026, 3, 31)) == ((date(2026, 1, 1), date(2026, 3, 1)), [])
    assert split_period(date(2026, 1, 15), date(2026, 4, 3)) == (
        (date(2026, 2, 1), date(2026, 3, 1)), [(date(2026, 1, 15), date(2026, 1, 31)), (date(2026, 4, 1), date(2026, 4, 3))])
    assert split_period(date(2026, 1, 15), date(2026, 2, 3)) == (None, [(date(2026, 1, 15), date(2026, 2, 3))])


def test_year_on_year_compares_with_the_same_month_last_year(users: Users, tree: Tree) -> None:
    # given two cases in March 2025 and four in March 2026
    for day in (3, 4):
        new_case(grid=tree.grid_a1, created_at=at(2025, 3, day))
    for day in (3, 4, 5, 6):
        new_case(grid=tree.grid_a1, created_at=at(2026, 3, day))
    # when March 2026 is compared year on year
    table = case_statistics_for_user(user=users.community_a, group_by="grid", start=date(2026, 3, 1),
                                     end=date(2026, 3, 31), compare="yoy")
    # then the row carries last year's value and the change
    row = table.rows[0]
    assert row.values["reported"] == 4
    assert row.previous is not None
    assert row.previous["reported"] == 2
    assert row.deltas is not None
    assert row.deltas["reported"] == pytest.approx(1.0)


def test_month_on_month_by_month_compares_each_month_with_the_one_a_period_before(users: Users, tree: Tree) -> None:
    # given one case in January, two in February, three in March
    for month, count in ((1, 1), (2, 2), (3, 3)):
        for day in range(count):
            new_case(grid=tree.grid_a1, created_at=at(2026, month, 10 + day))
    # when February–March are grouped by month, compared with the two months before
    table = case_statistics_for_user(user=users.community_a, group_by="month", start=date(2026, 2, 1),
                                     end=date(2026, 3, 31), compare="mom")
    # then February compares with December (none) and March with January
    rows = {r.key: (r.values["reported"], r.previous["reported"] if r.previous else None) for r in table.rows}
    assert rows == {"2026-02": (2, 0), "2026-03": (3, 1)}


def test_bad_arguments_name_the_field() -> None:
    with pytest.raises(ValidationFailed) as error:
        case_statistics_for_user(user=None, group_by="planet", start=date(2026, 1, 1), end=date(2026, 1, 2))
    assert error.value.field == "group_by"
    with pytest.raises(ValidationFailed) as error:
        case_statistics_for_user(user=None, group_by="grid", start=date(2026, 2, 1), end=date(2026, 1, 2))
    assert error.value.field == "end"


# --- export --------------------------------------------------------------------------------


def test_xlsx_export_opens_and_has_chinese_headers(users: Users, march: None) -> None:
    # given March by community with the month-on-month comparison
    table = case_statistics_for_user(user=users.street, group_by="community", start=date(2026, 3, 1),
                                     end=date(2026, 3, 31), compare="mom")
    # when exported
    data = case_statistics_xlsx(table, title="望江街道事件统计")
    # then it is a workbook whose strings carry the title, headers and group names
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = book.namelist()
        assert "xl/worksheets/sheet1.xml" in names
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
    for text in ("望江街道事件统计", "社区", "上报数", "准确派遣率", "满意率", "上报数(环比期)", "近江社区", "合计"):
        assert text in strings, text
    assert "<c r=\"B5\"" in sheet  # the first data line has values


def test_grids_under_a_zone_count_for_their_community(users: Users, tree: Tree) -> None:
    # given a zone (片区) of 婺江社区 with a grid and a case in it
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area
    zone = Area.objects.create(level=AreaLevel.ZONE, code="330102001002900", name="婺江东片区",
                               parent=tree.community_b, path="")
    zone.path = f"{tree.community_b.path}{zone.pk}/"
    zone.save(update_fields=["path"])
    grid = Area.objects.create(level=AreaLevel.GRID, code="330102001002901", name="婺江东片区第1网格",
                               parent=zone, path="")
    grid.path = f"{zone.path}{grid.pk}/"
    grid.save(update_fields=["path"])
    new_case(grid=grid, created_at=at(2026, 3, 3))
    new_case(grid=tree.grid_b1, created_at=at(2026, 3, 3))
    # when the street groups by community
    table = case_statistics_for_user(user=users.street, group_by="community", start=date(2026, 3, 1),
                                     end=date(2026, 3, 31))
    # then both cases count for 婺江社区
    assert {r.label: r.values["reported"] for r in table.rows} == {"婺江社区": 2}
    # and a rebuild, which sums the community from a zone's rows and from a grid's daily
    # rows (grids keep only their totals), finds what the cases' writes kept
    kept = snapshot()
    rollup_rebuild()
    assert snapshot() == kept
    by_source = case_statistics_for_user(user=users.street, group_by="source", start=date(2026, 3, 1),
                                         end=date(2026, 3, 31))
    assert {r.label: r.values["reported"] for r in by_source.rows} == {"网格员巡查": 2}


def test_rollups_kept_by_the_real_services_equal_a_rebuild(
    open_case: Any, cats: Any, users: Users, dept_user: Any,
) -> None:
    # given cases opened and moved through the workflow service
    from linli.cases.services import case_transition

    def act(case: Case, action: str, actor: Any, **kwargs: Any) -> Case:
        return case_transition(case=case.pk, action=action, actor=actor, **kwargs)

    done = open_case(category=cats.rubbish, description="暴露垃圾")
    for action, actor in (("accept", dept_user), ("report_back", dept_user), ("verify_pass", users.grid_worker_a1),
                          ("close", users.community_a), ("evaluate", users.community_a)):
        done = act(done, action, actor, **({"data": {"satisfaction": 5}} if action == "evaluate" else {}))
    returned = act(open_case(category=cats.rubbish, description="又有垃圾"), "reject_back", dept_user,
                   note="不属于本部门")
    rework = act(act(open_case(category=cats.rubbish, description="垃圾"), "accept", dept_user), "report_back",
                 dept_user)
    act(rework, "verify_fail", users.grid_worker_a1, note="未清理干净")
    open_case()
    incremental = snapshot()
    # when rebuilt from the case table
    rollup_rebuild()
    # then nothing differs, and the statistics see the four cases and the rejected dispatch
    assert snapshot() == incremental
    today = returned.created_at.astimezone(SHANGHAI).date()
    table = case_statistics_for_user(user=users.community_a, group_by="source", start=today, end=today)
    assert table.total is not None
    assert table.total.values["reported"] == 4
    assert table.total.counters.dispatched - table.total.counters.dispatched_accurate == 1


@pytest.mark.parametrize(("start", "end"), [
    (date(2026, 1, 3), date(2026, 2, 26)), (date(2026, 1, 20), date(2026, 1, 22)), (date(2026, 1, 2), date(2026, 1, 30)),
    (date(2025, 12, 31), date(2026, 3, 1)), (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 1, 15), date(2026, 2, 14)),
])
def test_read_plan_sums_to_exactly_the_period(start: date, end: date) -> None:
    # given a period, when planned as signed month, week and day spans
    from collections import Counter as Tally

    from linli.cases.stats import read_plan
    days: Tally[date] = Tally()
    for grain, first, last, sign in read_plan(start, end):
        stop = {"d": last, "w": last + timedelta(days=6)}.get(grain) or (
            last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        day = first
        while day <= stop:
            days[day] += sign
            day += timedelta(days=1)
        # then no day span is longer than a week
        assert grain != "d" or (last - first).days < 7
    # then every day of the period counts once and no other day counts
    assert {d for d, n in days.items() if n} == {start + timedelta(days=i) for i in range((end - start).days + 1)}
    assert set(days.values()) - {0} == {1}


def test_long_partial_month_read_as_month_minus_days_gives_the_same_numbers(users: Users, tree: Tree) -> None:
    # given cases on 1, 2 and 20 January
    for day in (1, 2, 20):
        new_case(grid=tree.grid_a1, created_at=at(2026, 1, day))
    # when 2–31 January is asked (January minus the 1st)
    table = case_statistics_for_user(user=users.community_a, group_by="grid", start=date(2026, 1, 2),
                                     end=date(2026, 1, 30))
    # then the 1st is not counted
    assert table.total is not None
    assert table.total.values["reported"] == 2


def test_array_literal_quotes_what_postgresql_would_misread() -> None:
    from datetime import date

    from linli.core.bulk import array_literal

    assert array_literal([1, 22, None]) == "{1,22,NULL}"
    assert array_literal([date(2026, 3, 5)]) == "{2026-03-05}"
    assert array_literal(["all", 'a"b', "c\\d", "x,y", "NULL", ""]) == '{"all","a\\"b","c\\\\d","x,y","NULL",""}'


@pytest.mark.postgres
@pytest.mark.django_db
def test_array_literal_round_trips_through_postgresql() -> None:
    from datetime import date

    from django.db import connection

    from linli.core.bulk import array_literal

    texts = ["all", 'a"b', "c\\d", "x,y", "NULL", "", "{}", "市容环境"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text::text[], %s::text::integer[], %s::text::date[]",
                       [array_literal(texts), array_literal([1, None, -3]), array_literal([date(2026, 12, 6)])])
        row = cursor.fetchone()
    assert row == (texts, [1, None, -3], [date(2026, 12, 6)])


@pytest.mark.postgres
@pytest.mark.django_db
def test_area_rows_derived_by_the_server_equal_those_spread_in_python(monkeypatch) -> None:
    import random
    from datetime import date, timedelta

    from django.db import transaction

    from linli.cases import rollups
    from linli.cases.stats_models import CaseRollup, CaseRollupArea

    # given a delta over three grids (and cases without a grid) across two months, with
    # counters that cancel out somewhere, and the grids' area chains
    rng = random.Random(7)
    chains = {101: (1, 10, 101), 102: (1, 10, 102), 201: (1, 20, 201)}
    delta = rollups.RollupDelta.empty()
    for _ in range(400):
        key = (date(2026, 10, 20) + timedelta(days=rng.randrange(60)), rng.choice([101, 102, 201, 0]),
               rng.randrange(5), rng.randrange(3), rng.choice(["patrol", "hotline", "resident"]), rng.randrange(4))
        target = delta.days[key]
        for at in range(len(target)):
            target[at] += rng.choice([-1, 0, 0, 1, 2])
    # two categories of one grid on a day of their own that cancel each other out exactly
    delta.days[(date(2027, 3, 15), 201, 1, 1, "patrol", 1)] = [1] * len(target)
    delta.days[(date(2027, 3, 15), 201, 2, 1, "patrol", 1)] = [-1] * len(target)

    def table(model: type[CaseRollup] | type[CaseRollupArea]) -> list[tuple[object, ...]]:
        names = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        return sorted(model.objects.values_list(*names))

    # when written spreading in Python (then undone), and with the server deriving the areas
    with transaction.atomic():
        monkeypatch.setattr(rollups, "_COPY_FROM", 10**9)
        rollups.rollup_write(delta, chains=chains)
        in_python = (table(CaseRollup), table(CaseRollupArea))
        grains = set(CaseRollupArea.objects.values_list("grain", flat=True))
        transaction.set_rollback(True)
    monkeypatch.setattr(rollups, "_COPY_FROM", 0)
    rollups.rollup_write(delta, chains=chains)

    # then both tables hold the same rows (none of an area whose counters all cancel)
    assert len(in_python[1]) > 100
    assert grains == {"d", "w", "m"}
    assert not [row for row in in_python[1] if date(2027, 3, 1) in row]  # the cancelled day left no area row
    assert (table(CaseRollup), table(CaseRollupArea)) == in_python


def test_the_migration_drops_only_the_grids_breakdown_rows(tree: Tree) -> None:
    # given area rows as the code before migration 0006 kept them: a grid's totals and
    # breakdowns, and a community's
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("linli.cases.migrations.0006_grid_breakdowns_from_daily")
    day = date(2026, 3, 2)
    for area, dim, value in ((tree.grid_a1, "all", ""), (tree.grid_a1, "major", "7"), (tree.grid_a1, "source", "patrol"),
                             (tree.community_a, "all", ""), (tree.community_a, "major", "7")):
        CaseRollupArea.objects.create(grain="d", period=day, dim=dim, value=value, area_id=area.pk, reported=1)
    # when its data step runs (it only needs the editor's connection: SQLite refuses a real
    # schema editor inside the test's transaction)
    from types import SimpleNamespace
    migration.drop_grid_breakdowns(apps, SimpleNamespace(connection=connection))
    # then the grid keeps its totals, and the community everything
    assert sorted(CaseRollupArea.objects.values_list("area_id", "dim")) == sorted(
        [(tree.grid_a1.pk, "all"), (tree.community_a.pk, "all"), (tree.community_a.pk, "major")])
