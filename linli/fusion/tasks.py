"""Background jobs of fusion (django-tasks): running an import job.

The job row is created (queued) and the task enqueued in one transaction
(:func:`linli.fusion.services.import_job_create`). A worker that dies mid-job leaves the
row ``running`` with the registry untouched (the write is one transaction), and the same
task can simply run again.
"""

from __future__ import annotations

from django_tasks import task

from linli.fusion.services import import_files_purge, import_job_execute
from linli.registry.tasks import building_digests_refresh_task


@task()
def import_job_run(job_id: int) -> dict[str, object]:
    """Run import job ``job_id``; returns the report figures. The buildings an import wrote
    have stale emergency digests: a refresh job rebuilds them before a command centre asks."""
    report = import_job_execute(job_id=job_id)
    building_digests_refresh_task.enqueue()
    return report.counts()


@task()
def import_files_purge_task() -> dict[str, int]:
    """The retention purge as a job (schedule it daily; safe to overlap)."""
    purged = import_files_purge()
    return {"reports": purged.reports, "uploads": purged.uploads}
