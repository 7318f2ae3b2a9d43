"""Reads of operations: worker liveness, lost and stuck work, figures for /healthz and
/metrics. Task rows (django-tasks-db) are not area-scoped: only the district administrator
sees them (:func:`stuck_work_for_user`); import jobs go through fusion's scoped selector."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from linli.accounts.choices import Role
from linli.accounts.selectors import Principal
from linli.fusion.choices import ImportStatus
from linli.fusion.models import ImportJob
from linli.fusion.selectors import import_job_list_for_user
from linli.ops.host import process_alive
from linli.ops.models import WorkerHeartbeat
from linli.ops.workflow import worker_alive

READY: Final = "READY"
RUNNING: Final = "RUNNING"
FAILED: Final = "FAILED"
# The exception recorded on a task failed because its worker died (see services).
WORKER_LOST: Final = "linli.ops.services.WorkerLost"


def heartbeat_alive(heartbeat: WorkerHeartbeat, *, now: datetime) -> bool:
    return worker_alive(
        seen_at=heartbeat.seen_at, stopped_at=heartbeat.stopped_at, now=now,
        lease_seconds=settings.LINLI_TASK_LEASE_SECONDS,
        process_alive=process_alive(host=heartbeat.hostname, pid=heartbeat.pid, mark=heartbeat.pid_started),
    )


def workers_alive(*, now: datetime | None = None) -> list[WorkerHeartbeat]:
    moment = now or timezone.now()
    return [hb for hb in WorkerHeartbeat.objects.filter(stopped_at__isnull=True)
            if heartbeat_alive(hb, now=moment)]


@dataclass(frozen=True)
class RunningTask:
    """A running task and what is known of its worker."""

    task: DBTaskResult[Any, Any]
    worker: WorkerHeartbeat | None
    lost: bool
    # The worker is not a `linli worker` (no heartbeat): never recovered automatically.
    unknown_worker: bool


def running_tasks(*, now: datetime | None = None) -> list[RunningTask]:
    moment = now or timezone.now()
    tasks = list(DBTaskResult.objects.filter(status=RUNNING).order_by("started_at"))
    ids = {t.worker_ids[-1] for t in tasks if t.worker_ids}
    workers = {hb.worker_id: hb for hb in WorkerHeartbeat.objects.filter(worker_id__in=ids)}
    out = []
    for task in tasks:
        worker = workers.get(task.worker_ids[-1]) if task.worker_ids else None
        lost = worker is not None and not heartbeat_alive(worker, now=moment)
        out.append(RunningTask(task=task, worker=worker, lost=lost, unknown_worker=worker is None))
    return out


def lost_tasks(*, now: datetime | None = None) -> list[RunningTask]:
    return [running for running in running_tasks(now=now) if running.lost]


def import_job_id_of(task: DBTaskResult[Any, Any]) -> int | None:
    """The import job a fusion task runs (its first argument), else None."""
    if task.task_path != "linli.fusion.tasks.import_job_run":
        return None
    args = (task.args_kwargs or {}).get("args") or []
    kwargs = (task.args_kwargs or {}).get("kwargs") or {}
    value = args[0] if args else kwargs.get("job_id")
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


@dataclass(frozen=True)
class OpsFigures:
    tasks_by_status: dict[str, int]
    failed_by_task: dict[str, int]
    queue_depth: int
    queue_oldest_seconds: float
    workers_alive: int
    tasks_lost: int
    import_jobs_by_status: dict[str, int]


def queue_oldest(*, now: datetime) -> tuple[int, float]:
    """Ready tasks due now, and how long the oldest has waited (seconds)."""
    due = DBTaskResult.objects.ready()
    row = due.aggregate(n=Count("id"), oldest=Min("enqueued_at"))
    oldest = row["oldest"]
    return int(row["n"]), (now - oldest).total_seconds() if oldest else 0.0


def ops_figures(*, now: datetime | None = None) -> OpsFigures:
    moment = now or timezone.now()
    by_status = dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")).order_by())
    failed = dict(DBTaskResult.objects.filter(status=FAILED).values_list("task_path")
                  .annotate(n=Count("id")).order_by())
    depth, oldest = queue_oldest(now=moment)
    jobs = dict(ImportJob.objects.values_list("status").annotate(n=Count("id")).order_by())
    return OpsFigures(
        tasks_by_status={str(k): int(v) for k, v in by_status.items()},
        failed_by_task={str(k).rsplit(".", 1)[-1]: int(v) for k, v in failed.items()},
        queue_depth=depth, queue_oldest_seconds=oldest,
        workers_alive=len(workers_alive(now=moment)), tasks_lost=len(lost_tasks(now=moment)),
        import_jobs_by_status={str(k): int(v) for k, v in jobs.items()},
    )


# --- health -------------------------------------------------------------------------------

HEALTH_CHECKS: Final = ("database", "workers", "queue", "disk")


@dataclass
class HealthReport:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks.values())


def _check_database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_workers(now: datetime) -> dict[str, Any]:
    alive = workers_alive(now=now)
    last = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    return {"ok": bool(alive), "alive": len(alive),
            "last_seen_seconds": round((now - last).total_seconds(), 1) if last else None}


def _check_queue(now: datetime) -> dict[str, Any]:
    depth, oldest = queue_oldest(now=now)
    return {"ok": oldest <= settings.LINLI_HEALTH_QUEUE_AGE_SECONDS, "ready": depth,
            "oldest_seconds": round(oldest, 1), "lost": len(lost_tasks(now=now))}


def _check_disk() -> dict[str, Any]:
    folder = Path(settings.DATA_DIR)
    usage = shutil.disk_usage(folder if folder.exists() else folder.parent)
    free_mb = usage.free // (1024 * 1024)
    return {"ok": free_mb >= settings.LINLI_HEALTH_MIN_FREE_MB, "free_mb": free_mb,
            "free_percent": round(100 * usage.free / usage.total, 1) if usage.total else 0.0}


def health_report(*, checks: tuple[str, ...] = HEALTH_CHECKS, now: datetime | None = None) -> HealthReport:
    """What /healthz answers: each check's figures and whether it passes. Without a
    database the other checks are not tried (they all read it)."""
    moment = now or timezone.now()
    report = HealthReport()
    report.checks["database"] = _check_database()
    database_up = report.checks["database"]["ok"]
    if "workers" in checks and database_up:
        report.checks["workers"] = _check_workers(moment)
    if "queue" in checks and database_up:
        report.checks["queue"] = _check_queue(moment)
    if "disk" in checks:
        report.checks["disk"] = _check_disk()
    return report


# --- stuck work, for the page and `linli jobs stuck` ---------------------------------------

STALE_READY: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class StuckWork:
    """What an operator should look at: lost or failed tasks, interrupted imports, a queue
    nobody takes from, and the workers."""

    running: list[RunningTask]
    failed_lost: list[DBTaskResult[Any, Any]]
    stale_ready: list[DBTaskResult[Any, Any]]
    import_jobs: list[ImportJob]
    workers: list[tuple[WorkerHeartbeat, bool]]
    show_tasks: bool

    @property
    def empty(self) -> bool:
        return not (any(r.lost or r.unknown_worker for r in self.running) or self.failed_lost
                    or self.stale_ready or self.import_jobs)


def _stuck_import_jobs(jobs: Any, *, now: datetime) -> list[ImportJob]:
    """Failed jobs (resumable) and jobs queued or running for longer than the lease with no
    ready or running task of theirs."""
    candidates = list(jobs.filter(status__in=[ImportStatus.FAILED, ImportStatus.QUEUED, ImportStatus.RUNNING])
                      .exclude(status=ImportStatus.FAILED, dry_run=True)[:200])
    live = set()
    for task in DBTaskResult.objects.filter(task_path="linli.fusion.tasks.import_job_run",
                                            status__in=[READY, RUNNING]):
        job_id = import_job_id_of(task)
        if job_id is not None:
            live.add(job_id)
    lease = timedelta(seconds=settings.LINLI_TASK_LEASE_SECONDS)
    return [job for job in candidates
            if job.status == ImportStatus.FAILED
            or (job.pk not in live and now - job.updated_at > lease)]


def stuck_work_for_user(*, user: Principal, now: datetime | None = None) -> StuckWork:
    moment = now or timezone.now()
    show_tasks = getattr(user, "role", None) == Role.DISTRICT_ADMIN
    jobs = _stuck_import_jobs(import_job_list_for_user(user=user), now=moment)
    if not show_tasks:
        return StuckWork(running=[], failed_lost=[], stale_ready=[], import_jobs=jobs, workers=[],
                         show_tasks=False)
    return stuck_work_all(now=moment, import_jobs=jobs)


def stuck_work_all(*, now: datetime | None = None, import_jobs: list[ImportJob] | None = None) -> StuckWork:
    """Everything, for the district administrator and the console."""
    moment = now or timezone.now()
    jobs = import_jobs if import_jobs is not None else _stuck_import_jobs(ImportJob.objects.all(), now=moment)
    return StuckWork(
        running=running_tasks(now=moment),
        failed_lost=list(DBTaskResult.objects.filter(status=FAILED, exception_class_path=WORKER_LOST)
                         .order_by("-finished_at")[:100]),
        stale_ready=list(DBTaskResult.objects.ready().filter(enqueued_at__lt=moment - STALE_READY)
                         .order_by("enqueued_at")[:100]),
        import_jobs=jobs,
        workers=[(hb, heartbeat_alive(hb, now=moment))
                 for hb in WorkerHeartbeat.objects.filter(seen_at__gte=moment - timedelta(days=1))[:50]],
        show_tasks=True,
    )
