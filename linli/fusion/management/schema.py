"""The fusion commands refuse, in one line, to run on a database that lacks their tables."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor


def require_migrated(using: str = DEFAULT_DB_ALIAS) -> None:
    """Raise :class:`CommandError` naming ``linli migrate`` when the fusion app's migrations
    (and those they depend on) are not all applied; another app's pending ones do not matter
    here. A database that cannot be reached says so instead of a traceback."""
    try:
        executor = MigrationExecutor(connections[using])
        graph = executor.loader.graph
        pending = executor.migration_plan(
            [node for node in graph.leaf_nodes() if node[0] == "fusion"]
        )
    except DatabaseError as exc:
        raise CommandError(f"无法连接数据库:{exc}".strip()) from exc
    if pending:
        raise CommandError(
            f"数据库尚未迁移(还有 {len(pending)} 个迁移未执行):请先运行 `linli migrate`,再运行本命令。"
            f" / The database is not migrated ({len(pending)} pending): run `linli migrate` first."
        )
