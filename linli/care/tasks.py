"""Background jobs of the care app: the nightly sweep (schedule it once a night; a rerun or a
retry of the same day resumes and adds nothing)."""

from __future__ import annotations

from datetime import date

from django_tasks import task


@task()
def care_sweep_task(on: str | None = None) -> str:
    from linli.care.services.sweep import sweep_run

    return str(sweep_run(on=date.fromisoformat(on) if on else None).status)
