"""An import report's counts agree with what it lists (issue 16 item 5): refused rows and
dropped values are counted and listed apart, and "另有 N 条" is that count minus the lines
shown — for a dry run and a real run alike."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import Users
from linli.fusion.models import ImportJob, Source
from linli.fusion.services import import_run
from linli.fusion.tests.test_services import (
    MINZHENG_HEADER,
    SYSTEM,
    Street,
    make_id,
    street,  # noqa: F401 -- fixture
    write_csv,
)
from linli.fusion.tests.web_support import client_for
from linli.fusion.views.imports import REJECTED_SHOWN, rejected_lists


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def test_lists_split_refused_rows_from_dropped_values_each_with_its_own_rest() -> None:
    listed = [{"row": n, "rejected": n < 3} for n in range(10)]
    lists = rejected_lists({"rejected_rows": listed, "rejected": 3, "dropped_values": 7}, shown=5)
    assert [i["row"] for i in lists.rows] == [0, 1, 2]
    assert lists.rows_more == 0
    assert [i["row"] for i in lists.dropped] == [3, 4, 5, 6, 7]
    assert lists.dropped_more == 2


def _rows(bad_phones: int) -> list[list[str]]:
    rows = [[f"居民{n:03d}", make_id(f"330102198001{n % 28 + 1:02d}{n:03d}"), "", "", "12345", "", "", "", "", ""]
            for n in range(bad_phones)]
    rows.append(["", make_id("33010219850101004"), "女", "1985-01-01", "", "", "", "", "", ""])  # no name
    return rows


def _count(page: str, key: str) -> int:
    found = re.search(rf'data-testid="count-{key}"[^>]*><dt>[^<]*</dt><dd>(\d+)<', page)
    assert found is not None, key
    return int(found.group(1))


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_report_page_counts_what_it_lists(street: Street, users: Users, tmp_path: Path,  # noqa: F811
                                              dry_run: bool) -> None:
    bad_phones = REJECTED_SHOWN + 7
    report = import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"),
                        dry_run=dry_run, file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, _rows(bad_phones)))
    job = ImportJob.objects.get(pk=report.job_id or 0)
    page = client_for(users.street).get(f"/fusion/imports/{job.pk}/").content.decode()
    assert _count(page, "rejected") == 1
    assert page.count('data-testid="rejected-row"') == 1
    assert 'data-testid="rejected-more"' not in page
    assert _count(page, "dropped_values") == bad_phones
    assert page.count('data-testid="dropped-value"') == REJECTED_SHOWN
    more = re.search(r'data-testid="dropped-more">[^<]*?(\d+)', page)
    assert more is not None
    assert int(more.group(1)) == 7
