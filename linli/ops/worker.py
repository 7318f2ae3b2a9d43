"""The task worker of ``linli worker``: django-tasks-db's worker with a lease.

A thread of the worker writes its heartbeat every ``LINLI_WORKER_HEARTBEAT_SECONDS`` and,
every ``LINLI_TASK_LEASE_SECONDS / 2``, recovers the running tasks of workers that died
(:func:`linli.ops.services.lost_tasks_recover`), so a new worker resumes what a killed one
left — at start too. The thread never touches the task being run; it has its own database
connection."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from linli.core.actors import SystemActor
from linli.ops import services

logger = logging.getLogger("linli.ops")
RECOVERY_ACTOR = SystemActor("job:lease_recovery")


def recover_once() -> services.RecoveryReport | None:
    try:
        return services.lost_tasks_recover(actor=RECOVERY_ACTOR)
    except Exception:  # the sweep is retried at the next beat; a worker must not die of it
        logger.exception("lost-task recovery failed")
        return None


class LeasedWorker(Worker):
    """``db_worker``'s loop, plus the heartbeat thread and the task id on the heartbeat row."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stop_beating = threading.Event()
        self._beater: threading.Thread | None = None

    def _beat_loop(self) -> None:
        interval = settings.LINLI_WORKER_HEARTBEAT_SECONDS
        recover_every = max(1.0, settings.LINLI_TASK_LEASE_SECONDS / 2)
        last_recovery = time.monotonic()
        try:
            while not self._stop_beating.wait(interval):
                try:
                    close_old_connections()
                    services.worker_beat(worker_id=self.worker_id)
                except Exception:  # SQLite may be locked by an import's commit: next beat
                    logger.warning("heartbeat of worker %s not written", self.worker_id, exc_info=True)
                if time.monotonic() - last_recovery >= recover_every:
                    recover_once()
                    last_recovery = time.monotonic()
        finally:
            connection.close()

    def run(self) -> None:
        services.worker_register(worker_id=self.worker_id, queues=",".join(self.queue_names))
        recover_once()
        self._beater = threading.Thread(target=self._beat_loop, name="linli-heartbeat", daemon=True)
        self._beater.start()
        try:
            super().run()
        finally:
            self._stop_beating.set()
            self._beater.join(timeout=5)
            services.worker_stopped(worker_id=self.worker_id)

    def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        services.worker_task_set(worker_id=self.worker_id, task_id=db_task_result.pk)
        try:
            super().run_task(db_task_result)
        finally:
            services.worker_task_set(worker_id=self.worker_id, task_id=None, finished=True)
