"""System checks that need the database: run by ``migrate`` and ``check --database default``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import connections

COLLATION_CHECK_ID = "linli.W001"


def collation_messages(*, vendor: str, collation: str, sorts_by_code_point: bool) -> list[CheckMessage]:
    """The warning for a database whose default collation does not sort by code point.

    Registry prefix search (name, pinyin) reads ``[prefix, next code point)`` ranges from
    B-tree indexes; under a linguistic collation (zh_CN.UTF-8, en_US.UTF-8, ICU) such a
    range misses rows. SQLite compares bytes (BINARY), which is code-point order.
    """
    if vendor != "postgresql" or sorts_by_code_point:
        return []
    return [CheckWarning(
        f"PostgreSQL database collation {collation!r} does not sort by code point; "
        "registry name and pinyin search will miss rows.",
        hint="Create the database with LC_COLLATE 'C.UTF-8' (or 'C'); see docs/deployment.md.",
        id=COLLATION_CHECK_ID,
    )]


@register(Tags.database)
def database_collation_check(
    app_configs: Sequence[AppConfig] | None = None, *, databases: Iterable[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            # Ask the behaviour, not the name: ICU and libc name their collations differently.
            cursor.execute("SELECT 'B' < 'a' AND 'Z' < 'a', "
                           "(SELECT datcollate FROM pg_database WHERE datname = current_database())")
            ordered, collation = cursor.fetchone()
        messages += collation_messages(vendor=connection.vendor, collation=str(collation),
                                       sorts_by_code_point=bool(ordered))
    return messages
