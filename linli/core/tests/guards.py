"""The audit tables' database guards (migration ``core.0005``), lifted where a test must.

Two cases need rows changed behind linli's back: tamper tests, which play an attacker who
holds the tables' owner rights (and so can drop triggers), and Django's flush at the end of a
transactional test, which empties every table. Both lift the guards only for themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, connections

from linli.core.selectors import AUDIT_GUARDS

AUDIT_TABLES = ("core_auditentry", "core_audithead")
_PG_TABLE_OF = {
    "linli_audit_entry_guard": "core_auditentry", "linli_audit_entry_truncate_guard": "core_auditentry",
    "linli_audit_head_guard": "core_audithead", "linli_audit_head_truncate_guard": "core_audithead",
}


def _lift_and_restore(ops: Any) -> tuple[list[str], list[str]]:
    """Statements that lift every audit guard and statements that put them back."""
    if ops.connection.vendor == "postgresql":
        names = AUDIT_GUARDS["postgresql"]
        return ([f"ALTER TABLE {_PG_TABLE_OF[n]} DISABLE TRIGGER {n}" for n in names],
                [f"ALTER TABLE {_PG_TABLE_OF[n]} ENABLE TRIGGER {n}" for n in names])
    with ops.connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                       list(AUDIT_TABLES))
        found = cursor.fetchall()
    return [f"DROP TRIGGER {name}" for name, _sql in found], [sql for _name, sql in found]


@contextmanager
def guards_lifted() -> Iterator[None]:
    """Inside the test's transaction: the attacker drops the triggers (rolled back with it)."""
    lift, restore = _lift_and_restore(connection.ops)
    with connection.cursor() as cursor:
        for statement in lift:
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        for statement in restore:
            cursor.execute(statement)


def install_flush_bypass() -> None:
    """Make Django's flush (the end of every transactional test) lift the guards around its
    own statements, in its own transaction."""
    for operations in {type(connections[alias].ops) for alias in connections}:
        original = operations.sql_flush
        if getattr(original, "_linli_lifts_audit_guards", False):
            continue

        def sql_flush(self: Any, style: Any, tables: Sequence[str], *args: Any,
                      _original: Any = original, **kwargs: Any) -> list[str]:
            statements: list[str] = _original(self, style, tables, *args, **kwargs)
            if not statements or not set(AUDIT_TABLES) & set(tables):
                return statements
            lift, restore = _lift_and_restore(self)
            return [*lift, *statements, *restore]

        sql_flush._linli_lifts_audit_guards = True  # type: ignore[attr-defined]
        operations.sql_flush = sql_flush  # type: ignore[method-assign]
