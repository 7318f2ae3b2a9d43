"""End to end in real Chromium: street staff import a department's export.

Upload a 民政 CSV in GBK → the preview shows the detected encoding and the mapped, masked
first rows → a dry run shows what the import would do → commit → the report lists the
rejected row with its reason and offers the rejected rows for download. The job runs on the
test settings' immediate task backend, so the progress bar is done by the time it shows.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from linli.core.actors import SystemActor
from linli.fusion.models import ImportJob, Source
from linli.fusion.services import sources_sync
from linli.registry.choices import HukouStatus
from linli.registry.services import building_create, person_create, room_create, unit_create
from linli.registry.validators import id_number_check_char

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    pytest.mark.django_db(transaction=True),
    # Until linli/urls.py mounts /fusion/, the test urlconf adds it (and is a no-op after).
]

PASSWORD = "Linli-test-2026"  # the root conftest's make_user default
SYSTEM = SystemActor("test")


def id_number(first17: str) -> str:
    return first17 + id_number_check_char(first17)


ID_WANG = id_number("33010219800101123")
ID_NEW = id_number("33010219900909003")
HEADER = ["姓名", "身份证号", "性别", "出生日期", "联系电话", "现住址"]


def export_gbk() -> bytes:
    rows = [
        ["王芳", ID_WANG, "男", "1980-01-01", "13812345678", "江城花园3幢1单元101室"],
        ["张伟", ID_NEW, "男", "1990年9月9日", "13900001111", "江城花园3-1-502"],
        ["", id_number("33010219850101004"), "女", "1985-01-01", "", ""],
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("gbk")


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(username)


@pytest.fixture
def street(tree: Any, users: Any, settings: Any, tmp_path: Path) -> Any:
    settings.DATA_DIR = tmp_path / "data"
    building = building_create(actor=users.district_admin, grid=tree.grid_a1, name="3幢", compound="江城花园",
                               address="江城花园3幢", lon=120.205, lat=30.205, floors=6)
    unit = unit_create(actor=users.district_admin, building=building, number=1)
    room = room_create(actor=users.district_admin, unit=unit, floor=1, number="101")
    room_create(actor=users.district_admin, unit=unit, floor=5, number="502")
    person_create(actor=users.district_admin, name="王芳", id_number=ID_WANG, phone="13812345678",
                  hukou=HukouStatus.LOCAL, room=room)
    sources_sync(actor=SYSTEM)
    return tree


def test_street_staff_import_upload_preview_dry_run_commit_report(
    live_server: Any, street: Any, users: Any, browser_page: Page,
) -> None:
    page = browser_page
    base = live_server.url
    # given the street staff on the import page
    log_in(page, base, users.street.username)
    page.goto(f"{base}/fusion/imports/new/")

    # when they choose 民政 and upload its GBK export
    minzheng = Source.objects.get(code="minzheng")
    page.get_by_test_id("upload-source").select_option(value=str(minzheng.pk))
    page.get_by_test_id("upload-file").set_input_files(
        {"name": "民政2024.csv", "mimeType": "text/csv", "buffer": export_gbk()})
    page.get_by_test_id("upload-submit").click()

    # then the preview shows the detected encoding and the first rows mapped, IDs masked
    expect(page.get_by_test_id("detected-encoding")).to_have_text("GBK")
    expect(page.get_by_test_id("detected-rows")).to_have_text("3")
    preview = page.get_by_test_id("mapping-preview")
    expect(preview.get_by_test_id("preview-row")).to_have_count(3)
    expect(preview).to_contain_text("1990-09-09")
    expect(preview).to_contain_text(ID_NEW[:4] + "*" * 10 + ID_NEW[-4:])
    expect(preview).not_to_contain_text(ID_NEW)

    # when they run the dry run
    page.get_by_test_id("dry-run-submit").click()
    # then the counts it would produce are shown, and nothing is written yet
    status = page.get_by_test_id("job-status")
    expect(status).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("count-new_persons")).to_contain_text("1")
    expect(page.get_by_test_id("count-rejected")).to_contain_text("1")
    assert ImportJob.objects.filter(dry_run=False).count() == 0

    # when they commit
    page.get_by_test_id("commit-submit").click()
    # then the report shows what was done, the rejected row with its reason, and the download
    expect(page.get_by_test_id("job-title")).to_have_text("导入报告")
    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("count-matched")).to_contain_text("1")
    expect(page.get_by_test_id("count-new_persons")).to_contain_text("1")
    rejected = page.get_by_test_id("rejected-row")
    expect(rejected).to_have_count(1)
    expect(rejected).to_contain_text("4")
    expect(rejected).to_contain_text("姓名")
    with page.expect_download() as info:
        page.get_by_test_id("rejected-download").click()
    text = Path(info.value.path()).read_text("utf-8-sig")
    assert text.splitlines()[1].startswith("4,,整行拒收,姓名,")


def test_report_page_fits_a_phone_screen(live_server: Any, street: Any, users: Any, browser_page: Page,
                                         tmp_path: Path) -> None:
    # given a finished import and a phone-sized screen
    from linli.fusion.services import import_run

    path = tmp_path / "mz.csv"
    path.write_bytes(export_gbk())
    report = import_run(actor=SYSTEM, area=street.street, source=Source.objects.get(code="minzheng"), file_path=path,
                        dry_run=False)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, users.street.username)
    # when the report opens
    page.goto(f"{live_server.url}/fusion/imports/{report.job_id}/")
    expect(page.get_by_test_id("job-counts")).to_be_visible()
    # then nothing sticks out sideways (wide tables scroll inside their own box)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
