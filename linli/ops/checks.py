"""System checks of operations: the PostgreSQL connection budget, the environment file and the
offline map tile file.

``linli.W010`` runs with the database checks (``linli migrate``, ``linli manage check
--database default``) and at every ``linli serve`` start (:func:`serve_checks`)."""

from __future__ import annotations

import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, register, run_checks
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError, connections

from linli.geo.tile_archive import TileArchiveError, open_tile_archive
from linli.ops.supervisor import DAEMONS
from linli.ops.workflow import ConnectionBudget, budget_fits, connection_budget

BUDGET_CHECK_ID = "linli.W010"
ENV_FILE_CHECK_ID = "linli.W011"
TILES_FILE_CHECK_ID = "linli.W012"


def configured_budget() -> ConnectionBudget:
    return connection_budget(web_workers=settings.LINLI_WEB_WORKERS, web_threads=settings.LINLI_WEB_THREADS,
                             task_workers=settings.LINLI_TASK_WORKERS,
                             # `linli live` holds three: its reader and two session checkers.
                             daemons=len(DAEMONS) + 2)


def budget_messages(*, budget: ConnectionBudget, max_connections: int, reserved: int,
                    pooled: bool) -> list[CheckMessage]:
    if pooled or budget_fits(budget, max_connections=max_connections, reserved=reserved):
        return []
    return [CheckWarning(
        f"linli may open {budget.total} PostgreSQL connections (web {budget.web} = LINLI_WEB_WORKERS × "
        f"LINLI_WEB_THREADS, task workers {budget.tasks}, daemons {budget.daemons}, other {budget.other}) "
        f"but the server allows {max_connections - reserved} "
        f"(max_connections {max_connections} − {reserved} reserved).",
        hint="Lower LINLI_WEB_THREADS or LINLI_WEB_WORKERS, raise max_connections, or put PgBouncer in "
             "front (LINLI_DATABASE_POOLED=true); see docs/deployment.md, 'Connection budget'.",
        id=BUDGET_CHECK_ID,
    )]


@register(Tags.database)
def connection_budget_check(
    app_configs: Sequence[AppConfig] | None = None, *, databases: Iterable[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('max_connections')::int, "
                           "current_setting('superuser_reserved_connections')::int")
            max_connections, reserved = cursor.fetchone()
        messages += budget_messages(budget=configured_budget(), max_connections=int(max_connections),
                                    reserved=int(reserved),
                                    pooled=bool(connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")))
    return messages


def env_file_messages(path: Path | None) -> list[CheckMessage]:
    """The environment file holds the keys: nobody but root and linli should read it."""
    if path is None:
        return []
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        return [CheckWarning(
            f"{path} is readable or writable by every user, and it holds linli's keys.",
            hint=f"chmod 0640 {path} (owner root, group linli)", id=ENV_FILE_CHECK_ID)]
    return []


@register()
def env_file_check(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    return env_file_messages(settings.LINLI_ENV_FILE_LOADED)


def tiles_file_messages(path: str) -> list[CheckMessage]:
    """An offline tile file that cannot be served leaves every map without its background."""
    if not path:
        return []
    try:
        open_tile_archive(Path(path))
    except TileArchiveError as error:
        return [CheckWarning(f"LINLI_MAP_TILES_FILE: {error}", id=TILES_FILE_CHECK_ID,
                             hint="docs/cockpit.md#offline-tiles: a PMTiles v3 file or a raster MBTiles file")]
    return []


@register()
def tiles_file_check(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    return tiles_file_messages(settings.LINLI_MAP_TILES_FILE)


def serve_checks(*, print_to: TextIO) -> None:
    """The checks ``linli serve`` runs before it listens: warnings are printed, never fatal
    (a full connection budget is a risk under load, not a reason to stay down)."""
    try:
        messages = run_checks(databases=["default"], include_deployment_checks=False)
    except DatabaseError as error:  # the server starts anyway; /healthz reports the database
        print(f"linli serve: warning: database checks not run: {error}", file=print_to, flush=True)
        return
    for message in messages:
        if message.id in {BUDGET_CHECK_ID, ENV_FILE_CHECK_ID, TILES_FILE_CHECK_ID, "linli.W001"}:
            print(f"linli serve: warning {message.id}: {message.msg} {message.hint or ''}",
                  file=print_to, flush=True)
