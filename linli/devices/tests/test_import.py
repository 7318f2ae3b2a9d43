"""Device import from CSV/XLSX: every row checked, the row and field named, all or nothing
(or the good rows kept), scoped to the importing user's area, from the page and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import xlsxwriter
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from conftest import Tree, Users
from linli.core import pii
from linli.devices.choices import DeviceKind
from linli.devices.models import Device
from linli.devices.services import device_import
from linli.registry.models import Facility
from linli.registry.text import PII_ID_NUMBER
from linli.registry.validators import id_number_check_char

pytestmark = pytest.mark.django_db
ID17 = "33010219410302002"
ID_NUMBER = ID17 + id_number_check_char(ID17)
HEADER = "设备标识,类型,厂商,型号,楼栋地址,单元,室号,设施编号,网格编码,身份证号,心跳(小时)"


@pytest.fixture
def place(flat, tree: Tree):
    flat.elder.id_number_bidx = pii.blind_index(ID_NUMBER, field=PII_ID_NUMBER)
    flat.elder.save(update_fields=["id_number_bidx"])
    Facility.objects.create(kind="camera", code="CAM-0007", name="望江路口杆", grid=tree.grid_a1, lon=120.2, lat=30.2)
    return flat


def write_csv(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "devices.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def good_lines(flat) -> list[str]:
    address = flat.building.address
    return [
        f"imp-smoke-1,smoke,海曼,HS1SA,{address},2,501,,,,",
        f"imp-door-1,门磁,Aqara,MCCGQ11LM,,,,,,{ID_NUMBER},25",
        "imp-cam-1,camera,海康威视,iDS-2CD7A46G0,,,,CAM-0007,,,",
        "imp-gw-1,gateway,,,,,,,330102001001001,,",
    ]


def test_a_valid_file_registers_every_device_bound_to_its_place(place, users: Users, tmp_path: Path):
    report = device_import(actor=users.community_a, path=write_csv(tmp_path, *good_lines(place)))
    assert report.applied
    assert report.imported == ["imp-smoke-1", "imp-door-1", "imp-cam-1", "imp-gw-1"]
    smoke = Device.objects.get(external_id="imp-smoke-1")
    assert (smoke.room_id, smoke.vendor, smoke.kind) == (place.room.pk, "海曼", DeviceKind.SMOKE)
    door = Device.objects.get(external_id="imp-door-1")
    assert door.person_id == place.elder.pk
    assert door.heartbeat_seconds == 25 * 3600
    assert door.absence_hours == 24  # the elder lives alone
    camera = Device.objects.get(external_id="imp-cam-1")
    assert (camera.lon, camera.spot) == (120.2, "望江路口杆")
    assert Device.objects.get(external_id="imp-gw-1").grid.code == "330102001001001"


def test_one_bad_row_and_nothing_is_written_with_row_and_field_named(place, users: Users, tmp_path: Path):
    lines = [*good_lines(place), "imp-x,toaster,,,,,,,,,", f"imp-smoke-1,smoke,,,{place.building.address},2,999,,,,",
             "imp-y,smoke,,,,,,,,,", "imp-z,smoke,,,,,,,330102001001001,,abc"]
    before = Device.objects.count()
    report = device_import(actor=users.community_a, path=write_csv(tmp_path, *lines))
    assert not report.applied
    assert report.imported == []
    assert Device.objects.count() == before
    by_row = {(e.row, e.field) for e in report.rejected}
    # Row 1 is the header: the fifth data line is row 6.
    assert by_row == {(6, "kind"), (7, "room"), (8, "building"), (9, "heartbeat_hours")}


def test_keep_valid_registers_the_good_rows_and_reports_the_rest(place, users: Users, tmp_path: Path):
    lines = [*good_lines(place), "imp-smoke-1,smoke,,,,,,,330102001001001,,", f"{place.smoke.external_id},smoke,,,,,,,330102001001001,,"]
    report = device_import(actor=users.community_a, path=write_csv(tmp_path, *lines), keep_valid=True)
    assert len(report.imported) == 4
    assert [(e.row, e.field) for e in report.rejected] == [(6, "external_id"), (7, "external_id")]


def test_another_areas_user_finds_none_of_the_places(place, users: Users, tmp_path: Path):
    report = device_import(actor=users.community_b, path=write_csv(tmp_path, *good_lines(place)), keep_valid=True)
    assert report.imported == []
    assert {e.field for e in report.rejected} == {"building", "id_number", "facility", "grid"}
    assert not Device.objects.filter(external_id__startswith="imp-").exists()


def test_xlsx_from_the_page_in_english_and_the_cli(place, users: Users, tmp_path: Path):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("设备")
    for r, values in enumerate([["external_id", "kind", "grid"], ["imp-xl-1", "sos", "330102001001001"]]):
        sheet.write_row(r, 0, values)
    book.close()
    client = Client()
    assert client.login(username=users.community_a.username, password="Linli-test-2026")
    assert "导入设备" in client.get(reverse("devices:import")).content.decode()
    client.cookies["django_language"] = "en"
    page = client.get(reverse("devices:import"))
    assert page.status_code == 200
    assert b"Import devices" in page.content
    upload = io.BytesIO(buffer.getvalue())
    upload.name = "devices.xlsx"
    response = client.post(reverse("devices:import"), {"file": upload})
    assert response.status_code == 200
    assert b"1 devices imported" in response.content
    assert Device.objects.filter(external_id="imp-xl-1", kind=DeviceKind.SOS).exists()
    # The CLI: all or nothing, and the rejected rows on stderr.
    bad = write_csv(tmp_path, "imp-cli-1,smoke,,,,,,,330102001001001,,", "imp-cli-2,smoke,,,,,,,,,")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("linli_devices", "import", str(bad), "--user", users.community_a.username, stderr=err)
    assert "row 3 building" in err.getvalue()
    assert not Device.objects.filter(external_id="imp-cli-1").exists()
    out = io.StringIO()
    call_command("linli_devices", "import", str(bad), "--user", users.community_a.username, "--keep-valid",
                 stdout=out, stderr=io.StringIO())
    assert "imported 1, rejected 1" in out.getvalue()
