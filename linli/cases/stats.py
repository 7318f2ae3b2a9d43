"""Case statistics for a user: the standard indicators by area, department, category,
source or month, with 同比 (yoy) / 环比 (mom) comparison.

Answered from :class:`~linli.cases.stats_models.CaseRollupArea` only, never by scanning
cases: month rows for whole months, day rows for the odd days at either end, read for
the root areas of the user's scope (a street reads its own rows, not its 400 grids').
Scoped: a user sees the areas assigned to them; cases without a grid are in nobody's
statistics.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal, get_args

from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrPromise

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.accounts.selectors import Principal, scope_for
from linli.cases.choices import CaseSource
from linli.cases.indicators import COUNTER_NAMES, INDICATORS, Counters, compute, delta, point_delta
from linli.cases.models import Category, Department
from linli.cases.stats_models import CaseRollupArea
from linli.core.errors import ValidationFailed
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
STATS_ROLES = frozenset(r for r in Role if r != Role.RESIDENT)
MAX_DAYS = 3 * 366

# Which month-rollup dimension answers which grouping.
_DIM = {"grid": "all", "community": "all", "street": "all", "month": "all",
        "department": "department", "category": "major", "source": "source"}
_LEVELS = {"grid": AreaLevel.GRID, "community": AreaLevel.COMMUNITY, "street": AreaLevel.STREET}
_SUMS = {f"s_{name}": Sum(name) for name in COUNTER_NAMES}


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


def read_plan(start: date, end: date) -> list[tuple[str, date, date, int]]:
    """(grain, first, last, sign) spans whose signed sum is exactly [start, end].

    Whole months read month rows. A partial month covering more than half of its month is
    read as the month minus the days left out (counters are additive), so no span reads
    more than about 15 day rows per area.
    """
    months, edges = split_period(start, end)
    plan: list[tuple[str, date, date, int]] = []
    if months is not None:
        plan.append(("m", months[0], months[1], 1))
    pieces: list[tuple[date, date]] = []
    for first, last in edges:
        while first <= last:  # an edge range may cross one month boundary
            stop = min(last, _month_end(first))
            pieces.append((first, stop))
            first = stop + timedelta(days=1)
    for first, last in pieces:
        month_first, month_last = first.replace(day=1), _month_end(first)
        if (last - first).days + 1 <= (month_last - month_first).days // 2:
            plan.append(("d", first, last, 1))
            continue
        plan.append(("m", month_first, month_first, 1))
        if month_first < first:
            plan.append(("d", month_first, first - timedelta(days=1), -1))
        if last < month_last:
            plan.append(("d", last + timedelta(days=1), month_last, -1))
    return plan


def _month_key(key: str, shift: int) -> str:
    """``YYYY-MM`` moved ``shift`` months later."""
    moved = _add_months(date(int(key[:4]), int(key[5:7]), 1), shift)
    return f"{moved:%Y-%m}"


def _collect(group_by: str, start: date, end: date, targets: Iterable[int]) -> dict[str, Counters]:
    """Counters per raw group key (area id, dimension value or ``YYYY-MM``) over the rows of
    ``targets`` (disjoint areas): month rows for whole months, day rows for the rest."""
    dim = _DIM[group_by]
    areas = sorted(targets)
    sums: dict[str, list[int]] = {}
    column = "area_id" if group_by in _LEVELS else ("period" if group_by == "month" else "value")
    for grain, first, last, sign in read_plan(start, end):
        rows = CaseRollupArea.objects.filter(
            grain=grain, dim=dim, area_id__in=areas, period__gte=first, period__lte=last,
        ).order_by()
        if group_by == "month" and grain == "d":
            rows = rows.annotate(m=TruncMonth("period"))
            group = "m"
        else:
            group = column
        for key, *values in rows.values(group).annotate(**_SUMS).values_list(group, *_SUMS):
            name = f"{key:%Y-%m}" if group_by == "month" else str(key)
            target = sums.get(name)
            if target is None:
                sums[name] = [sign * int(v or 0) for v in values]
            else:
                for i, v in enumerate(values):
                    target[i] += sign * int(v or 0)
    # A group whose month minus its left-out days nets to nothing is not a group.
    return {name: Counters(*vector) for name, vector in sums.items() if any(vector)}


@dataclass(frozen=True)
class _Area:
    pk: int
    parent_id: int | None
    level: int
    path: tuple[int, ...]
    code: str
    name: str


def _areas(ids: Iterable[int]) -> dict[int, _Area]:
    rows = Area.objects.filter(pk__in=set(ids)).values_list("pk", "parent_id", "level", "path", "code", "name")
    return {pk: _Area(pk, parent, level, tuple(int(p) for p in path.strip("/").split("/") if p), code, name)
            for pk, parent, level, path, code, name in rows}


def _targets(group_by: str, scope_areas: dict[int, _Area]) -> tuple[set[int], dict[str, str], dict[str, tuple[str, str]]]:
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
    ancestors = _areas({p for pk in targets for p in scope_areas[pk].path} - set(scope_areas))
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
) -> StatsTable:
    """Indicator rows for the user's grids between ``start`` and ``end`` (inclusive).

    Another area's user, a resident or an API key gets an empty table, never an error
    that would reveal what exists.
    """
    _check(group_by, start, end, compare)
    window = comparison_window(start, end, compare)
    table = StatsTable(group_by=group_by, start=start, end=end, compare=compare,
                       compare_start=window[0] if window else None, compare_end=window[1] if window else None)
    scope = scope_for(user)
    if not isinstance(user, User) or user.role not in STATS_ROLES or not scope.grid_ids:
        return table
    targets, mapping, area_labels = _targets(group_by, _areas(scope.area_ids))
    current = _regroup(group_by, _collect(group_by, start, end, targets), mapping)
    previous = _regroup(group_by, _collect(group_by, window[0], window[1], targets), mapping) if window else {}
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
