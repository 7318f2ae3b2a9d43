"""``linli worker``: run a background task worker with a heartbeat (its lease on running
tasks); the options of django-tasks-db's ``db_worker`` (``--queue-name``, ``--interval``,
``--max-tasks``, ``--batch``, ``--worker-id`` …) except ``--reload``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django_tasks_db.management.commands import db_worker

from linli.ops.worker import LeasedWorker


class Command(db_worker.Command):
    help = "Run a background task worker with a heartbeat; recovers the tasks of workers that died."

    def handle(self, *args: Any, verbosity: int, queue_name: str, interval: float, batch: bool,
               backend_name: str, startup_delay: bool, reload: bool, max_tasks: int | None,
               worker_id: str, exclude_queues: str, **options: Any) -> None:
        self.configure_logging(verbosity)
        if reload:  # on by default under LINLI_DEBUG; a reloaded worker would drop its lease
            self.stderr.write("linli worker: --reload is ignored (restart the worker instead)")
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = LeasedWorker(
            queue_names=queue_names, interval=interval, batch=batch, backend_name=backend_name,
            startup_delay=startup_delay, max_tasks=max_tasks, worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        worker.configure_signals()
        worker.run()
