"""Workbook limits: a zip bomb is refused from its zip directory and <dimension>, in the
web request, before a sheet is inflated; the preview inflates only the first rows."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import Users
from linli.fusion.choices import ImportStatus
from linli.fusion.errors import FileRefused
from linli.fusion.models import ImportJob, Source
from linli.fusion.readers import read_export
from linli.fusion.services import source_save
from linli.fusion.tests.test_services import (
    ID_WANG,
    SYSTEM,
    Street,
    street,  # noqa: F401 -- fixture
)
from linli.fusion.tests.web_support import client_for
from linli.fusion.tests.workbooks import write_workbook


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def _source() -> Source:
    return source_save(actor=SYSTEM, definition={
        "code": "canlian_jj", "department": "残联", "format": "xlsx", "sheets": ["近江社区"],
        "key_columns": ["姓名", "公民身份号码"], "columns": {"姓名": "name", "公民身份号码": "id_number"},
    })


def _uploads(settings: Any) -> list[Path]:
    folder = Path(settings.DATA_DIR) / "fusion" / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_bomb_over_the_inflated_size_limit_is_refused_fast_naming_the_limit(
    street: Street, users: Users, settings: Any, tmp_path: Path,  # noqa: F811
) -> None:
    # given a 2 MB limit and a workbook whose sheet inflates to ~17 MB
    settings.LINLI_IMPORT_MAX_UNZIPPED_MB = 2
    bomb = write_workbook(tmp_path / "bomb.xlsx", rows=100_000, row=("王芳", ID_WANG, "x"))
    assert bomb.stat().st_size < 2 << 20
    source, client = _source(), client_for(users.street)
    assert client.get("/fusion/imports/new/").status_code == 200  # URLs, templates, imports loaded
    # when it is uploaded
    started = time.monotonic()
    response = client.post("/fusion/imports/new/", {
        "source": source.pk, "file": SimpleUploadedFile("bomb.xlsx", bomb.read_bytes())})
    elapsed = time.monotonic() - started
    # then it is refused, naming the limit, without inflating the sheet
    assert response.status_code == 400
    page = response.content.decode()
    assert "LINLI_IMPORT_MAX_UNZIPPED_MB" in page
    assert "上限 2 MB" in page
    assert elapsed < 2.0
    assert ImportJob.objects.count() == 0
    assert _uploads(settings) == []


def test_a_sheet_declaring_too_many_rows_is_refused_naming_the_sheet_and_limit(settings: Any, tmp_path: Path) -> None:
    settings.LINLI_IMPORT_MAX_ROWS = 100
    book = write_workbook(tmp_path / "tall.xlsx", rows=150)
    with pytest.raises(FileRefused) as refused:
        read_export(book, head=5)
    assert "近江社区" in refused.value.message
    assert "LINLI_IMPORT_MAX_ROWS" in refused.value.message


def test_too_many_columns_are_refused(settings: Any, tmp_path: Path) -> None:
    settings.LINLI_IMPORT_MAX_COLUMNS = 2
    book = write_workbook(tmp_path / "wide.xlsx", rows=3)
    with pytest.raises(FileRefused) as refused:
        read_export(book, head=5)
    assert "LINLI_IMPORT_MAX_COLUMNS" in refused.value.message


def test_a_sheet_without_dimension_is_measured_when_the_job_reads_it(settings: Any, tmp_path: Path) -> None:
    # given a sheet that does not declare its size: the preview cannot know, the full read can
    settings.LINLI_IMPORT_MAX_ROWS = 100
    book = write_workbook(tmp_path / "quiet.xlsx", rows=150, dimension=False)
    preview = read_export(book, head=5)
    assert (preview.frame.height, preview.partial, preview.rows) == (5, True, None)
    with pytest.raises(FileRefused) as refused:
        read_export(book)
    assert "LINLI_IMPORT_MAX_ROWS" in refused.value.message


def test_a_compression_ratio_beyond_the_limit_is_refused(settings: Any, tmp_path: Path) -> None:
    settings.LINLI_IMPORT_MAX_RATIO = 5
    book = write_workbook(tmp_path / "dense.xlsx", rows=20_000)
    with pytest.raises(FileRefused) as refused:
        read_export(book, head=5)
    assert "LINLI_IMPORT_MAX_RATIO" in refused.value.message


def test_the_preview_reads_the_first_rows_and_the_declared_count(tmp_path: Path) -> None:
    book = write_workbook(tmp_path / "ok.xlsx", rows=30_000, row=("王芳", ID_WANG, "备注"))
    started = time.monotonic()
    preview = read_export(book, head=5, key_columns=["姓名", "公民身份号码"])
    head_seconds = time.monotonic() - started
    full = read_export(book, key_columns=["姓名", "公民身份号码"])
    assert (preview.frame.height, preview.rows) == (5, 30_000)
    assert preview.frame["公民身份号码"].to_list() == [ID_WANG] * 5
    assert full.rows == 30_000
    assert head_seconds < 1.0


_MEASURE = """
import resource, sys, time
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
django.setup()
from linli.fusion.readers import read_export
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
read_export(sys.argv[1], head=5)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_previewing_a_large_workbook_keeps_memory_bounded(tmp_path: Path) -> None:
    # given a workbook whose sheet inflates to ~60 MB (within the default limits)
    book = write_workbook(tmp_path / "large.xlsx", rows=350_000)
    # when a fresh process previews it
    command = [sys.executable, "-c", _MEASURE, str(book)]
    grown = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)  # noqa: S603
    # then it grew by a few MB, not by the sheet (fastexcel alone takes ~2x the XML)
    assert int(re.findall(r"-?\d+", grown.stdout)[-1]) < 30, grown.stdout


def test_the_full_read_is_done_in_the_job_which_fails_with_the_reason(
    street: Street, users: Users, settings: Any, tmp_path: Path,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a workbook whose size is undeclared and over the row limit: the upload passes
    settings.LINLI_IMPORT_MAX_ROWS = 50
    book = write_workbook(tmp_path / "quiet.xlsx", rows=80, dimension=False, row=("王芳", ID_WANG, "x"))
    client = client_for(users.street)
    response = client.post("/fusion/imports/new/", {"source": _source().pk,
                                                    "file": SimpleUploadedFile("quiet.xlsx", book.read_bytes())})
    assert response.status_code == 302, response.content.decode()[:2000]
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert client.get(response["Location"]).status_code == 200
    # when the dry run's job reads it (the immediate task backend runs it now)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/fusion/imports/new/{token}/dry-run/")
    # then the job failed with the limit in its error
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "LINLI_IMPORT_MAX_ROWS" in job.error
