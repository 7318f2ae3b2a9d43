"""Leases on running tasks: a task whose worker died is requeued or failed for a person to
resume, its import job follows, and nothing held by a live worker is touched (#15.5, #24.7)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from conftest import Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.core.actors import SystemActor
from linli.core.errors import ValidationFailed
from linli.core.models import AuditEntry
from linli.fusion.choices import ImportStatus
from linli.fusion.models import ImportJob, Source
from linli.fusion.services import import_job_create
from linli.fusion.tests.test_services import (
    MINZHENG_HEADER,
    Street,
    minzheng_rows,
    street,  # noqa: F401 -- fixture
    write_csv,
)
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.ops import services
from linli.ops.host import hostname, process_start_mark
from linli.ops.models import WorkerHeartbeat
from linli.ops.selectors import WORKER_LOST, lost_tasks, stuck_work_for_user

ACTOR = SystemActor("test")
IMPORT_TASK = "linli.fusion.tasks.import_job_run"
PASSWORD = "Linli-test-2026"


def running_task(*, path: str = IMPORT_TASK, args: list[Any] | None = None, workers: list[str]) -> DBTaskResult[Any, Any]:
    return DBTaskResult.objects.create(
        status="RUNNING", task_path=path, args_kwargs={"args": args or [], "kwargs": {}}, backend_name="default",
        queue_name="default", worker_ids=workers, started_at=timezone.now() - timedelta(minutes=2),
        exception_class_path="", traceback="",
    )


def heartbeat(worker_id: str, *, host: str = "elsewhere", pid: int = 4242, mark: str = "1", seen_ago: float = 0,
              stopped: bool = False) -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id, hostname=host, pid=pid, pid_started=mark, queues="default",
        started_at=now - timedelta(hours=1), seen_at=now - timedelta(seconds=seen_ago),
        stopped_at=now if stopped else None,
    )


@pytest.fixture
def running_import(street: Street, users: Users, tmp_path: Path) -> ImportJob:  # noqa: F811
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    job = import_job_create(actor=users.street, source=Source.objects.get(code="minzheng"), file_path=path,
                            enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, progress=30)
    return job


def test_a_task_of_a_worker_not_seen_for_the_lease_is_requeued_with_its_import(running_import, settings):
    # given a running import whose worker (another host) has not been seen for longer than the lease
    heartbeat("w-gone", seen_ago=settings.LINLI_TASK_LEASE_SECONDS + 5)
    task = running_task(args=[running_import.pk], workers=["w-gone"])
    # when the recovery runs
    report = services.lost_tasks_recover(actor=ACTOR)
    # then the task is ready to run again and its import job is queued, audited
    task.refresh_from_db()
    running_import.refresh_from_db()
    assert report.requeued == [str(task.pk)]
    assert task.status == "READY"
    assert running_import.status == ImportStatus.QUEUED
    assert AuditEntry.objects.filter(action="ops.task_requeue", target_id=str(task.pk)).exists()


def test_a_task_of_a_live_worker_on_another_host_is_left_alone(running_import):
    # given a running import whose worker was seen a moment ago
    heartbeat("w-live", seen_ago=1)
    task = running_task(args=[running_import.pk], workers=["w-live"])
    # when the recovery runs
    report = services.lost_tasks_recover(actor=ACTOR)
    # then nothing changes
    task.refresh_from_db()
    assert report.requeued == report.failed == []
    assert task.status == "RUNNING"


def test_a_task_of_a_killed_process_on_this_host_is_lost_at_once(running_import):
    # given a worker process of this host that has been killed (its heartbeat is fresh)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    mark = process_start_mark(child.pid) or ""
    child.kill()
    child.wait()
    heartbeat("w-killed", host=hostname(), pid=child.pid, mark=mark, seen_ago=0)
    task = running_task(args=[running_import.pk], workers=["w-killed"])
    # when / then it is lost without waiting for the lease
    assert [r.task.pk for r in lost_tasks()] == [task.pk]


def test_a_live_process_on_this_host_keeps_its_lease_when_its_heartbeat_is_late(running_import, settings):
    # given this very process as the worker, its heartbeat late (SQLite held it back during a commit)
    heartbeat("w-me", host=hostname(), pid=os.getpid(), mark=process_start_mark(os.getpid()) or "",
              seen_ago=settings.LINLI_TASK_LEASE_SECONDS * 10)
    running_task(args=[running_import.pk], workers=["w-me"])
    # when / then its task is not lost
    assert lost_tasks() == []


def test_after_the_last_attempt_the_task_fails_and_the_import_can_be_resumed(
    running_import, users, settings, django_capture_on_commit_callbacks,
):
    # given an import that already lost its worker as many times as allowed
    workers = [f"w{n}" for n in range(settings.LINLI_TASK_MAX_ATTEMPTS)]
    heartbeat(workers[-1], stopped=True)
    task = running_task(args=[running_import.pk], workers=workers)
    # when the recovery runs
    services.lost_tasks_recover(actor=ACTOR)
    # then the task and the job are failed, saying why and what to do
    task.refresh_from_db()
    running_import.refresh_from_db()
    assert (task.status, task.exception_class_path) == ("FAILED", WORKER_LOST)
    assert running_import.status == ImportStatus.FAILED
    assert "继续导入" in running_import.error
    # and the street staff can resume it: queued again with a new task, which completes it
    from linli.fusion.services import import_job_resume

    with django_capture_on_commit_callbacks(execute=True):
        queued = import_job_resume(actor=users.street, job=running_import)
    assert queued.status == ImportStatus.QUEUED
    running_import.refresh_from_db()
    assert running_import.status == ImportStatus.DONE
    assert running_import.counts["new_persons"] == 1


def test_a_lost_notification_is_failed_not_sent_twice(db):
    # given a notification task whose worker stopped: running it again could send a second SMS
    heartbeat("w-stopped", stopped=True)
    task = running_task(path="linli.catalogue.tasks.application_notify", args=[1], workers=["w-stopped"])
    # when the recovery runs
    report = services.lost_tasks_recover(actor=ACTOR)
    # then it is failed for a person to decide, not requeued
    task.refresh_from_db()
    assert report.failed == [str(task.pk)]
    assert task.status == "FAILED"


def test_a_task_of_a_worker_without_heartbeat_is_never_recovered_automatically(running_import):
    # given a task claimed by a plain db_worker (no heartbeat row): its state is unknown
    task = running_task(args=[running_import.pk], workers=["plain-db-worker"])
    # when the recovery runs
    services.lost_tasks_recover(actor=ACTOR)
    # then it is left running (it may still be running) but listed as stuck
    task.refresh_from_db()
    assert task.status == "RUNNING"
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("linli_jobs", "stuck", stdout=out)
    assert exit_.value.code == 1
    assert "UNKNOWN WORKER" in out.getvalue()


def test_resuming_a_task_held_by_a_live_worker_is_refused(running_import):
    # given a running task of a live worker
    heartbeat("w-live", seen_ago=1)
    task = running_task(args=[running_import.pk], workers=["w-live"])
    # when / then
    with pytest.raises(ValidationFailed):
        services.task_resume(actor=ACTOR, task_id=str(task.pk))


def test_linli_jobs_resume_requeues_a_failed_task(running_import):
    # given a task failed because its worker died
    heartbeat("w-stopped", stopped=True)
    # (a task not safe to repeat: case_notify only writes the outbox and is requeued at once)
    task = running_task(path="linli.catalogue.tasks.application_notify", args=[1], workers=["w-stopped"])
    services.lost_tasks_recover(actor=ACTOR)
    # when the operator resumes it from the console
    out = StringIO()
    call_command("linli_jobs", "resume", str(task.pk), stdout=out)
    # then it is ready to run again
    task.refresh_from_db()
    assert task.status == "READY"
    assert "queued again" in out.getvalue()


def test_linli_jobs_stuck_exits_0_when_nothing_is_stuck(db):
    # when / then
    out = StringIO()
    call_command("linli_jobs", "stuck", stdout=out)
    assert "no stuck work" in out.getvalue()


def test_resume_of_an_unknown_task_is_a_clear_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="id"):
        call_command("linli_jobs", "resume", str(uuid.uuid4()))


# --- the page -------------------------------------------------------------------------------

def _failed_import(running_import: ImportJob) -> ImportJob:
    heartbeat("w-stopped", stopped=True)
    running_task(args=[running_import.pk], workers=["a", "b", "w-stopped"])
    services.lost_tasks_recover(actor=ACTOR)
    running_import.refresh_from_db()
    return running_import


def test_street_staff_see_their_interrupted_import_and_resume_it_from_the_page(running_import, users):
    # given an import of the street that failed because its worker died
    job = _failed_import(running_import)
    client = Client()
    client.force_login(users.street)
    # when the street staff open the stuck-work page
    page = client.get("/ops/jobs/")
    # then the job is listed with a resume button, and the task queue is not shown to them
    assert page.status_code == 200
    body = page.content.decode()
    assert f"resume-import-{job.pk}" in body
    assert 'data-testid="task-queue"' not in body
    # and resuming it queues it again
    response = client.post(f"/fusion/imports/{job.pk}/resume/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED


def test_staff_of_another_street_see_nothing_of_it(running_import, tree):
    # given an interrupted import of street 望江 and a staff member of another street
    job = _failed_import(running_import)
    other_street = Area.objects.create(level=AreaLevel.STREET, code="330102002", name="其他街道",
                                       parent=tree.district, path="")
    other_street.path = f"{tree.district.path}{other_street.pk}/"
    other_street.save(update_fields=["path"])
    other = make_user("other_street", Role.STREET_STAFF, (other_street, AssignmentKind.PRIMARY))
    client = Client()
    client.force_login(other)
    # when they open the page or try to resume it
    page = client.get("/ops/jobs/")
    resume = client.post(f"/fusion/imports/{job.pk}/resume/")
    # then they see nothing of it and cannot resume it
    assert f"resume-import-{job.pk}" not in page.content.decode()
    assert resume.status_code == 404
    assert stuck_work_for_user(user=other).import_jobs == []


def test_grid_workers_may_not_open_the_page(users):
    client = Client()
    client.force_login(users.grid_worker_a1)
    assert client.get("/ops/jobs/").status_code == 403


def test_the_district_admin_sees_the_queue_and_the_workers(running_import, users):
    # given a dead worker's failed task
    _failed_import(running_import)
    client = Client()
    client.force_login(users.district_admin)
    # when the district administrator opens the page
    body = client.get("/ops/jobs/").content.decode()
    # then the task queue, the workers and the failed task are shown
    assert 'data-testid="task-queue"' in body
    assert 'data-testid="worker-row"' in body
    assert 'data-testid="failed-lost-task"' in body
