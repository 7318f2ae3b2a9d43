"""Writes of operations: worker heartbeats, recovery of tasks whose worker died, resuming
stuck work. Every recovery and resume is audited with its actor."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks_db.models import DBTaskResult

from linli.core.actors import Actor
from linli.core.errors import NotFound, ValidationFailed
from linli.core.services import audit_record
from linli.fusion.services import import_job_interrupted
from linli.ops.host import hostname, process_start_mark
from linli.ops.models import WorkerHeartbeat
from linli.ops.selectors import FAILED, READY, RUNNING, WORKER_LOST, import_job_id_of, lost_tasks
from linli.ops.workflow import LostTaskAction, lost_task_action

logger = logging.getLogger("linli.ops")
TASK: Final = "django_tasks_db.dbtaskresult"

# Tasks that may simply run again after their worker died: the import writes in one
# transaction (nothing was written) and skips a finished job; sweeps and pruning claim rows.
# Case notifications only write the notify outbox under dedup keys, so running them again
# adds nothing; sending belongs to the relay, which never repeats a possibly sent SMS.
RETRY_SAFE_TASKS: Final = frozenset({
    "linli.cases.tasks.case_notify",
    "linli.fusion.tasks.import_job_run",
    "linli.cases.tasks.case_supervision_sweep_task",
    "linli.catalogue.tasks.application_overdue_sweep_task",
    "linli.accounts.tasks.login_throttles_prune_task",
    "linli.fusion.tasks.import_files_purge_task",
})


def _import_job_hook(task: DBTaskResult[Any, Any], *, actor: Actor, requeued: bool) -> None:
    job_id = import_job_id_of(task)
    if job_id is not None:
        import_job_interrupted(actor=actor, job_id=job_id, requeued=requeued)


# What else must change when a task of this kind is requeued or failed for a lost worker.
LOST_TASK_HOOKS: Final[dict[str, Callable[..., None]]] = {
    "linli.fusion.tasks.import_job_run": _import_job_hook,
}


class WorkerLost(Exception):  # noqa: N818 -- the name recorded on the task row
    """Recorded as a task's exception when its worker died while running it."""


# --- heartbeats ---------------------------------------------------------------------------

def worker_register(*, worker_id: str, queues: str) -> WorkerHeartbeat:
    """The row of a starting worker (this process)."""
    now = timezone.now()
    pid = os.getpid()
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": hostname(), "pid": pid, "pid_started": process_start_mark(pid) or "",
                  "queues": queues[:200], "started_at": now, "seen_at": now, "stopped_at": None,
                  "task_id": None, "tasks_done": 0},
    )
    return heartbeat


def worker_beat(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(seen_at=timezone.now())


def worker_task_set(*, worker_id: str, task_id: str | uuid.UUID | None, finished: bool = False) -> None:
    values: dict[str, Any] = {"task_id": task_id, "seen_at": timezone.now()}
    if finished:
        values["tasks_done"] = F("tasks_done") + 1
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(**values)


def worker_stopped(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(stopped_at=timezone.now(), task_id=None)


# --- recovery -----------------------------------------------------------------------------

@dataclass
class RecoveryReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _requeue(task: DBTaskResult[Any, Any], *, from_status: str) -> bool:
    """Compare-and-swap: only if the row is still as we read it (another sweeper, or the
    worker finishing after all, wins otherwise)."""
    return bool(DBTaskResult.objects.filter(pk=task.pk, status=from_status, worker_ids=task.worker_ids).update(
        status=READY, started_at=None, finished_at=None, exception_class_path="", traceback=""))


def _fail_lost(task: DBTaskResult[Any, Any], *, now: datetime, reason: str) -> bool:
    return bool(DBTaskResult.objects.filter(pk=task.pk, status=RUNNING, worker_ids=task.worker_ids).update(
        status=FAILED, finished_at=now, exception_class_path=WORKER_LOST, traceback=reason))


def lost_tasks_recover(*, actor: Actor, now: datetime | None = None) -> RecoveryReport:
    """Requeue or fail every running task whose worker died (kill -9, OOM, power): a
    retry-safe task with attempts left runs again, any other is failed for a person to
    resume. Safe to run in every worker at once: each change is a conditional UPDATE."""
    moment = now or timezone.now()
    report = RecoveryReport()
    for running in lost_tasks(now=moment):
        task = running.task
        attempts = len(task.worker_ids)
        action = lost_task_action(retry_safe=task.task_path in RETRY_SAFE_TASKS, attempts=attempts,
                                  max_attempts=settings.LINLI_TASK_MAX_ATTEMPTS)
        worker = running.worker
        where = f"{worker.hostname}:{worker.pid}" if worker else "?"
        reason = (f"WorkerLost: the worker ({where}) stopped while running this task "
                  f"(attempt {attempts} of {settings.LINLI_TASK_MAX_ATTEMPTS}).")
        hook = LOST_TASK_HOOKS.get(task.task_path)
        with transaction.atomic():
            if action == LostTaskAction.REQUEUE:
                changed = _requeue(task, from_status=RUNNING)
            else:
                changed = _fail_lost(task, now=moment, reason=reason)
            if not changed:
                continue
            if hook is not None:
                hook(task, actor=actor, requeued=action == LostTaskAction.REQUEUE)
            audit_record(actor=actor, action=f"ops.task_{action.value}", target_type=TASK,
                         target_id=str(task.pk), reason=reason[:200])
        (report.requeued if action == LostTaskAction.REQUEUE else report.failed).append(str(task.pk))
        logger.warning("task %s (%s) lost its worker %s: %s", task.pk, task.task_path, where, action.value)
    return report


def task_resume(*, actor: Actor, task_id: str) -> DBTaskResult[Any, Any]:
    """Run a failed task again, or a running one whose worker is gone (a person decided it).
    A task still held by a live worker is refused."""
    try:
        key = uuid.UUID(str(task_id))
    except ValueError:
        raise NotFound() from None
    task = DBTaskResult.objects.filter(pk=key).first()
    if task is None:
        raise NotFound()
    if task.status == RUNNING:
        from linli.ops.selectors import running_tasks

        mine = [r for r in running_tasks() if r.task.pk == task.pk]
        if not mine or not (mine[0].lost or mine[0].unknown_worker):
            raise ValidationFailed("task", _("任务仍在运行,其工作进程在线,无需恢复"))
    elif task.status != FAILED:
        raise ValidationFailed("task", _("只有失败或中断的任务可以重新运行"))
    hook = LOST_TASK_HOOKS.get(task.task_path)
    with transaction.atomic():
        if not _requeue(task, from_status=task.status):
            raise ValidationFailed("task", _("任务状态已变化,请刷新后重试"))
        if hook is not None:
            hook(task, actor=actor, requeued=True)
        audit_record(actor=actor, action="ops.task_resume", target_type=TASK, target_id=str(task.pk))
    task.refresh_from_db()
    return task
