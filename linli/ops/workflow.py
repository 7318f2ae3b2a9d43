"""Pure rules of operations (no ORM): restart backoff, worker liveness, what becomes of a
task whose worker died, and the PostgreSQL connection budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

# A process that ran this long before it died is "stable": its next restart is immediate.
STABLE_SECONDS: Final = 30.0
RESTART_BASE_SECONDS: Final = 1.0
RESTART_CAP_SECONDS: Final = 30.0


def restart_delay(*, quick_failures: int, base: float = RESTART_BASE_SECONDS,
                  cap: float = RESTART_CAP_SECONDS) -> float:
    """Seconds to wait before restarting a process that died: 0 after a stable run, then
    1, 2, 4 … seconds for each failure in a row that came quicker than ``STABLE_SECONDS``,
    at most ``cap`` — a crash loop costs little and never spins."""
    if quick_failures <= 0:
        return 0.0
    return float(min(cap, base * 2 ** min(quick_failures - 1, 32)))


def worker_alive(*, seen_at: datetime, stopped_at: datetime | None, now: datetime, lease_seconds: int,
                 process_alive: bool | None) -> bool:
    """Whether a task worker still holds its tasks.

    ``process_alive`` is what the operating system says when the worker runs on this host
    (None elsewhere). It decides when known: a killed process is dead at once, and a live
    one keeps its lease even when its heartbeat is late (SQLite holds writers back while an
    import commits). Otherwise the heartbeat must be younger than the lease."""
    if stopped_at is not None:
        return False
    if process_alive is not None:
        return process_alive
    return now - seen_at <= timedelta(seconds=lease_seconds)


class LostTaskAction(StrEnum):
    REQUEUE = "requeue"
    FAIL = "fail"


def lost_task_action(*, retry_safe: bool, attempts: int, max_attempts: int) -> LostTaskAction:
    """A task that lost its worker runs again when running it twice is harmless (the import
    writes in one transaction, sweeps claim rows) and it has attempts left; otherwise it
    is marked failed, for a person to resume (a second SMS must be a decision)."""
    if retry_safe and attempts < max_attempts:
        return LostTaskAction.REQUEUE
    return LostTaskAction.FAIL


# Connections outside the web and task workers: the periodic sweeps (two may overlap), a
# `linli` command run by hand (migrate, import) and the health check's own.
OTHER_CONNECTIONS: Final = 4


@dataclass(frozen=True)
class ConnectionBudget:
    web: int
    tasks: int
    daemons: int
    other: int

    @property
    def total(self) -> int:
        return self.web + self.tasks + self.daemons + self.other


def connection_budget(*, web_workers: int, web_threads: int, task_workers: int,
                      daemons: int) -> ConnectionBudget:
    """What linli may open at once: one connection per web thread (each thread keeps its
    own), one per task worker (plus its heartbeat thread), one per daemon (relay, ingestor)
    and a few for sweeps and commands (docs/deployment.md, "Connection budget")."""
    return ConnectionBudget(web=web_workers * web_threads, tasks=task_workers * 2, daemons=daemons,
                            other=OTHER_CONNECTIONS)


def budget_fits(budget: ConnectionBudget, *, max_connections: int, reserved: int) -> bool:
    return budget.total <= max_connections - reserved
