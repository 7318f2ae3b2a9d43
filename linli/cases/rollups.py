"""Keeping the statistics rollups current as cases change, and rebuilding them.

A case's contribution to the rollups is a pure function of its row (:func:`contributions`
of :class:`CaseFacts`). Every write that changes a case applies *new contribution − old
contribution* in the same transaction (:func:`rollup_apply`), so the tables never drift;
:func:`rollup_rebuild` recomputes the same thing in SQL straight from the case table, and a
test checks both agree after random sequences of transitions.

Writes are one ``INSERT … ON CONFLICT DO UPDATE SET c = c + excluded.c`` per table (the
same statement on SQLite ≥ 3.24 and PostgreSQL), rows sorted by key so that concurrent
transactions lock them in the same order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Q
from django.utils import timezone

from linli.cases.choices import CaseAction, CaseSource, CaseStatus
from linli.cases.indicators import COUNTER_NAMES
from linli.cases.models import Case, CaseEvent, Category
from linli.cases.stats_models import CaseRollup, CaseRollupArea
from linli.core.actors import Actor
from linli.core.bulk import Statement, array_literal
from linli.core.calendar import SHANGHAI
from linli.core.services import audit_record
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

PROACTIVE_SOURCES: Final = frozenset({CaseSource.PATROL, CaseSource.CAMERA, CaseSource.IOT})
# Cancelled (invalid) and merged cases count as reported, never in a cohort to be handled.
EXCLUDED_STATUSES: Final = frozenset({CaseStatus.CANCELLED, CaseStatus.MERGED})
MISDISPATCH_ACTIONS: Final = frozenset({CaseAction.REASSIGN, CaseAction.REJECT_BACK})
SATISFIED_FROM: Final = 4
# Dimensions of the area rollup; grains: day, ISO week (period = its Monday) and month
# (period = its first day). Weeks let any window be read as months, a few weeks and at
# most three days at either end (see ``linli.cases.stats.read_plan``).
AREA_DIMS: Final = ("all", "major", "source", "department")
GRAINS: Final = ("d", "w", "m")

_I = {name: i for i, name in enumerate(COUNTER_NAMES)}
_N = len(COUNTER_NAMES)
DayKey = tuple[date, int, int, int, str, int]  # day, grid, category, major, source, department
AreaKey = tuple[str, str, int, date, str]  # grain, dim, area, period, value


@dataclass(frozen=True)
class CaseFacts:
    """What of a case the statistics count: its keys and the local dates of its events."""

    grid_id: int
    category_id: int
    major_id: int
    source: str
    department_id: int
    status: str
    reported: date
    registered: date | None
    dispatched: date | None
    handled: date | None
    closed: date | None
    due: date | None
    handle_seconds: int | None
    handled_on_time: bool
    on_spot: bool
    rework: bool
    misdispatched: bool
    overdue: bool
    satisfaction: int | None


def local_day(value: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant (the day a counter lands on)."""
    return timezone.localtime(value, SHANGHAI).date()


def _day(value: datetime | None) -> date | None:
    return None if value is None else local_day(value)


def facts_of(
    *, grid_id: int | None, category_id: int, major_id: int | None, source: str,
    department_id: int | None, status: str, created_at: datetime, registered_at: datetime | None,
    dispatched_at: datetime | None, handled_at: datetime | None, closed_at: datetime | None,
    due_at: datetime | None, handled_on_spot: bool, rework_count: int, overdue_count: int,
    satisfaction: int | None, misdispatched: bool,
) -> CaseFacts:
    """Facts from plain column values (bulk paths build them without model instances)."""
    seconds = None
    if handled_at is not None and dispatched_at is not None:
        # Whole seconds of each instant, as SQL's epoch functions give them in the rebuild.
        seconds = int(handled_at.timestamp()) - int(dispatched_at.timestamp())
    late = handled_at is not None and due_at is not None and handled_at > due_at
    return CaseFacts(
        grid_id=grid_id or 0, category_id=category_id, major_id=major_id or category_id,
        source=source, department_id=department_id or 0, status=status,
        reported=local_day(created_at), registered=_day(registered_at),
        dispatched=_day(dispatched_at), handled=_day(handled_at), closed=_day(closed_at),
        due=_day(due_at), handle_seconds=seconds,
        handled_on_time=handled_at is not None and due_at is not None and handled_at <= due_at,
        on_spot=handled_on_spot, rework=rework_count > 0, misdispatched=misdispatched,
        overdue=overdue_count > 0 or late, satisfaction=satisfaction,
    )


def case_misdispatched(case: Case) -> bool:
    """Whether the case was ever rejected back or reassigned (one indexed query)."""
    if case.pk is None or case.dispatched_at is None:
        return False
    return case.events.filter(action__in=MISDISPATCH_ACTIONS).exists()


def category_majors(category_ids: Iterable[int]) -> dict[int, int]:
    """小类 id → its 大类 id (itself for a 大类), in one query, for bulk callers."""
    return {pk: parent or pk for pk, parent in
            Category.objects.filter(pk__in=set(category_ids)).values_list("pk", "parent_id")}


def rollup_facts(case: Case, *, misdispatched: bool | None = None, major_id: int | None = None) -> CaseFacts:
    """The facts of a case as it is now.

    ``misdispatched`` saves the event lookup; ``major_id`` (see :func:`category_majors`)
    saves loading ``case.category`` when only ``category_id`` is set.
    """
    if major_id is None:
        major_id = case.category.parent_id or case.category_id
    return facts_of(
        grid_id=case.grid_id, category_id=case.category_id, major_id=major_id,
        source=case.source, department_id=case.department_id, status=case.status,
        created_at=case.created_at, registered_at=case.registered_at,
        dispatched_at=case.dispatched_at, handled_at=case.handled_at, closed_at=case.closed_at,
        due_at=case.due_at, handled_on_spot=case.handled_on_spot,
        rework_count=case.rework_count, overdue_count=case.overdue_count,
        satisfaction=case.satisfaction,
        misdispatched=case_misdispatched(case) if misdispatched is None else misdispatched,
    )


def contributions(f: CaseFacts) -> dict[date, list[int]]:
    """Counter vectors (``COUNTER_NAMES`` order) the case adds, per local day.

    The rules here are the definitions of ``docs/cases-indicators.md``; the SQL of
    :func:`rollup_rebuild` says the same thing and a test holds them together.
    """
    out: dict[date, list[int]] = {}

    def add(day: date, name: str, amount: int = 1) -> None:
        vector = out.get(day)
        if vector is None:
            vector = out[day] = [0] * _N
        vector[_I[name]] += amount

    counted = f.status not in EXCLUDED_STATUSES
    add(f.reported, "reported")
    if f.source in PROACTIVE_SOURCES:
        add(f.reported, "proactive")
    if counted and f.overdue:
        add(f.reported, "overdue")
    if f.registered is not None:
        add(f.registered, "registered")
        if counted:
            add(f.registered, "should_close")
            if f.closed is not None:
                add(f.registered, "closed_in_cohort")
                if f.due is None or f.handled_on_time:
                    add(f.registered, "closed_on_time")
            if f.rework:
                add(f.registered, "rework")
    if f.dispatched is not None:
        add(f.dispatched, "dispatched")
        if not f.misdispatched:
            add(f.dispatched, "dispatched_accurate")
    if f.handled is not None:
        add(f.handled, "handled")
        if f.handle_seconds is not None:
            add(f.handled, "handle_timed")
            add(f.handled, "handle_seconds", f.handle_seconds)
        if f.on_spot:
            add(f.handled, "on_spot")
    if counted and f.due is not None:
        add(f.due, "should_handle")
        if f.handled_on_time:
            add(f.due, "handled_on_time")
    if f.closed is not None:
        add(f.closed, "closed")
        if f.satisfaction is not None:
            add(f.closed, "rated")
            if f.satisfaction >= SATISFIED_FROM:
                add(f.closed, "satisfied")
    return out


def _day_key(f: CaseFacts, day: date) -> DayKey:
    return (day, f.grid_id, f.category_id, f.major_id, f.source, f.department_id)


def week_of(day: date) -> date:
    """The Monday of the ISO week of ``day`` (the period of its week row)."""
    return day - timedelta(days=day.weekday())


def area_keys(key: DayKey, areas: Sequence[int]) -> Iterator[AreaKey]:
    """The area-rollup rows a daily key feeds: per area of the grid's chain, grain and dim.

    The grid's own rows are only ``dim="all"``: its 大类, source and department breakdowns
    are read from the daily table, which is already keyed by grid (``stats._grid_breakdowns``),
    so intake does not update three more rows per grain for every grid a batch touches.
    """
    day, grid, _category, major, source, department = key
    week, month = week_of(day), day.replace(day=1)
    values = (("all", ""), ("major", str(major)), ("source", source), ("department", str(department)))
    for area in areas:
        for dim, value in (values if area != grid else values[:1]):
            yield ("d", dim, area, day, value)
            yield ("w", dim, area, week, value)
            yield ("m", dim, area, month, value)


def grid_chains(grid_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """Grid id → the ids of the grid and its ancestors (from ``Area.path``), one query.

    Cases without a grid (0) or with an unknown one have no chain: they stay in the daily
    table but no area's statistics count them.
    """
    wanted = {g for g in grid_ids if g}
    if not wanted:
        return {}
    paths = Area.objects.filter(pk__in=wanted).values_list("pk", "path")
    return {pk: tuple(int(p) for p in path.strip("/").split("/") if p) or (pk,) for pk, path in paths}


@dataclass
class RollupDelta:
    """Pending changes of the daily table, summed over any number of cases; the area
    rollup is derived from it when written."""

    days: dict[DayKey, list[int]]

    @classmethod
    def empty(cls) -> RollupDelta:
        return cls(days=defaultdict(lambda: [0] * _N))

    def add(self, facts: CaseFacts | None, sign: int) -> None:
        if facts is None:
            return
        for day, vector in contributions(facts).items():
            target = self.days[_day_key(facts, day)]
            for i, v in enumerate(vector):
                target[i] += sign * v

    def change(self, before: CaseFacts | None, after: CaseFacts | None) -> None:
        if before == after:
            return
        self.add(before, -1)
        self.add(after, +1)

    def chains(self, known: Mapping[int, tuple[int, ...]] | None = None) -> Mapping[int, tuple[int, ...]]:
        """The area chains of the delta's grids: ``known`` when it has them all, else looked up."""
        grids = {key[1] for key in self.days if key[1]}
        return known if known is not None and grids <= known.keys() else grid_chains(grids)

    def areas(self, chains: Mapping[int, tuple[int, ...]] | None = None) -> dict[AreaKey, list[int]]:
        """The area-rollup rows of the delta (what :func:`area_keys` says, summed).

        Summed per (day, grid, dim, value) first, then spread over the grid's chain, the
        week and the month: far fewer vector additions than spreading every daily key.
        """
        chains = self.chains(chains)
        at_grid: dict[tuple[date, str, str, int], list[int]] = {}
        for (day, grid, _category, major, source, department), vector in self.days.items():
            if grid not in chains or not any(vector):
                continue
            for dim_key in ((day, "all", "", grid), (day, "major", str(major), grid),
                            (day, "source", source, grid), (day, "department", str(department), grid)):
                target = at_grid.get(dim_key)
                at_grid[dim_key] = vector.copy() if target is None else [a + b for a, b in zip(target, vector, strict=True)]
        out: dict[AreaKey, list[int]] = {}
        periods: dict[date, tuple[date, date]] = {}
        for (day, dim, value, grid), vector in at_grid.items():
            week_month = periods.get(day)
            if week_month is None:
                week_month = periods[day] = (week_of(day), day.replace(day=1))
            week, month = week_month
            for area in chains[grid]:
                if area == grid and dim != "all":
                    continue  # a grid's breakdowns are read from the daily table
                for area_key in (("d", dim, area, day, value), ("w", dim, area, week, value),
                                 ("m", dim, area, month, value)):
                    target = out.get(area_key)
                    out[area_key] = vector if target is None else [a + b for a, b in zip(target, vector, strict=True)]
        return out


_Row = tuple[date | int | str, ...]
_DAY_KEYS: Final = (("day", "date"), ("grid_id", "integer"), ("category_id", "integer"),
                    ("major_id", "integer"), ("source", "text"), ("department_id", "integer"))
_AREA_KEYS: Final = (("grain", "text"), ("dim", "text"), ("area_id", "integer"), ("period", "date"),
                     ("value", "text"))
# From this many rows on, PostgreSQL gets them by COPY into a temporary table (the arrays of
# ``unnest`` are quoted in Python, which costs more than COPY for a batch).
_COPY_FROM: Final = 500
_COUNTER_TYPES: Final = tuple((n, "bigint" if n == "handle_seconds" else "integer") for n in COUNTER_NAMES)


def _upsert_sql(table: str, key_columns: Sequence[tuple[str, str]], source: str) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c, _t in (*key_columns, *_COUNTER_TYPES))
    conflict = ", ".join(quote(c) for c, _t in key_columns)
    updates = ", ".join(f"{quote(c)} = {quote(table)}.{quote(c)} + excluded.{quote(c)}" for c in COUNTER_NAMES)
    return (f"INSERT INTO {quote(table)} ({columns}) {source} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}")


@contextmanager
def _staged(cursor: CursorWrapper, table: str, key_columns: Sequence[tuple[str, str]],
            rows: list[_Row]) -> Iterator[tuple[str, str]]:
    """PostgreSQL: ``rows`` COPY-loaded into a temporary table shaped like ``table``'s keys
    and counters (``n`` keeps their order); yields its name and column list, drops it after."""
    typed = (*key_columns, *_COUNTER_TYPES)
    names = ", ".join(c for c, _t in typed)
    staging = f"_linli_{table}"
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} (n serial, "
        + ", ".join(f"{c} {t}" for c, t in typed) + ") ON COMMIT DROP",
    )
    with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    yield staging, names
    cursor.execute(f"DROP TABLE {staging}")


def _upsert(table: str, key_columns: Sequence[tuple[str, str]], rows: list[_Row]) -> None:
    """Add ``rows`` (keys then counters) to ``table``.

    The statement text is constant (rows travel as data, not as SQL), so neither the driver
    nor the server re-parses a statement the size of the batch: PostgreSQL takes one array
    per column (``unnest``), SQLite an ``executemany`` of the one-row upsert.
    """
    if not rows:
        return
    typed = (*key_columns, *_COUNTER_TYPES)
    if connection.vendor == "postgresql" and len(rows) > _COPY_FROM:
        with connection.cursor() as cursor, _staged(cursor, table, key_columns, rows) as (staging, names):
            cursor.execute(_upsert_sql(table, key_columns, f"SELECT {names} FROM {staging} ORDER BY n"))  # noqa: S608
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(*_upsert_statement(table, key_columns, rows))
        return
    values = ", ".join("?" for _ in typed)
    data = [tuple(v.isoformat() if isinstance(v, date) else v for v in row) for row in rows]
    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors:
        raw.executemany(_upsert_sql(table, key_columns, f"VALUES ({values})"), data)


def _upsert_statement(table: str, key_columns: Sequence[tuple[str, str]], rows: list[_Row]) -> Statement:
    """PostgreSQL: the upsert of ``rows`` as one statement whatever their number."""
    typed = (*key_columns, *_COUNTER_TYPES)
    # Each column travels as one array literal in text, cast by the server: the driver's
    # per-element array adaptation cost more than the rest of the statement.
    arrays = ", ".join(f"%s::{t}[]" for _c, t in typed)
    # ORDER BY keeps the lock order of concurrent writers (rows come sorted by key).
    names = ", ".join(c for c, _t in typed)
    sql = _upsert_sql(table, key_columns,
                      f"SELECT {names} FROM unnest({arrays}) WITH ORDINALITY AS u ({names}, n) ORDER BY n")  # noqa: S608
    return sql, [array_literal(column) for column in zip(*rows, strict=True)]


def _areas_on_server(day_rows: list[_Row], grids: set[int], chains: Mapping[int, tuple[int, ...]]) -> None:
    """PostgreSQL, a large delta: the day rows are loaded once (COPY) and the area rows
    derived from them by the server — spread over the grid's chain × day/week/month × the
    four dimensions and summed, as :meth:`RollupDelta.areas` does in Python — on the
    database's core instead of the application's (half of a 1,000-case batch was this)."""
    quote = connection.ops.quote_name
    day_table, area_table = CaseRollup._meta.db_table, CaseRollupArea._meta.db_table
    staging = f"_linli_{day_table}"
    pairs = [(grid, area) for grid in sorted(grids & chains.keys()) for area in chains[grid]]
    counters = [quote(c) for c in COUNTER_NAMES]
    # Summed per (area, day, dimension) first, then per grain from those few rows: a third
    # of the rows through the aggregate. Stage sums are cast back to the column's type
    # (a bigint sum would be numeric, much slower to add again).
    by_day = ", ".join(f"SUM(s.{c})::{t} AS {c}" for c, (_n, t) in zip(counters, _COUNTER_TYPES, strict=True))
    sums = ", ".join(f"SUM(a.{c})" for c in counters)
    keys = "g.grain, a.dim, a.area_id, g.period, a.value"
    derived = (
        f"WITH a AS (SELECT c.area_id, s.day, x.dim, x.value, {by_day} FROM {staging} s "  # noqa: S608 -- names from code
        "JOIN unnest(%s::integer[], %s::integer[]) AS c (grid_id, area_id) ON c.grid_id = s.grid_id "
        "CROSS JOIN LATERAL (VALUES ('all', ''), ('major', s.major_id::text), ('source', s.source), "
        "('department', s.department_id::text)) AS x (dim, value) "
        "WHERE x.dim = 'all' OR c.area_id <> c.grid_id "  # a grid's own rows: only 'all' (see area_keys)
        "GROUP BY c.area_id, s.day, x.dim, x.value) "
        f"SELECT {keys}, {sums} FROM a "
        "CROSS JOIN LATERAL (VALUES ('d', a.day), ('w', a.day - (extract(isodow FROM a.day)::integer - 1)), "
        "('m', date_trunc('month', a.day)::date)) AS g (grain, period) "
        f"GROUP BY {keys} HAVING " + " OR ".join(f"SUM(a.{c}) <> 0" for c in counters)
        # The key order of the Python path: concurrent writers lock rows in the same order.
        + f" ORDER BY {keys}"
    )
    with connection.cursor() as cursor, _staged(cursor, day_table, _DAY_KEYS, day_rows) as (loaded, names):
        cursor.execute(_upsert_sql(day_table, _DAY_KEYS, f"SELECT {names} FROM {loaded} ORDER BY n"))  # noqa: S608
        # The per-day sort of a 1,000-case batch (~25,000 rows) would spill to disk at the
        # default 4 MB; the setting is put back for the rest of the caller's transaction.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_upsert_sql(area_table, _AREA_KEYS, derived),
                       [array_literal([g for g, _a in pairs]), array_literal([a for _g, a in pairs])])
        cursor.execute("SET LOCAL work_mem TO DEFAULT")


def rollup_write(delta: RollupDelta, *, chains: Mapping[int, tuple[int, ...]] | None = None) -> None:
    """Add a delta to both tables (inside the caller's transaction). ``chains`` (grid →
    its area chain, as :func:`grid_chains` gives) saves looking them up."""
    day_rows = _rows(delta.days)
    if connection.vendor == "postgresql" and len(day_rows) > _COPY_FROM:
        _areas_on_server(day_rows, {key[1] for key in delta.days if key[1]}, delta.chains(chains))
        return
    area_rows = _rows(delta.areas(chains))
    _upsert(CaseRollup._meta.db_table, _DAY_KEYS, day_rows)
    _upsert(CaseRollupArea._meta.db_table, _AREA_KEYS, area_rows)


def rollup_statements(changes: Iterable[tuple[CaseFacts | None, CaseFacts | None]], *,
                      chains: Mapping[int, tuple[int, ...]] | None = None) -> list[Statement]:
    """PostgreSQL: what :func:`rollup_apply_many` writes for a small batch, as statements
    to send with others in one round trip (:func:`linli.core.bulk.execute_together`); the
    rows they lock are every writer's (a street's, a district's), so the fewer round trips
    they are held for, the better."""
    delta = _delta_of(changes)
    return [_upsert_statement(table, keys, rows) for table, keys, rows in (
        (CaseRollup._meta.db_table, _DAY_KEYS, _rows(delta.days)),
        (CaseRollupArea._meta.db_table, _AREA_KEYS, _rows(delta.areas(chains))),
    ) if rows]


def _rows(vectors: Mapping[Any, list[int]]) -> list[_Row]:
    """Keys then counters, in key order (the lock order of concurrent writers); rows that
    add nothing are left out."""
    return [(*key, *vector) for key, vector in sorted(vectors.items()) if any(vector)]


def rollup_apply(*, case: Case, before: CaseFacts | None, action: str = "",
                 chains: Mapping[int, tuple[int, ...]] | None = None) -> CaseFacts:
    """Move the rollups from ``before`` (None for a new case) to the case as it is now.

    Call inside the transaction that saved the case. ``action`` is the transition just
    made: a rejection or reassignment marks the dispatch as inaccurate without a lookup.
    Returns the new facts (the ``before`` of a next change in the same request).
    """
    if before is None:
        misdispatched = action in MISDISPATCH_ACTIONS
    else:
        misdispatched = before.misdispatched or action in MISDISPATCH_ACTIONS
    after = rollup_facts(case, misdispatched=misdispatched)
    delta = RollupDelta.empty()
    delta.change(before, after)
    rollup_write(delta, chains=chains)
    return after


def rollup_apply_many(changes: Iterable[tuple[CaseFacts | None, CaseFacts | None]], *,
                      chains: Mapping[int, tuple[int, ...]] | None = None) -> None:
    """Apply the changes of many cases in one statement per table (bulk intake)."""
    rollup_write(_delta_of(changes), chains=chains)


def _delta_of(changes: Iterable[tuple[CaseFacts | None, CaseFacts | None]]) -> RollupDelta:
    delta = RollupDelta.empty()
    for before, after in changes:
        delta.change(before, after)
    return delta


@contextmanager
def rollup_tracking(case: Case, *, action: str = "") -> Iterator[None]:
    """``with rollup_tracking(case, action=...): <change and save the case>``.

    Takes the facts before the block and applies the difference after it; for a case that
    is not saved yet, everything it contributes is added.
    """
    before = rollup_facts(case) if case.pk is not None else None
    yield
    rollup_apply(case=case, before=before, action=action)


# ----------------------------------------------------------------------------------------
# Rebuild from the case table, in SQL (a few seconds for millions of cases).


@dataclass(frozen=True)
class _Dialect:
    vendor: str

    def day(self, column: str) -> str:
        if self.vendor == "postgresql":
            return f"CAST(({column} AT TIME ZONE 'Asia/Shanghai') AS date)"
        # Django stores UTC text; Shanghai has had no daylight saving since 1991.
        return f"date({column}, '+8 hours')"

    def epoch(self, column: str) -> str:
        if self.vendor == "postgresql":
            return f"CAST(floor(extract(epoch from {column})) AS bigint)"
        return f"CAST(strftime('%%s', {column}) AS integer)"

    def month(self, column: str) -> str:
        if self.vendor == "postgresql":
            return f"CAST(date_trunc('month', {column}) AS date)"
        return f"date({column}, 'start of month')"

    def week(self, column: str) -> str:
        """The Monday of the ISO week (as :func:`week_of`)."""
        if self.vendor == "postgresql":
            return f"CAST(date_trunc('week', {column}) AS date)"
        # 'weekday 1' moves forward to a Monday (or stays on one): from six days earlier
        # that is the Monday on or before the day.
        return f"date({column}, '-6 days', 'weekday 1')"

    @staticmethod
    def text(column: str) -> str:
        return f"CAST({column} AS varchar(32))"


def _in(values: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


def _rebuild_daily_sql(d: _Dialect, case_table: str, category_table: str, event_table: str) -> str:
    excluded = _in(EXCLUDED_STATUSES)
    counted = f"c.status NOT IN {excluded}"
    late = "(c.handled_at IS NOT NULL AND c.due_at IS NOT NULL AND c.handled_at > c.due_at)"
    on_time = "(c.handled_at IS NOT NULL AND c.due_at IS NOT NULL AND c.handled_at <= c.due_at)"
    misdispatched = (
        f"EXISTS (SELECT 1 FROM {event_table} e WHERE e.case_id = c.id "  # noqa: S608 -- constants only
        f"AND e.action IN {_in(MISDISPATCH_ACTIONS)})"
    )

    def flag(condition: str) -> str:
        return f"CASE WHEN {condition} THEN 1 ELSE 0 END"

    def part(day_column: str, where: str, **values: str) -> str:
        columns = ", ".join(values.get(name, "0") + f" AS {name}" for name in COUNTER_NAMES)
        return (
            f"SELECT {d.day(day_column)} AS day, COALESCE(c.grid_id, 0) AS grid_id, "  # noqa: S608 -- constants only
            f"c.category_id AS category_id, "
            f"COALESCE(k.parent_id, k.id) AS major_id, c.source AS source, "
            f"COALESCE(c.department_id, 0) AS department_id, {columns} "
            f"FROM {case_table} c JOIN {category_table} k ON k.id = c.category_id WHERE {where}"
        )

    parts = [
        part("c.created_at", "1 = 1", reported="1",
             proactive=flag(f"c.source IN {_in(PROACTIVE_SOURCES)}"),
             overdue=flag(f"{counted} AND (c.overdue_count > 0 OR {late})")),
        part("c.registered_at", "c.registered_at IS NOT NULL", registered="1",
             should_close=flag(counted),
             closed_in_cohort=flag(f"{counted} AND c.closed_at IS NOT NULL"),
             closed_on_time=flag(f"{counted} AND c.closed_at IS NOT NULL AND (c.due_at IS NULL OR {on_time})"),
             rework=flag(f"{counted} AND c.rework_count > 0")),
        part("c.dispatched_at", "c.dispatched_at IS NOT NULL", dispatched="1",
             dispatched_accurate=flag(f"NOT {misdispatched}")),
        part("c.handled_at", "c.handled_at IS NOT NULL", handled="1",
             handle_timed=flag("c.dispatched_at IS NOT NULL"),
             handle_seconds=(f"CASE WHEN c.dispatched_at IS NOT NULL THEN "
                             f"{d.epoch('c.handled_at')} - {d.epoch('c.dispatched_at')} ELSE 0 END"),
             on_spot=flag("c.handled_on_spot")),
        part("c.due_at", f"c.due_at IS NOT NULL AND {counted}", should_handle="1",
             handled_on_time=flag(on_time)),
        part("c.closed_at", "c.closed_at IS NOT NULL", closed="1",
             rated=flag("c.satisfaction IS NOT NULL"),
             satisfied=flag(f"c.satisfaction >= {SATISFIED_FROM}")),
    ]
    keys = "day, grid_id, category_id, major_id, source, department_id"
    sums = ", ".join(f"SUM({n})" for n in COUNTER_NAMES)
    table = CaseRollup._meta.db_table
    return (
        f"INSERT INTO {table} ({keys}, {', '.join(COUNTER_NAMES)}) "  # noqa: S608 -- no user input
        f"SELECT {keys}, {sums} FROM ({' UNION ALL '.join(parts)}) u "
        f"WHERE day >= %s GROUP BY {keys}"
    )


def _rebuild_area_sql(d: _Dialect) -> list[tuple[str, tuple[bool, ...]]]:
    """Statements filling the area rollup from the daily table, in stages that each group
    few rows: the grids' day totals, then each level's parents (deepest first) from their
    children's rows and, for grids (which keep only their totals, see :func:`area_keys`),
    from the grids' daily rows per dimension; then week and month rows from day rows. Each
    takes bounds: the first day rebuilt, or (True) the first day of the first month rebuilt."""
    daily = CaseRollup._meta.db_table
    area = Area._meta.db_table
    table = CaseRollupArea._meta.db_table
    sums = ", ".join(f"SUM(x.{n})" for n in COUNTER_NAMES)
    counters = ", ".join(f"x.{n} AS {n}" for n in COUNTER_NAMES)
    columns = f"grain, period, dim, value, area_id, {', '.join(COUNTER_NAMES)}"
    values = {
        "all": "''", "major": d.text("x.major_id"), "source": "x.source", "department": d.text("x.department_id"),
    }
    statements: list[tuple[str, tuple[bool, ...]]] = [(
        (f"INSERT INTO {table} ({columns}) "  # noqa: S608 -- constants
        f"SELECT 'd', x.day, 'all', '', x.grid_id, {sums} FROM {daily} x "
        f"JOIN {area} g ON g.id = x.grid_id AND g.level = {AreaLevel.GRID} "
        "WHERE x.day >= %s GROUP BY x.day, x.grid_id"), (False,),
    )]
    # Deepest level first: a parent's children are complete before it is summed.
    for level in (AreaLevel.ZONE, AreaLevel.COMMUNITY, AreaLevel.STREET, AreaLevel.DISTRICT):
        children = (
            f"SELECT x.period AS period, x.dim AS dim, x.value AS value, c.parent_id AS area_id, {counters} "  # noqa: S608
            f"FROM {table} x JOIN {area} c ON c.id = x.area_id AND c.level <> {AreaLevel.GRID} "
            f"JOIN {area} p ON p.id = c.parent_id AND p.level = {level} WHERE x.grain = 'd' AND x.period >= %s"
        )
        grids = [
            f"SELECT x.day, '{dim}', {expr}, g.parent_id, {counters} FROM {daily} x "  # noqa: S608 -- constants
            f"JOIN {area} g ON g.id = x.grid_id AND g.level = {AreaLevel.GRID} "
            f"JOIN {area} p ON p.id = g.parent_id AND p.level = {level} WHERE x.day >= %s"
            for dim, expr in values.items()
        ]
        statements.append((
            f"INSERT INTO {table} ({columns}) "  # noqa: S608 -- constants
            f"SELECT 'd', x.period, x.dim, x.value, x.area_id, {sums} FROM ("
            + " UNION ALL ".join([children, *grids])
            + ") x GROUP BY x.period, x.dim, x.value, x.area_id", (False,) * (1 + len(grids)),
        ))
    statements.extend(
        ((f"INSERT INTO {table} ({columns}) "  # noqa: S608 -- constants
         f"SELECT '{grain}', {period}, x.dim, x.value, x.area_id, {sums} FROM {table} x "
         f"WHERE x.grain = 'd' AND x.period >= %s GROUP BY {period}, x.dim, x.value, x.area_id"), (grain == "m",))
        for grain, period in (("w", d.week("x.period")), ("m", d.month("x.period")))
    )
    return statements


def rollup_rebuild(*, since: date | None = None, actor: Actor | None = None) -> tuple[int, int]:
    """Recompute the rollups from the case tables; returns (daily rows, area rows).

    With ``since``, only months from ``since``'s month on are rebuilt (cheaper after a
    repair) — days and weeks from the Monday on or before that month's first day, so
    that no week row is left half rebuilt; without it, everything. One transaction:
    readers see the old or the new. With an ``actor`` the run is audited (bulk seeding
    audits its own run instead).
    """
    start = (since or date(1970, 1, 1)).replace(day=1)
    first_day = week_of(start)
    dialect = _Dialect(connection.vendor)

    def bound(day: date) -> date | str:
        # SQLite compares the ISO text Django stores; PostgreSQL wants a date.
        return day if dialect.vendor == "postgresql" else day.isoformat()

    rebuilt_area = (Q(grain="m", period__gte=start) | (~Q(grain="m") & Q(period__gte=first_day)))
    with transaction.atomic():
        CaseRollup.objects.filter(day__gte=first_day).delete()
        CaseRollupArea.objects.filter(rebuilt_area).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                _rebuild_daily_sql(dialect, Case._meta.db_table, Category._meta.db_table, CaseEvent._meta.db_table),
                [bound(first_day)],
            )
            for statement, by_month in _rebuild_area_sql(dialect):
                cursor.execute(statement, [bound(start if month else first_day) for month in by_month])
        days = CaseRollup.objects.filter(day__gte=first_day).count()
        areas = CaseRollupArea.objects.filter(rebuilt_area).count()
        if actor is not None:
            audit_record(actor=actor, action="cases.rollup_rebuild", target_type="cases.caserollup",
                         reason=f"since={start.isoformat()} days={days} areas={areas}")
    return days, areas

