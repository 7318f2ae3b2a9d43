"""Files on disk: import files holding full ID numbers are purged after the retention
period, never-imported uploads too; files and folders are private to linli."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from conftest import Users
from linli.core.data_dir import data_dir_lock_down
from linli.core.models import AuditEntry
from linli.fusion.choices import ImportStatus
from linli.fusion.models import ImportJob, Source
from linli.fusion.services import import_files_purge, reports_dir, uploads_dir
from linli.fusion.tests.test_services import (
    MINZHENG_HEADER,
    Street,
    minzheng_rows,
    street,  # noqa: F401 -- fixture
)
from linli.fusion.tests.web_support import client_for, csv_bytes
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

DAY = 86_400


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def _file(folder: Path, name: str, *, age_days: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("姓名,身份证号\n王芳,330102198001011234\n", encoding="utf-8")
    then = time.time() - age_days * DAY
    os.utime(path, (then, then))
    return path


def _job(source: Source, *, status: str, file_path: Path, report: Path | None = None) -> ImportJob:
    return ImportJob.objects.create(source=source, status=status, file_path=str(file_path), file_name=file_path.name,
                                    report_file=str(report or ""),
                                    area=Area.objects.get(level=AreaLevel.STREET))


def test_old_reports_and_uploads_are_purged_and_a_running_jobs_file_kept(
    street: Street, settings: Any,  # noqa: F811
) -> None:
    # given files of 40 days (retention 30) and of 2 days
    settings.LINLI_FILE_RETENTION_DAYS = 30
    source = Source.objects.get(code="minzheng")
    old_report = _file(reports_dir(), "job-1-rejected.csv", age_days=40)
    new_report = _file(reports_dir(), "job-2-rejected.csv", age_days=2)
    imported = _file(uploads_dir(), "a" * 64 + ".csv", age_days=40)
    never_imported = _file(uploads_dir(), "b" * 64 + ".csv", age_days=40)
    queued = _file(uploads_dir(), "c" * 64 + ".csv", age_days=40)
    recent = _file(uploads_dir(), "d" * 64 + ".csv", age_days=2)
    half_written = _file(uploads_dir(), "tmp123.part", age_days=2)
    done = _job(source, status=ImportStatus.DONE, file_path=imported, report=old_report)
    _job(source, status=ImportStatus.QUEUED, file_path=queued)
    # when
    purged = import_files_purge()
    # then
    assert (purged.reports, purged.uploads) == (1, 3)
    assert not old_report.exists()
    assert not imported.exists()
    assert not never_imported.exists()
    assert not half_written.exists()
    assert new_report.exists()
    assert queued.exists()
    assert recent.exists()
    done.refresh_from_db()
    assert done.report_file == ""
    assert AuditEntry.objects.filter(action="fusion.files_purge").count() == 1


def test_the_command_takes_the_retention_in_days(street: Street) -> None:  # noqa: F811
    upload = _file(uploads_dir(), "e" * 64 + ".csv", age_days=8)
    call_command("linli_purge_files", "--days", "10")
    assert upload.exists()
    call_command("linli_purge_files", "--days", "7")
    assert not upload.exists()


def test_an_upload_is_stored_private(street: Street, users: Users) -> None:  # noqa: F811
    # when an export is uploaded through the wizard
    response = client_for(users.street).post("/fusion/imports/new/", {
        "source": Source.objects.get(code="minzheng").pk,
        "file": _upload(csv_bytes(MINZHENG_HEADER, minzheng_rows()))})
    assert response.status_code == 302
    # then only linli's user can read it
    [stored] = list(uploads_dir().iterdir())
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def _upload(content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("mz.csv", content)


def test_lock_down_tightens_the_folder_and_the_sqlite_files(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    database = folder / "linli.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    (folder / "linli.sqlite3-wal").write_bytes(b"")
    (folder / "linli.sqlite3-wal").chmod(0o644)
    data_dir_lock_down(folder, sqlite=database)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "linli.sqlite3-wal").stat().st_mode) == 0o600


_FRESH = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "linli.settings"
django.setup()
from django.db import connection
connection.ensure_connection()
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE t (x int)")
"""


def test_a_fresh_data_folder_and_sqlite_database_are_private(tmp_path: Path) -> None:
    # given a process started with a data folder that does not exist yet and a loose umask
    folder = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if k != "LINLI_DATABASE_URL"} | {"LINLI_DATA_DIR": str(folder)}
    previous = os.umask(0o022)
    try:
        subprocess.run([sys.executable, "-c", _FRESH], env=env, check=True, timeout=120)  # noqa: S603
    finally:
        os.umask(previous)
    # then
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "linli.sqlite3").stat().st_mode) == 0o600
