"""The background import job, the ``linli_import`` command and the scoped job lists."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from conftest import Users
from linli.core.errors import NotFound, PermissionDenied
from linli.fusion.choices import ImportStatus
from linli.fusion.models import ImportJob, Source
from linli.fusion.selectors import import_job_get_for_user, import_job_list_for_user
from linli.fusion.services import import_job_create, import_job_execute
from linli.fusion.tests.test_services import (
    MINZHENG_HEADER,
    Street,
    minzheng_rows,
    street,  # noqa: F401 -- fixture
    write_csv,
)
from linli.registry.models import Person


def test_queued_job_runs_in_the_background_after_commit(
    street: Street, users: Users, tmp_path: Path,  # noqa: F811
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[list[Any]]],
) -> None:
    # given
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    # when
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(actor=users.street, source=Source.objects.get(code="minzheng"), file_path=path)
    # then
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert job.progress == 100
    assert job.counts["new_persons"] == 1
    assert job.created_by == users.street


def test_a_crashed_job_can_run_again_without_duplicates(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given: a job left "running" by a worker that died
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    job = import_job_create(actor=users.street, source=Source.objects.get(code="minzheng"), file_path=path,
                            enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, progress=60)
    # when
    import_job_execute(job_id=job.pk)
    import_job_execute(job_id=job.pk)  # done jobs are not run twice
    # then
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert Person.objects.filter(name="张伟").count() == 1


def test_grid_worker_may_not_queue_an_import(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # when / then
    with pytest.raises(PermissionDenied):
        import_job_create(actor=users.grid_worker_a1, source=Source.objects.get(code="minzheng"),
                          file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))


def test_job_list_is_scoped(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given
    job = import_job_create(actor=users.street, source=Source.objects.get(code="minzheng"), enqueue=False,
                            file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))
    # when / then
    assert list(import_job_list_for_user(user=users.street)) == [job]
    assert import_job_get_for_user(user=users.district_admin, job_id=job.pk) == job
    assert list(import_job_list_for_user(user=users.grid_worker_a1)) == []
    assert list(import_job_list_for_user(user=users.community_b)) == []
    with pytest.raises(NotFound):
        import_job_get_for_user(user=users.auditor, job_id=job.pk)


def test_command_prints_the_report_and_writes_rejected_rows(street: Street, tmp_path: Path) -> None:  # noqa: F811
    # given
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    out = StringIO()
    # when
    call_command("linli_import", "minzheng", str(path), stdout=out)
    # then
    text = out.getvalue()
    assert "读取行数:   3" in text
    assert "新增人员:   1" in text
    assert "拒收行:     1" in text
    report_file = Path(ImportJob.objects.get().report_file)
    content = report_file.read_text("utf-8-sig")
    assert "姓名" in content
    assert "整行拒收" in content


def test_command_dry_run_writes_nothing(street: Street, tmp_path: Path) -> None:  # noqa: F811
    # given
    before = Person.objects.count()
    out = StringIO()
    # when
    call_command("linli_import", "minzheng", str(write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())),
                 "--dry-run", stdout=out)
    # then
    assert "试运行" in out.getvalue()
    assert Person.objects.count() == before
