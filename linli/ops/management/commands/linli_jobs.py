"""``linli jobs stuck | resume ID | sweep``: the operator's view of stuck background work.

- ``stuck``: running tasks and their workers (lost ones marked), tasks failed because their
  worker died, ready tasks nobody took for 5 minutes, interrupted or failed imports;
  exit 1 when there is any (for a monitor).
- ``resume ID``: run again a task (its UUID) or an import job (its number).
- ``sweep``: recover the tasks of dead workers now (every ``linli worker`` does it anyway).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from linli.core.actors import SystemActor
from linli.core.errors import ApplicationError
from linli.fusion.models import ImportJob
from linli.fusion.services import import_job_resume
from linli.ops import services
from linli.ops.selectors import stuck_work_all

ACTOR = SystemActor("command:jobs")


def _age(moment: Any) -> str:
    if moment is None:
        return "-"
    seconds = int((timezone.now() - moment).total_seconds())
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Command(BaseCommand):
    help = "Stuck background work: list it (stuck), run it again (resume ID), recover lost tasks (sweep)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["stuck", "resume", "sweep"])
        parser.add_argument("id", nargs="?", help="resume: a task UUID or an import job number")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "sweep":
            report = services.lost_tasks_recover(actor=ACTOR)
            self.stdout.write(f"requeued {len(report.requeued)}, failed {len(report.failed)}")
            for task_id in report.requeued:
                self.stdout.write(f"  requeued {task_id}")
            for task_id in report.failed:
                self.stdout.write(f"  failed (resumable) {task_id}")
            return
        if action == "resume":
            self._resume(options["id"])
            return
        if not self._stuck():
            sys.exit(1)

    def _resume(self, ident: str | None) -> None:
        if not ident:
            raise CommandError("give the task UUID or the import job number to resume")
        try:
            if ident.isdigit():
                job = ImportJob.objects.filter(pk=int(ident)).first()
                if job is None:
                    raise CommandError(f"no import job {ident}")
                import_job_resume(actor=ACTOR, job=job)
                self.stdout.write(f"import job {ident}: queued again")
            else:
                task = services.task_resume(actor=ACTOR, task_id=ident)
                self.stdout.write(f"task {task.pk} ({task.task_path}): queued again")
        except ApplicationError as error:
            raise CommandError(f"{error.field or 'id'}: {error.message}") from None

    def _stuck(self) -> bool:
        """Print the stuck work; True when there is none."""
        work = stuck_work_all()
        self.stdout.write("workers (last day):")
        for heartbeat, alive in work.workers:
            state = "alive" if alive else ("stopped" if heartbeat.stopped_at else "DEAD")
            self.stdout.write(f"  {heartbeat.worker_id[:12]}  {heartbeat.hostname}:{heartbeat.pid}  {state:<7} "
                              f"seen {_age(heartbeat.seen_at)} ago, {heartbeat.tasks_done} tasks done")
        if not work.workers:
            self.stdout.write("  none")
        self.stdout.write("running tasks:")
        for running in work.running:
            state = "LOST" if running.lost else ("UNKNOWN WORKER" if running.unknown_worker else "ok")
            self.stdout.write(f"  {running.task.pk}  {running.task.task_path}  started {_age(running.task.started_at)} "
                              f"ago  {state}")
        if not work.running:
            self.stdout.write("  none")
        for task in work.failed_lost:
            self.stdout.write(f"failed, worker died: {task.pk}  {task.task_path}  "
                              f"→ linli jobs resume {task.pk}")
        for task in work.stale_ready:
            self.stdout.write(f"waiting since {_age(task.enqueued_at)}: {task.pk}  {task.task_path} "
                              "(is a worker running?)")
        for job in work.import_jobs:
            self.stdout.write(f"import job {job.pk} ({job.file_name}) {job.status}: {job.error[:80] or '-'}  "
                              f"→ linli jobs resume {job.pk}")
        if work.empty:
            self.stdout.write("no stuck work")
        return work.empty
