"""Fast bulk inserts with explicit ids: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

The ORM's ``bulk_create`` builds a model instance per row and runs ``pre_save`` on every
field; for a million residents that costs minutes. Rows here are plain tuples already in
database form (strings for dates, the run's timestamp for ``created_at``/``updated_at``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from django.core.management.color import no_style
from django.db import connection
from django.db.models import Model


def _column(field: object) -> str:
    column = getattr(field, "column", None)
    if not isinstance(column, str):  # pragma: no cover - only concrete fields are listed
        raise TypeError(f"{field!r} has no database column")
    return column


class BulkWriter:
    """Writes rows of one model at a time inside the caller's transaction."""

    def __init__(self, *, now: datetime) -> None:
        connection.ensure_connection()
        self.vendor = connection.vendor
        if self.vendor not in {"sqlite", "postgresql"}:  # pragma: no cover - settings allow only these
            raise RuntimeError(f"unsupported database vendor {self.vendor}")
        # The stamp every seeded row carries, in the form the backend stores.
        self.stamp: object = (
            connection.ops.adapt_datetimefield_value(now) if self.vendor == "sqlite" else now
        )
        self.rows_written = 0

    @staticmethod
    def _columns(model: type[Model], fields: Sequence[str]) -> tuple[str, str]:
        meta = model._meta
        quote = connection.ops.quote_name
        columns = ", ".join(quote(_column(meta.get_field(name))) for name in fields)
        return quote(meta.db_table), columns

    def insert(self, model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
        table, columns = self._columns(model, fields)
        count = 0
        if self.vendor == "sqlite":
            placeholders = ", ".join("?" for _ in fields)
            raw = connection.connection
            if raw is None:  # pragma: no cover - ensure_connection() ran in __init__
                raise RuntimeError("no database connection")
            data = list(rows)
            raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", data)  # noqa: S608 -- names from model meta
            count = len(data)
        else:
            with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {table} ({columns}) FROM STDIN",
            ) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        self.rows_written += count
        return count

    def datetime_adapter(self) -> Callable[[datetime], object] | None:
        """How a timestamp goes into a raw row: ``None`` on PostgreSQL (COPY takes aware
        datetimes), a text adapter on SQLite. Django's ``adapt_datetimefield_value`` costs
        about 25 µs a value (settings and time-zone look-ups each time); with the database
        in UTC, as linli configures it, the same text comes out of one ``astimezone``."""
        if self.vendor != "sqlite":
            return None
        if getattr(connection, "timezone_name", "UTC") != "UTC":  # pragma: no cover - linli keeps UTC
            return connection.ops.adapt_datetimefield_value

        def adapt(value: datetime) -> object:
            return str(value.astimezone(UTC).replace(tzinfo=None))

        return adapt

    def reset_sequences(self, models: Sequence[type[Model]]) -> None:
        """After explicit ids, PostgreSQL's sequences must move past them (SQLite needs nothing)."""
        if self.vendor != "postgresql":
            return
        statements = connection.ops.sequence_reset_sql(no_style(), list(models))
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def analyze(self) -> None:
        """Fresh planner statistics: the search benchmarks run right after seeding."""
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
