"""Case statistics for a user: the standard indicators by area, department, category,
source or month, with 同比 (yoy) / 环比 (mom) comparison.

Answered from the rollups, never by scanning cases: :class:`~linli.cases.stats_models.CaseRollupArea`
month, week and day rows (a signed sum per window, see :func:`read_plan`), read for the
root areas of the user's scope (a street reads its own rows, not its 400 grids'); a
grid's breakdowns by 大类, source or department from the daily rows of that grid.
Scoped: a user sees the areas assigned to them; cases without a grid are in nobody's
statistics.
"""

from __future__ import annotations

import calendar
import functools
import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, get_args

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrPromise

from linli.accounts.choices import Role
from linli.accounts.models import Department, User
from linli.accounts.selectors import AreaScope, Principal, scope_for
from linli.cases.choices import CaseSource
from linli.cases.indicators import COUNTER_NAMES, INDICATORS, Counters, compute, delta, point_delta
from linli.cases.models import Category
from linli.cases.stats_models import CaseRollup, CaseRollupArea
from linli.core.bulk import array_literal
from linli.core.errors import ValidationFailed
from linli.core.models import REFERENCE_TOPIC
from linli.core.scoped_cache import scoped_cached
from linli.core.selectors import change_generation
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

GroupBy = Literal["grid", "community", "street", "department", "category", "source", "month"]
Compare = Literal["yoy", "mom"]
GROUP_BYS: tuple[str, ...] = get_args(GroupBy)
COMPARES: tuple[str, ...] = get_args(Compare)
GROUP_LABELS: dict[str, StrPromise] = {
    "grid": gettext_lazy("网格"), "community": gettext_lazy("社区"), "street": gettext_lazy("街道"),
    "department": gettext_lazy("处置部门"), "category": gettext_lazy("大类"),
    "source": gettext_lazy("来源"), "month": gettext_lazy("月份"),
}
# Everyone who works cases may read their areas' statistics; residents may not.
# The auditor reads the audit log, not case data (docs/api.md); residents see their own cases.
STATS_ROLES = frozenset(r for r in Role if r not in {Role.RESIDENT, Role.AUDITOR})
MAX_DAYS = 3 * 366
# From this many areas on, rows are read by period (index ``case_rollup_area_period``).
MANY_AREAS = 64

# Which month-rollup dimension answers which grouping.
_DIM = {"grid": "all", "community": "all", "street": "all", "month": "all",
        "department": "department", "category": "major", "source": "source"}
# The daily-table column of a breakdown dimension (a grid's breakdowns are read there).
_DAY_COLUMN = {"major": "major_id", "source": "source", "department": "department_id"}
_LEVELS = {"grid": AreaLevel.GRID, "community": AreaLevel.COMMUNITY, "street": AreaLevel.STREET}


@dataclass
class StatRow:
    """One group: its counters, indicators, and those of the comparison period."""

    key: str
    label: str
    counters: Counters
    values: dict[str, float | int | None]
    previous: dict[str, float | int | None] | None = None
    deltas: dict[str, float | None] | None = None


@dataclass
class StatsTable:
    """What :func:`case_statistics_for_user` returns; ``total`` sums every row."""

    group_by: str
    start: date
    end: date
    compare: str | None
    compare_start: date | None
    compare_end: date | None
    rows: list[StatRow] = field(default_factory=list)
    total: StatRow | None = None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def comparison_window(start: date, end: date, compare: str | None) -> tuple[date, date] | None:
    """The period to compare with.

    同比 (yoy): the same dates a year earlier (29 Feb → 28 Feb). 环比 (mom): the period of
    the same length just before; whole months shift by whole months (March → February,
    Q2 → Q1), other periods by their number of days.
    """
    if compare is None:
        return None
    if compare == "yoy":
        end_before = _add_months(end, -12)
        if _is_month_end(end):  # February: the 28th a year on stands for the 29th
            end_before = end_before.replace(day=calendar.monthrange(end_before.year, end_before.month)[1])
        return _add_months(start, -12), end_before
    if start.day == 1 and _is_month_end(end):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        previous_start = _add_months(start, -months)
        return previous_start, start - timedelta(days=1)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def split_period(start: date, end: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """Whole months inside [start, end] (first days of the first and last month), and the
    leftover day ranges at either end."""
    first = start if start.day == 1 else _add_months(start.replace(day=1), 1)
    last = end.replace(day=1) if _is_month_end(end) else _add_months(end.replace(day=1), -1)
    if first > last:
        return None, [(start, end)]
    edges = []
    if start < first:
        edges.append((start, first - timedelta(days=1)))
    after = _add_months(last, 1)
    if after <= end:
        edges.append((after, end))
    return (first, last), edges


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return _add_months(day.replace(day=1), 1)


@functools.lru_cache(maxsize=512)
def read_plan(start: date, end: date) -> tuple[tuple[str, date, date, int], ...]:
    """(grain, first period, last period, sign) spans whose signed sum is exactly [start, end].

    Grains: ``"m"`` (periods are first days of months), ``"w"`` (Mondays of ISO weeks),
    ``"d"`` (days). Counters are additive, so a span may also be subtracted (a month
    minus its first two days). The plan reads the fewest rows per area: a shortest path
    from ``start`` to the day after ``end`` whose steps are a month, a week or a day,
    forwards (added) or backwards (subtracted). Any window then costs its whole months,
    at most a few weeks and at most three days at either end.
    """
    stop = end + timedelta(days=1)
    # From the Monday before start's month to the Monday after stop's month: a week
    # across a month boundary can trim a month (October minus the week of 30 September).
    low = start.replace(day=1)
    low -= timedelta(days=low.weekday())
    high = stop if stop.day == 1 else _next_month(stop)
    high += timedelta(days=(7 - high.weekday()) % 7)
    # Nodes: the two ends, every month start and every Monday in between. Day steps are
    # only worth taking between nodes less than a week apart (a week row is cheaper).
    nodes = {start, stop}
    month = low.replace(day=1) if low.day == 1 else _next_month(low)
    while month <= high:
        nodes.add(month)
        month = _next_month(month)
    monday = low + timedelta(days=(7 - low.weekday()) % 7)
    while monday <= high:
        nodes.add(monday)
        monday += timedelta(days=7)
    ordered = sorted(nodes)
    edges: dict[date, list[tuple[date, str, int]]] = {n: [] for n in ordered}
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            gap = (b - a).days
            if gap > 7:
                break
            edges[a].append((b, "d", gap))
            edges[b].append((a, "d", gap))
        if a.day == 1 and _next_month(a) <= high:
            edges[a].append((_next_month(a), "m", 1))
            edges[_next_month(a)].append((a, "m", 1))
        if a.weekday() == 0 and a + timedelta(days=7) <= high:
            edges[a].append((a + timedelta(days=7), "w", 1))
            edges[a + timedelta(days=7)].append((a, "w", 1))
    # Dijkstra; ties go to fewer steps (fewer queries once merged).
    best: dict[date, tuple[int, int]] = {start: (0, 0)}
    came: dict[date, tuple[date, str]] = {}
    queue: list[tuple[int, int, date]] = [(0, 0, start)]
    while queue:
        rows, steps, node = heapq.heappop(queue)
        if node == stop:
            break
        if best[node] < (rows, steps):
            continue
        for target, grain, cost in edges[node]:
            candidate = (rows + cost, steps + 1)
            if target not in best or candidate < best[target]:
                best[target] = candidate
                came[target] = (node, grain)
                heapq.heappush(queue, (*candidate, target))
    path: list[tuple[str, date, date]] = []  # (grain, from, to) steps, from start to stop
    node = stop
    while node != start:
        previous, grain = came[node]
        path.append((grain, previous, node))
        node = previous
    path.reverse()
    return tuple(_spans(path))


def _spans(path: list[tuple[str, date, date]]) -> list[tuple[str, date, date, int]]:
    """Steps as (grain, first period, last period, sign), consecutive alike steps merged."""
    spans: list[tuple[str, date, date, int]] = []
    for grain, a, b in path:
        sign = 1 if b > a else -1
        low, high = (a, b) if sign > 0 else (b, a)
        # The periods the step covers: days low..high-1, or the one week or month at low.
        first, last = low, (high - timedelta(days=1) if grain == "d" else low)
        if spans and spans[-1][0] == grain and spans[-1][3] == sign:
            _g, f, la, _s = spans[-1]
            spans[-1] = (grain, min(f, first), max(la, last), sign)
        else:
            spans.append((grain, first, last, sign))
    return spans


def _month_key(key: str, shift: int) -> str:
    """``YYYY-MM`` moved ``shift`` months later."""
    moved = _add_months(date(int(key[:4]), int(key[5:7]), 1), shift)
    return f"{moved:%Y-%m}"


def _month_pieces(start: date, end: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """Whole months of [start, end] and the leftover ranges cut at month boundaries."""
    months, edges = split_period(start, end)
    pieces: list[tuple[date, date]] = []
    for first, last in edges:
        while first <= last:  # an edge range may cross one month boundary
            stop = min(last, _month_end(first))
            pieces.append((first, stop))
            first = stop + timedelta(days=1)
    return months, pieces


def _collect(group_by: str, start: date, end: date, targets: Iterable[int],
             grids: frozenset[int] = frozenset()) -> dict[str, Counters]:
    """Counters per raw group key (area id, dimension value or ``YYYY-MM``) over the rows of
    ``targets`` (disjoint areas), read as :func:`read_plan` says.

    By month, a week row may straddle two months: whole months are read grouped by month
    and each leftover piece is planned on its own and counted to its month. A breakdown
    (大类, source, department) of a target among ``grids`` comes from the daily table: the
    area rollup keeps only a grid's totals.
    """
    dim = _DIM[group_by]
    targets = set(targets)
    if dim != "all" and grids & targets:
        out = _collect(group_by, start, end, targets - grids)
        for key, counters in _grid_breakdowns(_DAY_COLUMN[dim], sorted(grids & targets), start, end).items():
            out[key] = out[key] + counters if key in out else counters
        return out
    reads: list[tuple[str | None, tuple[str, date, date, int]]] = []
    if group_by == "month":
        months, pieces = _month_pieces(start, end)
        if months is not None:
            reads.append((None, ("m", months[0], months[1], 1)))
        reads.extend((f"{first:%Y-%m}", span) for first, last in pieces for span in read_plan(first, last))
        # The month of a whole-month row, as ``YYYY-MM`` (SQLite keeps dates as ISO text).
        key = "to_char(period, 'YYYY-MM')" if connection.vendor == "postgresql" else "substr(period, 1, 7)"
    else:
        reads = [(None, span) for span in read_plan(start, end)]
        key = connection.ops.quote_name("area_id" if group_by in _LEVELS else "value")
    return _signed_sums(key, dim, sorted(targets), reads)


def _grid_breakdowns(column: str, grids: list[int], start: date, end: date) -> dict[str, Counters]:
    """Counters per value of a daily-table column over some grids' days in [start, end]
    (index ``case_rollup_grid_day``: a grid has a few rows a day)."""
    quote = connection.ops.quote_name
    table = quote(CaseRollup._meta.db_table)
    postgres = connection.vendor == "postgresql"
    sums = ", ".join(f"CAST(SUM({n}) AS bigint)" if postgres else f"SUM({n})" for n in COUNTER_NAMES)
    within = "grid_id = ANY(%s::integer[])" if postgres else f"grid_id IN ({', '.join('?' * len(grids))})"
    mark = "%s" if postgres else "?"
    sql = (f"SELECT {quote(column)}, {sums} FROM {table} "  # noqa: S608 -- constants only
           f"WHERE {within} AND day >= {mark} AND day <= {mark} GROUP BY {quote(column)}")
    params = [array_literal(grids), start, end] if postgres else [*grids, start.isoformat(), end.isoformat()]
    return {str(k): Counters.of(values) for k, *values in _read(sql, params) if any(values)}


def _read(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Rows of a statistics statement: ``%s`` parameters on PostgreSQL, ``?`` on SQLite's
    own connection (Django's wrapper would rewrite thousands of ``%s`` on every call)."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            # Starting parallel workers costs more than the few thousand rows read.
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return list(connection.connection.execute(sql, params).fetchall())


def _signed_sums(key: str, dim: str, areas: list[int],
                 reads: Iterable[tuple[str | None, tuple[str, date, date, int]]]) -> dict[str, Counters]:
    """Counters per group over the signed spans of a plan, in one statement.

    ``key`` is the SQL expression of a row's group; a read with a label counts all its rows
    to that label instead. One ``UNION ALL`` of the spans (subtracted ones negated) summed by
    the database: a district's 400 grids over 45 days come back as 400 rows, not 400 per
    span, and the statement is compiled once instead of once per span through the ORM.
    """
    if not areas:
        return {}
    quote = connection.ops.quote_name
    table = quote(CaseRollupArea._meta.db_table)
    postgres = connection.vendor == "postgresql"
    if not postgres and len(areas) >= MANY_AREAS:
        # SQLite's planner keeps to the per-area key even for hundreds of areas.
        table += " INDEXED BY case_rollup_area_period"
    # PostgreSQL takes the areas as one array; SQLite gets ``?`` placeholders on its own
    # connection (Django's wrapper would rewrite thousands of ``%s`` on every call).
    mark = "%s" if postgres else "?"
    # The areas travel as one array literal, a constant to the planner: psycopg's
    # per-element adaptation of hundreds of ids, once per span, cost more than the query.
    # PostgreSQL, many areas: ``area_id + 0`` keeps the planner off the per-area key (one
    # descent per area; it underestimates the rows) and on the period index, one range per
    # span (400 grids over 45 days with 环比: 25 → 12–18 ms).
    column = "area_id + 0" if len(areas) >= MANY_AREAS else "area_id"
    within = f"{column} = ANY(%s::integer[])" if postgres else f"area_id IN ({', '.join('?' * len(areas))})"
    area_params: list[Any] = [array_literal(areas)] if postgres else list(areas)
    parts: list[str] = []
    params: list[Any] = []
    for label, (grain, first, last, sign) in reads:
        columns = ", ".join(f"{'-' if sign < 0 else ''}{quote(n)} AS {n}" for n in COUNTER_NAMES)
        parts.append(f"SELECT {key if label is None else mark} AS k, {columns} FROM {table} "  # noqa: S608 -- constants only
                     f"WHERE grain = {mark} AND dim = {mark} AND {within} AND period >= {mark} AND period <= {mark}")
        # SQLite compares the ISO text Django stores; PostgreSQL wants dates.
        params.extend([*([] if label is None else [label]), grain, dim, *area_params,
                       first if postgres else first.isoformat(), last if postgres else last.isoformat()])
    # bigint, not numeric: SUM of a bigint column would come back as Python Decimals.
    sums = ", ".join(f"CAST(SUM({n}) AS bigint)" if postgres else f"SUM({n})" for n in COUNTER_NAMES)
    sql = f"SELECT k, {sums} FROM ({' UNION ALL '.join(parts)}) u GROUP BY k"  # noqa: S608 -- constants only
    out: dict[str, Counters] = {}
    for k, *values in _read(sql, params):
        # A group whose month minus its left-out days nets to nothing is not a group.
        if any(values):
            out[str(k)] = Counters.of(values)
    return out


@dataclass(frozen=True)
class _Area:
    pk: int
    parent_id: int | None
    level: int
    path: tuple[int, ...]
    code: str
    name: str


# Per process: every area as the statistics see it, with the stamp it was read under.
_area_cache: tuple[tuple[Any, ...], dict[int, _Area]] | None = None


def _all_areas() -> dict[int, _Area]:
    """Every area, cached per process until an area is written (the reference stamp, one
    primary-key read, instead of reading hundreds of areas by id)."""
    global _area_cache  # one per process, like the grid locator
    generation = change_generation(REFERENCE_TOPIC)
    stamp = (generation,)
    cached = _area_cache
    if generation is not None and cached is not None and cached[0] == stamp:
        return cached[1]
    rows = Area.objects.values_list("pk", "parent_id", "level", "path", "code", "name")
    every = {pk: _Area(pk, parent, level, tuple(int(p) for p in path.strip("/").split("/") if p), code, name)
             for pk, parent, level, path, code, name in rows}
    _area_cache = (stamp, every)
    return every


def _areas(ids: Iterable[int], every: dict[int, _Area]) -> dict[int, _Area]:
    return {pk: every[pk] for pk in ids if pk in every}


def _targets(group_by: str, scope_areas: dict[int, _Area],
             every: dict[int, _Area]) -> tuple[set[int], dict[str, str], dict[str, tuple[str, str]]]:
    """Which areas' rows to read (disjoint, together exactly the scope), each target's group
    key, and the labels (code, name) of the groups.

    The roots of the scope (areas whose parent is outside it) cover it. Grouping by an area
    level reads, under roots above that level, the areas of the level themselves; a root at
    or below the level (a grid worker's grid grouped by community) is read whole and named
    after its ancestor at the level.
    """
    roots = {pk for pk, a in scope_areas.items() if a.parent_id not in scope_areas}
    if group_by not in _LEVELS:
        return roots, {}, {}
    level = _LEVELS[group_by]
    targets = {pk for pk in roots if scope_areas[pk].level >= level}
    targets |= {pk for pk, a in scope_areas.items() if a.level == level}
    ancestors = _areas({p for pk in targets for p in scope_areas[pk].path} - set(scope_areas), every)
    known = {**scope_areas, **ancestors}
    mapping: dict[str, str] = {}
    for pk in targets:
        match = next((p for p in scope_areas[pk].path if p in known and known[p].level == level), None)
        mapping[str(pk)] = str(match) if match is not None else "0"
    labels = {str(pk): (a.code, a.name) for pk, a in known.items()}
    labels["0"] = ("", _("未归属"))
    return targets, mapping, labels


def _regroup(group_by: str, raw: dict[str, Counters], mapping: dict[str, str]) -> dict[str, Counters]:
    if group_by not in _LEVELS or all(mapping.get(key) == key for key in raw):
        return raw
    out: dict[str, Counters] = defaultdict(Counters)
    for key, counters in raw.items():
        out[mapping.get(key, "0")] += counters
    return out


def _labels(group_by: str, keys: set[str], area_labels: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """key → (sort key, label)."""
    if group_by in {"grid", "community", "street"}:
        return {k: area_labels.get(k, ("", k)) for k in keys}
    if group_by == "month":
        return {k: (k, k) for k in keys}
    if group_by == "source":
        names = dict(CaseSource.choices)
        return {k: (k, str(names.get(k, k))) for k in keys}
    ids = [int(k) for k in keys if k.isdigit()]
    model: type[Category] | type[Department] = Category if group_by == "category" else Department
    found = {str(pk): name for pk, name in model.objects.filter(pk__in=ids).values_list("pk", "name")}
    fallback = _("未派遣") if group_by == "department" else _("未分类")
    return {k: (k, found.get(k, fallback)) for k in keys}


def _deltas(current: dict[str, float | int | None], previous: dict[str, float | int | None]) -> dict[str, float | None]:
    return {
        key: delta(current[key], previous[key]) if kind == "count" else point_delta(current[key], previous[key])
        for key, _label, kind in INDICATORS
    }


def _check(group_by: str, start: date, end: date, compare: str | None) -> None:
    if group_by not in GROUP_BYS:
        raise ValidationFailed("group_by", _("不支持的分组方式"))
    if compare is not None and compare not in COMPARES:
        raise ValidationFailed("compare", _("对比方式只能是同比或环比"))
    if end < start:
        raise ValidationFailed("end", _("结束日期不能早于开始日期"))
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed("end", _("统计区间不能超过三年"))


def case_statistics_for_user(
    *, user: Principal | None, group_by: str, start: date, end: date, compare: str | None = None,
    kept: bool = False,
) -> StatsTable:
    """Indicator rows for the user's grids between ``start`` and ``end`` (inclusive).

    Another area's user, a resident or an API key gets an empty table, never an error
    that would reveal what exists. ``kept``: the table may be one computed for the same
    scope up to ``LINLI_CASE_STATISTICS_SECONDS`` ago (the statistics page and API; the
    cockpit's live figures are not kept).
    """
    _check(group_by, start, end, compare)
    window = comparison_window(start, end, compare)
    table = StatsTable(group_by=group_by, start=start, end=end, compare=compare,
                       compare_start=window[0] if window else None, compare_end=window[1] if window else None)
    scope = scope_for(user)
    if not isinstance(user, User) or user.role not in STATS_ROLES or not scope.grid_ids:
        return table
    # Kept per scope (the exact set of areas) for LINLI_CASE_STATISTICS_SECONDS: the same
    # table for every user of the same areas, never another area's. The reference stamp
    # in the key makes a renamed or moved area count at once.
    return scoped_cached(
        "cases.statistics", scope=tuple(sorted(scope.area_ids)),
        params=(group_by, start, end, compare, change_generation(REFERENCE_TOPIC)),
        seconds=settings.LINLI_CASE_STATISTICS_SECONDS if kept else 0,
        compute=lambda: _fill(table, scope.area_ids, window))


@dataclass(frozen=True)
class CaseFigures:
    """The cockpit's case figures: what ``case_statistics_for_user`` by month gives for the
    day, the month so far and the months of the trend, read in one statement."""

    months: list[tuple[str, Counters]]  # ``YYYY-MM`` with any counter, oldest first
    today: Counters
    this_month: Counters


_TODAY = "today"  # the label of the day's read; never a ``YYYY-MM`` key


def case_figures_for_user(*, user: Principal | None, today: date, first: date,
                          scope: AreaScope | None = None) -> CaseFigures:
    """Monthly counters from ``first`` (a month's first day) to ``today``, today's and this
    month's, for the user's grids; empty for whoever ``case_statistics_for_user`` answers
    with an empty table.

    The same counters as three calls of ``case_statistics_for_user(group_by="month")`` (the
    day, the month, the trend): this month is the trend's last month, and the day is one more
    labelled span of the trend's ``UNION ALL``. One statement instead of three, each with its
    scope, stamp and transaction round trips (issue 21: the district's KPIs). Never kept: the
    cockpit's figures are live. ``scope``: the caller's, when already read (``scope_for(user)``).
    """
    _check("month", first, today, None)
    scope = scope if scope is not None else scope_for(user)
    empty = CaseFigures(months=[], today=Counters(), this_month=Counters())
    if not isinstance(user, User) or user.role not in STATS_ROLES or not scope.grid_ids:
        return empty
    every = _all_areas()
    targets = _targets("month", _areas(scope.area_ids, every), every)[0]
    months, pieces = _month_pieces(first, today)
    reads: list[tuple[str | None, tuple[str, date, date, int]]] = []
    if months is not None:
        reads.append((None, ("m", months[0], months[1], 1)))
    reads.extend((f"{start:%Y-%m}", span) for start, last in pieces for span in read_plan(start, last))
    reads.extend((_TODAY, span) for span in read_plan(today, today))
    key = "to_char(period, 'YYYY-MM')" if connection.vendor == "postgresql" else "substr(period, 1, 7)"
    sums = _signed_sums(key, "all", sorted(targets), reads)
    day = sums.pop(_TODAY, Counters())
    return CaseFigures(months=sorted(sums.items()), today=day,
                       this_month=sums.get(f"{today:%Y-%m}", Counters()))


def _fill(table: StatsTable, area_ids: Iterable[int], window: tuple[date, date] | None) -> StatsTable:
    """The rows and total of ``table`` for these areas, read from the rollups."""
    group_by, start, end = table.group_by, table.start, table.end
    every = _all_areas()
    targets, mapping, area_labels = _targets(group_by, _areas(area_ids, every), every)
    grids = frozenset(pk for pk in targets if every[pk].level == AreaLevel.GRID)
    current = _regroup(group_by, _collect(group_by, start, end, targets, grids), mapping)
    previous = _regroup(group_by, _collect(group_by, window[0], window[1], targets, grids), mapping) if window else {}
    if group_by == "month" and window:
        # Each month is compared with the month as far back as the comparison period is.
        shift = (start.year - window[0].year) * 12 + start.month - window[0].month
        previous = {_month_key(k, shift): v for k, v in previous.items()}
    labels = _labels(group_by, set(current) | set(previous), area_labels)
    keys = sorted(set(current) | set(previous), key=lambda k: labels[k][0])
    if group_by in {"department", "category", "source"}:
        keys.sort(key=lambda k: -current.get(k, Counters()).reported)
    total_now, total_before = [0] * len(COUNTER_NAMES), [0] * len(COUNTER_NAMES)
    for key in keys:
        counters = current.get(key, Counters())
        row = StatRow(key=key, label=labels[key][1], counters=counters, values=compute(counters))
        total_now = [a + b for a, b in zip(total_now, counters.as_tuple(), strict=True)]
        if window:
            before = previous.get(key, Counters())
            total_before = [a + b for a, b in zip(total_before, before.as_tuple(), strict=True)]
            row.previous = compute(before)
            row.deltas = _deltas(row.values, row.previous)
        table.rows.append(row)
    total = Counters(*total_now)
    table.total = StatRow(key="total", label=_("合计"), counters=total, values=compute(total))
    if window:
        table.total.previous = compute(Counters(*total_before))
        table.total.deltas = _deltas(table.total.values, table.total.previous)
    return table
