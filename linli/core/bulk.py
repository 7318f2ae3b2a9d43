"""Bulk writes inside the caller's transaction: PostgreSQL ``COPY`` (psycopg 3) or SQLite
``executemany``. For the paths where one ORM statement per row would dominate the cost
(imports, batch intake, the audit entries of a batch); ids can be reserved up front so rows
point at each other without a round trip per row.
"""

from __future__ import annotations

import io
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import polars as pl
from django.db import IntegrityError, connection, models
from django.db.models.expressions import RawSQL

M = TypeVar("M", bound=models.Model)

# Per model: (attname, default, whether the default is a callable) in column order, and the
# attnames as a set.
_CONSTRUCTION: dict[type[models.Model], tuple[tuple[tuple[str, Any, bool], ...], frozenset[str]]] = {}


def unsaved(model: type[M], values: Mapping[str, Any]) -> M:
    """``model(**values)`` — values by attname (``category_id``, not ``category``), every other
    field its default — through ``Model.__init__``'s positional path. The keyword path tries
    each of the model's fields against the keywords and asks a missing one for its default;
    for a 44-column case that is 37 µs against 15, and batch intake builds five objects a case."""
    known = _CONSTRUCTION.get(model)
    if known is None:
        plan = tuple(
            (f.attname, f.default, True) if f.has_default() and callable(f.default) else (f.attname, f.get_default(), False)
            for f in model._meta.concrete_fields
        )
        known = _CONSTRUCTION[model] = (plan, frozenset(name for name, _d, _c in plan))
    plan, names = known
    if not values.keys() <= names:
        raise TypeError(f"{model.__name__} has no field(s) {', '.join(sorted(set(values) - names))}")
    return model(*[values[name] if name in values else (default() if call else default) for name, default, call in plan])


def column_of(model: type[models.Model], name: str) -> str:
    column = getattr(model._meta.get_field(name), "column", None)
    if not isinstance(column, str):  # pragma: no cover - only concrete fields are listed
        raise TypeError(f"{model.__name__}.{name} has no column")
    return column


def _raw_sqlite() -> Any:
    connection.ensure_connection()
    raw = connection.connection
    if raw is None:  # pragma: no cover - ensure_connection() just ran
        raise RuntimeError("no database connection")
    return raw


def db_value(value: object) -> object:
    """Python value → what the backend stores (SQLite keeps datetimes/dates as text)."""
    if connection.vendor == "sqlite":
        if isinstance(value, datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, date):
            return value.isoformat()
    return value


_AS_IS = frozenset({str, int, float, bool, bytes, type(None)})


def _sqlite_converter() -> Callable[[object], object]:
    """:func:`db_value` for many cells: the backend looked up once, each distinct datetime
    adapted once (the rows of a batch share their timestamps). Per cell, ``db_value`` cost a
    broadcast of 20,000 rows (290,000 cells) 1.4 s of its 4 on a loaded machine."""
    adapt = connection.ops.adapt_datetimefield_value
    adapted: dict[datetime, object] = {}

    def convert(value: object) -> object:
        if type(value) in _AS_IS:
            return value
        if isinstance(value, datetime):
            out = adapted.get(value)
            if out is None:
                out = adapted[value] = adapt(value)
            return out
        if isinstance(value, date):
            return value.isoformat()
        return value

    return convert


def int_list(ids: Sequence[int]) -> RawSQL:
    """``ids`` as a subquery of one parameter, for ``field__in=int_list(ids)``: a plain list
    makes Django prepare and bind every element (10,000 recipients: ≈ 0.2 s per lookup on a
    loaded machine), a JSON array (SQLite) or an array (PostgreSQL) goes as one value."""
    numbers = [int(i) for i in ids]
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [numbers])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(numbers)])


class Among(models.Expression):
    """``field`` is one of ``ids``, as a filter: ``filter(Among("grid_id", ids))``; an empty
    set matches nothing.

    ``field__in=ids`` prepares every id through the field and binds one placeholder per id,
    which psycopg then splits and adapts one by one: for a district's 400 grids and 900 areas
    that was most of the cockpit's Python time (issue 21, docs/benchmarks.md). Unlike
    ``int_list`` (a subquery, which PostgreSQL may answer with a hash join), this stays an
    index condition: ``= ANY(%s::bigint[])`` with the ids as one array literal on PostgreSQL,
    integer literals on SQLite (the plan of placeholders, none to bind). The ids are made
    integers here, so nothing but digits reaches the SQL text.
    """

    output_field = models.BooleanField()
    conditional = True

    def __init__(self, field: str, ids: Iterable[int]) -> None:
        super().__init__()
        self.column: Any = models.F(field)  # a column once resolved
        self.ids = sorted({int(i) for i in ids})

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = compiler.compile(self.column)
        if not self.ids:
            return "1 = 0", []
        numbers = ",".join(map(str, self.ids))
        if connection.vendor == "postgresql":
            # ``array_literal`` of ints, without its per-value type checks
            return f"{lhs} = ANY(%s::bigint[])", [*params, "{" + numbers + "}"]
        return f"{lhs} IN ({numbers})", list(params)


def array_literal(values: Iterable[date | int | str | None]) -> str:
    """A PostgreSQL array literal (``{1,2,"a\\"b",NULL}``) of ints, dates and strings."""
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        elif isinstance(value, int):
            items.append(str(value))
        elif isinstance(value, date):
            items.append(value.isoformat())
        else:
            items.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for ``model``; the caller inserts them with explicit ids.

    PostgreSQL draws them from the identity sequence (safe with concurrent writers); SQLite
    runs with an IMMEDIATE transaction, so nobody else writes until we commit.
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The ids come back as runs (first, last): nearly always one, as a concurrent
            # writer rarely draws in between — not a million rows to fetch and convert.
            cursor.execute(
                "SELECT min(v), max(v) FROM (SELECT v, v - row_number() OVER (ORDER BY v) AS run FROM "
                "(SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS v FROM generate_series(1, %s)) AS drawn) "
                "AS numbered GROUP BY run ORDER BY 1",
                [table, count],
            )
            return [pk for first, last in cursor.fetchall() for pk in range(int(first), int(last) + 1)]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608 -- name from model meta
        start = int(cursor.fetchone()[0]) + 1
    return list(range(start, start + count))


def bulk_insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Insert plain tuples (already in database form, JSON as text) into ``model``'s table."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(column_of(model, f)) for f in fields)
    count = 0
    if connection.vendor == "postgresql":
        # The driver's errors (a unique violation under a race) become Django's IntegrityError.
        with connection.wrap_database_errors, connection.cursor() as cursor, \
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    convert = _sqlite_converter()
    data = [tuple(map(convert, row)) for row in rows]
    placeholders = ", ".join("?" for _ in fields)
    with connection.wrap_database_errors:
        _raw_sqlite().executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", data)  # noqa: S608 -- names from model meta
    return len(data)


def insert_frame(model: type[models.Model], fields: Sequence[str], frame: pl.DataFrame, *, batch: int = 200_000) -> int:
    """Insert a Polars frame whose columns are ``fields`` in order (database form: JSON as
    text, datetimes as ISO text or values). PostgreSQL: the frame goes out as CSV through
    ``COPY`` — written by Polars, no Python object per cell; SQLite: ``executemany``."""
    if frame.height == 0:
        return 0
    if connection.vendor != "postgresql":
        return bulk_insert(model, fields, frame.iter_rows())
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(column_of(model, f)) for f in fields)
    # Polars quotes empty strings and leaves nulls bare, as COPY's CSV format reads them.
    with connection.wrap_database_errors, connection.cursor() as cursor, \
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        for start in range(0, frame.height, batch):
            buffer = io.BytesIO()
            frame.slice(start, batch).write_csv(buffer, include_header=False)
            copy.write(buffer.getvalue())
    return frame.height


@contextmanager
def foreign_keys_suspended(
    models_: Sequence[type[models.Model]], *, referenced: Mapping[type[models.Model], Iterable[int]],
) -> Iterator[None]:
    """PostgreSQL: bulk-load ``models_`` without a foreign-key check per row, inside the
    caller's transaction. Their foreign keys are dropped, the body loads, and they are added
    back ``NOT VALID`` (enforced for every later write; the rows just loaded are not rescanned);
    instead the caller names every id its rows point at that it did not create itself in this
    transaction (``referenced``), and these are checked in one query per table — under the
    locks the ``DROP`` took, so none can vanish before the commit. An id missing raises
    :class:`IntegrityError` (the transaction rolls back). The deferred per-row checks would
    cost ~10 µs a row each at commit: minutes for a district import.

    The locks (ACCESS EXCLUSIVE on the loaded and the referenced tables) are held until the
    commit: for large batch loads only. SQLite: the body runs as is.
    """
    if connection.vendor != "postgresql":
        yield
        return
    quote = connection.ops.quote_name
    dropped: list[tuple[str, str, str]] = []
    with connection.cursor() as cursor:
        # ALTER TABLE refuses tables with deferred checks pending (rows this transaction
        # wrote before, e.g. new persons): run those now; Django's keys are deferred again after.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for model in models_:
            table = model._meta.db_table
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'f' ORDER BY conname", [table])
            for name, definition in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
                dropped.append((table, name, definition))
    yield
    with connection.cursor() as cursor:
        for table, name, definition in dropped:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition} NOT VALID")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for model, ids in referenced.items():
            wanted = sorted({int(i) for i in ids})
            if not wanted:
                continue
            cursor.execute(
                f"SELECT w.id FROM unnest(%s::bigint[]) AS w(id) LEFT JOIN {quote(model._meta.db_table)} t "  # noqa: S608 -- name from model meta
                "ON t.id = w.id WHERE t.id IS NULL LIMIT 1", [wanted])
            missing = cursor.fetchone()
            if missing is not None:
                raise IntegrityError(f"{model._meta.label} {missing[0]} does not exist (bulk load)")


# One encoder: ``json.dumps`` with options builds a new one per call (a third of its cost for
# the small documents of a case event or an audit entry).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json_text(value: Any) -> str:
    return _JSON.encode(value)


def bulk_insert_objects(model: type[models.Model], objects: Sequence[models.Model]) -> int:
    """Insert unsaved model instances that carry every value (``auto_now`` is not applied).

    Auto-increment keys are left to the database unless the objects carry them.
    """
    if not objects:
        return 0
    fields: list[str] = []
    json_at: list[int] = []
    for f in model._meta.concrete_fields:
        if f.primary_key and isinstance(f, models.AutoField | models.BigAutoField) and objects[0].pk is None:
            continue
        if isinstance(f, models.JSONField):
            json_at.append(len(fields))
        fields.append(f.attname)
    # One C-level getter per row, not a Python getattr per cell (a case has 44 columns).
    values = operator.attrgetter(*fields) if len(fields) > 1 else (lambda obj: (getattr(obj, fields[0]),))

    def row(obj: models.Model) -> Sequence[object]:
        cells: tuple[object, ...] = values(obj)
        if not json_at:
            return cells
        converted = list(cells)
        for at in json_at:
            if converted[at] is not None:
                converted[at] = _json_text(converted[at])
        return converted

    return bulk_insert(model, fields, (row(obj) for obj in objects))


def bulk_update(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
    """``UPDATE`` rows given as ``(id, *values)``: COPY into a temp table + one UPDATE … FROM
    on PostgreSQL, ``executemany`` on SQLite."""
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(column_of(model, f)) for f in fields]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE _linli_upd ON COMMIT DROP AS SELECT id, {', '.join(columns)} FROM {table} WITH NO DATA",  # noqa: S608
            )
            with cursor.cursor.copy(f"COPY _linli_upd (id, {', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            assignments = ", ".join(f"{c} = u.{c}" for c in columns)
            cursor.execute(f"UPDATE {table} t SET {assignments} FROM _linli_upd u WHERE t.id = u.id")  # noqa: S608
            cursor.execute("DROP TABLE _linli_upd")
        return len(rows)
    assignments = ", ".join(f"{c} = ?" for c in columns)
    data = [(*(db_value(v) for v in row[1:]), row[0]) for row in rows]
    _raw_sqlite().executemany(f"UPDATE {table} SET {assignments} WHERE id = ?", data)  # noqa: S608
    return len(rows)


Statement = tuple[str, Sequence[Any]]


def insert_statement(model: type[models.Model], objects: Sequence[models.Model]) -> Statement:
    """One ``INSERT`` of ``objects`` as text and parameters, for :func:`execute_together`:
    every concrete column, the primary key too when the objects have theirs (drawn with
    :func:`reserve_ids`), values as they are (no ``auto_now``).

    On PostgreSQL the rows travel as one JSON document that the server spreads over the
    table's columns (``json_populate_recordset``): one parameter, encoded in C, instead of
    one quoted by the driver per cell (a case has 44 columns). Elsewhere ``bulk_create``'s
    statement."""
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and objects[0].pk is None)]
    if connection.vendor != "postgresql":
        from django.db.models.sql import InsertQuery

        query = InsertQuery(model)
        query.insert_values(fields, list(objects), raw=True)
        [(sql, params)] = query.get_compiler(connection=connection).as_sql()
        return sql, params
    quote = connection.ops.quote_name
    table, names = quote(model._meta.db_table), [f.column for f in fields]
    values = operator.attrgetter(*(f.attname for f in fields))
    document = _ROWS_JSON.encode([dict(zip(names, values(obj), strict=True)) for obj in objects])
    columns = ", ".join(quote(n) for n in names)
    return (f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s)",  # noqa: S608 -- names from the model
            [document])


def _row_value(value: Any) -> Any:
    """What JSON cannot carry as is: times and dates as ISO text (the server parses them)."""
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go into a row document")


_ROWS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_row_value)


def execute_together(statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """Run ``statements`` in order inside the caller's transaction; each one's rows (``[]``
    for a statement without).

    On PostgreSQL they travel as one command string, one round trip: a transaction that
    holds rows every writer needs (the day's case counter, the rollups, the audit head)
    holds them for one round trip instead of one per statement (Django binds parameters on
    the client, so a string of several statements is allowed). Elsewhere one by one.
    """
    results: list[list[tuple[Any, ...]]] = []
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            for sql, params in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall() if cursor.description is not None else [])
            return results
        text = ";\n".join(sql for sql, _p in statements)
        cursor.execute(text, [p for _s, params in statements for p in params])
        while True:
            results.append(cursor.fetchall() if cursor.description is not None else [])
            if not cursor.nextset():
                break
    if len(results) != len(statements):  # pragma: no cover - the driver returns one result per statement
        raise RuntimeError(f"{len(statements)} statements, {len(results)} results")
    return results
