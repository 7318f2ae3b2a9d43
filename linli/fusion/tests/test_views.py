"""Fusion pages: who may open them, upload refusals that write nothing, the whole import
flow through the wizard, the review queue, splitting, provenance and verification tasks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import Users
from linli.fusion import selectors
from linli.fusion.choices import ImportStatus, RecordStatus, ReviewStatus, TaskStatus
from linli.fusion.models import ImportJob, MatchReview, Source, SourceRecord, VerificationTask
from linli.fusion.services import import_run, source_save
from linli.fusion.tests.test_services import (
    ID_NEW,
    ID_WANG,
    MINZHENG_HEADER,
    SYSTEM,
    ZONGZHI_HEADER,
    Street,
    minzheng_rows,
    street,  # noqa: F401 -- fixture
    write_csv,
)
from linli.fusion.tests.web_support import client_for, csv_bytes, other_street_staff, xlsx_bytes
from linli.registry.choices import HukouStatus
from linli.registry.models import Person
from linli.registry.services import person_create


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    """Uploads and reports go to a fresh folder per test."""
    settings.DATA_DIR = tmp_path / "data"


def uploads_left(settings: Any) -> list[Path]:
    folder = Path(settings.DATA_DIR) / "fusion" / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def upload(client: Client, source: Source, name: str, content: bytes) -> Any:
    return client.post("/fusion/imports/new/", {"source": source.pk, "file": SimpleUploadedFile(name, content)})


# --- who may open what -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/fusion/imports/", "/fusion/imports/new/", "/fusion/sources/",
                                  "/fusion/reviews/"])
def test_grid_worker_and_community_staff_cannot_open_import_pages(street: Street, users: Users, path: str) -> None:  # noqa: F811
    # when / then
    assert client_for(users.grid_worker_a1).get(path).status_code == 403
    assert client_for(users.community_a).get(path).status_code == 403


def test_anonymous_visitor_is_sent_to_login(street: Street) -> None:  # noqa: F811
    # when
    response = Client().get("/fusion/imports/")
    # then
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_home_sends_importers_to_imports_and_grid_workers_to_tasks(street: Street, users: Users) -> None:  # noqa: F811
    # when / then
    assert client_for(users.street).get("/fusion/")["Location"] == "/fusion/imports/"
    assert client_for(users.grid_worker_a1).get("/fusion/")["Location"] == "/fusion/tasks/"


def test_street_staff_reads_source_list_and_definition(street: Street, users: Users) -> None:  # noqa: F811
    client = client_for(users.street)
    # when
    listing = client.get("/fusion/sources/")
    detail = client.get("/fusion/sources/minzheng/")
    # then
    assert listing.status_code == 200
    assert Source.objects.get(code="minzheng").name in listing.content.decode()
    page = detail.content.decode()
    assert "身份证号" in page
    assert "死亡日期" in page
    assert "关键列" in page
    assert 'data-testid="source-edit-link"' not in page  # only district admins edit


def test_street_staff_cannot_edit_a_source_definition(street: Street, users: Users) -> None:  # noqa: F811
    # when / then
    assert client_for(users.street).get("/fusion/sources/minzheng/edit/").status_code == 403


def test_district_admin_edit_with_a_bad_key_names_the_key_and_changes_nothing(street: Street, users: Users) -> None:  # noqa: F811
    # given
    source = Source.objects.get(code="minzheng")
    before = source.definition_sha
    bad = '{"code": "minzheng", "department": "民政", "columns": {"姓名": {"field": "name", "transforms": ["strip", "shout"]}}}'
    # when
    response = client_for(users.district_admin).post("/fusion/sources/minzheng/edit/", {"definition": bad})
    # then
    assert response.status_code == 400
    assert "columns.姓名.transforms[1]" in response.content.decode()
    source.refresh_from_db()
    assert source.definition_sha == before


def test_district_admin_edit_with_broken_json_says_where(street: Street, users: Users) -> None:  # noqa: F811
    # when
    response = client_for(users.district_admin).post("/fusion/sources/minzheng/edit/", {"definition": '{"code": '})
    # then
    assert response.status_code == 400
    assert "JSON 格式错误" in response.content.decode()


def test_district_admin_saves_a_valid_definition(street: Street, users: Users) -> None:  # noqa: F811
    # given
    source = Source.objects.get(code="minzheng")
    definition = {**source.definition, "authoritative": {"is_deceased": 95}}
    import json

    # when
    response = client_for(users.district_admin).post(
        "/fusion/sources/minzheng/edit/", {"definition": json.dumps(definition, ensure_ascii=False)})
    # then
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.definition["authoritative"] == {"is_deceased": 95}


# --- upload refusals: a clear reason, nothing written --------------------------------------


def _sheeted_source() -> Source:
    return source_save(actor=SYSTEM, definition={
        "code": "canlian_jj", "department": "残联", "format": "xlsx", "sheets": ["近江社区"],
        "key_columns": ["姓名", "公民身份号码"], "columns": {"姓名": "name", "公民身份号码": "id_number"},
    })


def _xlsx_ok() -> bytes:
    return xlsx_bytes({"近江社区": [["姓名", "公民身份号码"], ["王芳", ID_WANG]]})


REFUSALS: dict[str, tuple[Callable[[], Source], str, Callable[[], bytes], str]] = {
    "empty": (lambda: Source.objects.get(code="minzheng"), "mz.csv", lambda: b"", "为空"),
    "header only": (lambda: Source.objects.get(code="minzheng"), "mz.csv",
                    lambda: csv_bytes(MINZHENG_HEADER, []), "没有数据行"),
    "wrong encoding": (lambda: Source.objects.get(code="minzheng"), "mz.csv",
                       lambda: csv_bytes(MINZHENG_HEADER, minzheng_rows(), encoding="utf-16"), "编码"),
    "missing key column": (lambda: Source.objects.get(code="minzheng"), "mz.csv",
                           lambda: csv_bytes(["姓名", "性别"], [["王芳", "男"]]), "缺少关键列:身份证号"),
    "unknown sheet": (_sheeted_source, "cl.xlsx",
                      lambda: xlsx_bytes({"婺江社区": [["姓名", "公民身份号码"], ["王芳", ID_WANG]]}),
                      "找不到工作表:近江社区"),
    "truncated xlsx": (_sheeted_source, "cl.xlsx", lambda: _xlsx_ok()[: len(_xlsx_ok()) // 2], "XLSX"),
    "formula": (_sheeted_source, "cl.xlsx",
                lambda: xlsx_bytes({"近江社区": [["姓名", "公民身份号码"], ["王芳", ID_WANG]]},
                                   formula_at=("近江社区", 2, 0)), "公式"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_upload_shows_the_reason_and_writes_nothing(
    street: Street, users: Users, settings: Any, case: str,  # noqa: F811
) -> None:
    # given
    make_source, name, content, reason = REFUSALS[case]
    source = make_source()
    persons = Person.objects.count()
    # when
    response = upload(client_for(users.street), source, name, content())
    # then
    assert response.status_code == 400
    page = response.content.decode()
    refusal = re.search(r'data-testid="(upload-refusal|upload-file-error)".*?</(div|p)>', page, re.S)
    assert refusal is not None, page
    assert reason in refusal.group(0)
    assert ImportJob.objects.count() == 0
    assert SourceRecord.objects.count() == 0
    assert Person.objects.count() == persons
    assert uploads_left(settings) == []


def test_upload_over_the_size_limit_is_refused_before_it_is_read(
    street: Street, users: Users, settings: Any,  # noqa: F811
) -> None:
    # given a limit of 1 MB and a 2 MB export
    settings.LINLI_FUSION_MAX_MB = 1
    rows = [["王芳", ID_WANG, "男", "1980-01-01", "13812345678", "江城花园3幢1单元101室" * 4, "", "", "", ""]] * 12000
    content = csv_bytes(MINZHENG_HEADER, rows)
    assert len(content) > 2 * 1024 * 1024
    # when
    response = upload(client_for(users.street), Source.objects.get(code="minzheng"), "big.csv", content)
    # then
    assert response.status_code == 413
    assert "文件过大" in response.content.decode()
    assert "上限为 1 MB" in response.content.decode()
    assert ImportJob.objects.count() == 0
    assert uploads_left(settings) == []


# --- the whole flow -------------------------------------------------------------------------


def test_import_flow_upload_preview_dry_run_commit_report(
    street: Street, users: Users, django_capture_on_commit_callbacks: Any,  # noqa: F811
) -> None:
    client = client_for(users.street)
    source = Source.objects.get(code="minzheng")
    persons = Person.objects.count()

    # when the street staff uploads a 民政 export
    response = upload(client, source, "民政2024.csv", csv_bytes(MINZHENG_HEADER, minzheng_rows(), encoding="gbk"))
    # then the preview shows the detected encoding, the columns and the mapped first rows, masked
    assert response.status_code == 302
    preview = client.get(response["Location"])
    page = preview.content.decode()
    assert preview.status_code == 200
    assert 'data-testid="detected-encoding">GBK<' in page
    assert "身份证号 → 身份证号" in page
    assert ID_NEW not in page
    assert ID_NEW[:4] + "*" * 10 + ID_NEW[-4:] in page
    assert "1990-09-09" in page  # 1990年9月9日 normalised
    assert page.count('data-testid="preview-row"') == 3
    # and normalised codes in words (#16.8): 性别 男 → 男, not → M
    values = re.findall(r'data-testid="preview-value">([^<]*)<', page)
    assert "男" in values or "女" in values
    assert not {"M", "F", "local", "migrant"} & set(values)

    # when they ask for a dry run
    dry_url = re.search(r'action="([^"]+/dry-run/)"', page)
    assert dry_url is not None
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(dry_url.group(1))
    dry = ImportJob.objects.get()
    assert response["Location"] == f"/fusion/imports/{dry.pk}/"
    # then the counts it would produce are shown and nothing is written
    page = client.get(response["Location"]).content.decode()
    assert dry.dry_run
    assert 'data-status="done"' in page
    assert re.search(r'data-testid="count-new_persons"><dt>[^<]*</dt><dd>1<', page)
    assert re.search(r'data-testid="count-rejected"[^>]*><dt>[^<]*</dt><dd>1<', page)
    assert 'data-testid="commit-form"' in page
    # and the rejected row is listed already, so the department can fix it before the commit
    listed = re.search(r'data-testid="rejected-row">.*?</tr>', page, re.S)
    assert listed is not None
    assert ">4<" in listed.group(0)
    assert Person.objects.count() == persons
    assert SourceRecord.objects.count() == 0

    # when they commit
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/fusion/imports/{dry.pk}/commit/")
    job = ImportJob.objects.exclude(pk=dry.pk).get()
    assert response["Location"] == f"/fusion/imports/{job.pk}/"
    # then the report shows what happened, with the rejected row and its reason
    page = client.get(response["Location"]).content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert not job.dry_run
    assert Person.objects.count() == persons + 1
    assert re.search(r'data-testid="count-matched"><dt>[^<]*</dt><dd>1<', page)
    assert "身份证号一致" in page  # matched by how
    rejected = re.search(r'data-testid="rejected-row">.*?</tr>', page, re.S)
    assert rejected is not None
    assert ">4<" in rejected.group(0)
    assert "姓名" in rejected.group(0)

    # and the rejected rows download as CSV with row number, column and reason
    download = client.get(f"/fusion/imports/{job.pk}/rejected.csv")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    text = download.content.decode("utf-8-sig")
    header, first = text.splitlines()[:2]
    assert header.startswith("行号,工作表,处理,列,原因")
    assert first.startswith("4,,整行拒收,姓名,")


def test_progress_fragment_polls_while_the_job_runs_and_stops_when_done(street: Street, users: Users,  # noqa: F811
                                                                        tmp_path: Path) -> None:
    # given a queued job
    from linli.fusion.services import import_job_create

    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    job = import_job_create(actor=users.street, source=Source.objects.get(code="minzheng"), file_path=path,
                            dry_run=True, enqueue=False)
    client = client_for(users.street)
    # when / then it polls every second
    fragment = client.get(f"/fusion/imports/{job.pk}/progress/").content.decode()
    assert 'hx-trigger="every 1s"' in fragment
    assert 'role="progressbar"' in fragment
    # when the job finishes, the fragment carries the result and stops polling
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE, progress=100,
                                               counts={"rows_read": 3, "new_persons": 1})
    fragment = client.get(f"/fusion/imports/{job.pk}/progress/").content.decode()
    assert "hx-trigger" not in fragment
    assert 'data-testid="commit-form"' in fragment


def test_commit_is_refused_until_the_dry_run_is_done(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given
    from linli.fusion.services import import_job_create

    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    job = import_job_create(actor=users.street, source=Source.objects.get(code="minzheng"), file_path=path,
                            dry_run=True, enqueue=False)
    # when
    client = client_for(users.street)
    response = client.post(f"/fusion/imports/{job.pk}/commit/", follow=True)
    # then
    assert "只能在试运行完成后确认导入" in response.content.decode()
    assert ImportJob.objects.count() == 1


def test_grid_worker_cannot_download_rejected_rows(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given
    report = import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
                        file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))
    # when / then
    assert client_for(users.grid_worker_a1).get(f"/fusion/imports/{report.job_id}/rejected.csv").status_code == 403
    assert client_for(users.street).get(f"/fusion/imports/{report.job_id}/rejected.csv").status_code == 200


def test_upload_state_of_another_session_is_not_found(street: Street, users: Users) -> None:  # noqa: F811
    # given an upload by the street staff
    response = upload(client_for(users.street), Source.objects.get(code="minzheng"), "mz.csv",
                      csv_bytes(MINZHENG_HEADER, minzheng_rows()))
    # when the district admin opens the same preview address
    other = client_for(users.district_admin).get(response["Location"])
    # then
    assert other.status_code == 404


# --- review queue and split -------------------------------------------------------------------


@pytest.fixture
def review(street: Street, tmp_path: Path) -> MatchReview:  # noqa: F811
    rows = [["赵强", ID_WANG, "", "1960-06-06", "13700001111", "", "", "", "", ""]]
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    return MatchReview.objects.get()


def test_review_queue_shows_both_records_side_by_side_masked(review: MatchReview, users: Users) -> None:
    # when
    page = client_for(users.street).get("/fusion/reviews/").content.decode()
    # then
    assert 'data-testid="review-item"' in page
    record = re.search(r'data-testid="review-record".*?</dl>', page, re.S)
    candidate = re.search(r'data-testid="review-candidate".*?</dl>', page, re.S)
    assert record is not None
    assert candidate is not None
    assert "赵强" in record.group(0)
    assert "王芳" in candidate.group(0)
    assert "137****1111" in record.group(0)
    assert ID_WANG not in page
    assert ID_WANG[:4] + "*" * 10 + ID_WANG[-4:] in page
    assert 'class="differs"' in page  # names and birth dates disagree
    evidence = re.search(r'data-testid="review-evidence">(.*?)</p>', page, re.S)
    assert evidence is not None
    assert '<span class="chip">身份证号 · 一致</span>' in evidence.group(1)  # the matcher's levels in words
    assert "exact" not in evidence.group(1)


def test_accepting_a_review_from_the_queue_links_the_record(review: MatchReview, users: Users, street: Street) -> None:  # noqa: F811
    # when
    response = client_for(users.street).post(f"/fusion/reviews/{review.pk}/", {"decision": "accept"})
    # then
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.ACCEPTED
    assert SourceRecord.objects.get(pk=review.record_id).person == street.wang


def test_rejecting_a_review_from_the_queue_creates_a_new_person(review: MatchReview, users: Users) -> None:
    # given
    before = Person.objects.count()
    # when
    client_for(users.street).post(f"/fusion/reviews/{review.pk}/", {"decision": "reject"})
    # then
    review.refresh_from_db()
    assert review.status == ReviewStatus.REJECTED
    assert Person.objects.count() == before + 1


def test_deciding_twice_shows_a_message_and_changes_nothing(review: MatchReview, users: Users) -> None:
    # given
    client = client_for(users.street)
    client.post(f"/fusion/reviews/{review.pk}/", {"decision": "accept"})
    before = Person.objects.count()
    # when
    response = client.post(f"/fusion/reviews/{review.pk}/", {"decision": "reject"}, follow=True)
    # then
    assert "该复核已处理" in response.content.decode()
    review.refresh_from_db()
    assert review.status == ReviewStatus.ACCEPTED
    assert Person.objects.count() == before


def test_another_streets_staff_sees_no_review_and_cannot_decide(review: MatchReview, users: Users,
                                                                street: Street) -> None:  # noqa: F811
    # given
    stranger = client_for(other_street_staff(street.tree.district))
    # when
    page = stranger.get("/fusion/reviews/").content.decode()
    response = stranger.post(f"/fusion/reviews/{review.pk}/", {"decision": "accept"})
    # then
    assert 'data-testid="review-item"' not in page
    assert response.status_code == 404
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN


def test_split_moves_the_ticked_records_to_a_new_person(review: MatchReview, users: Users, street: Street,  # noqa: F811
                                                         tmp_path: Path) -> None:
    # given Wang fused from two 民政 rows (one of them wrongly, through the review)
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz2.csv", MINZHENG_HEADER, minzheng_rows()[:1]))
    client = client_for(users.street)
    client.post(f"/fusion/reviews/{review.pk}/", {"decision": "accept"})
    records = list(SourceRecord.objects.filter(person=street.wang))
    assert len(records) == 2
    page = client.get(f"/fusion/persons/{street.wang.pk}/split/").content.decode()
    assert page.count('data-testid="split-record"') == 2
    # when the wrong one is ticked and split off
    response = client.post(f"/fusion/persons/{street.wang.pk}/split/", {"records": [review.record_id]})
    # then
    assert response.status_code == 302
    moved = SourceRecord.objects.get(pk=review.record_id)
    assert moved.person_id != street.wang.pk
    assert moved.status == RecordStatus.SPLIT
    assert response["Location"] == f"/persons/{moved.person_id}/"
    assert SourceRecord.objects.filter(person=street.wang).count() == 1


def test_split_without_a_ticked_record_says_so(review: MatchReview, users: Users, street: Street) -> None:  # noqa: F811
    # when
    response = client_for(users.street).post(f"/fusion/persons/{street.wang.pk}/split/", {})
    # then
    assert response.status_code == 400
    assert "请选择要拆分出去的来源记录" in response.content.decode()


# --- provenance ---------------------------------------------------------------------------------


def test_provenance_panel_shows_each_source_and_the_winner(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given 民政 and then 综治 (authoritative for residence) disagree about where Wang lives
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="zongzhi"), dry_run=False,
               file_path=write_csv(tmp_path / "zz.csv", ZONGZHI_HEADER,
                                   [["王芳", ID_WANG, "男", "1980-01-01", "", "江城花园3幢1单元502室", "汉族"]]))
    # when the grid worker's person page loads the panel
    fragment = client_for(users.grid_worker_a1).get(f"/fusion/persons/{street.wang.pk}/provenance/")
    # then
    assert fragment.status_code == 200
    page = fragment.content.decode()
    residence = re.search(r'data-field="residence".*?</details>', page, re.S)
    assert residence is not None
    block = residence.group(0)
    assert "民政" in block
    assert "综治" in block
    assert block.count('data-testid="provenance-value"') == 2
    assert "该来源对此字段具有权威性" in block
    assert "<html" not in page  # a fragment for hx-get, not a page
    assert 'data-testid="split-link"' not in page  # grid workers do not split


def test_provenance_of_another_grids_person_is_not_found(street: Street, users: Users) -> None:  # noqa: F811
    # when / then
    assert client_for(users.grid_worker_b1).get(f"/fusion/persons/{street.wang.pk}/provenance/").status_code == 404


# --- verification tasks -------------------------------------------------------------------------


@pytest.fixture
def phone_task(street: Street, tmp_path: Path) -> VerificationTask:  # noqa: F811
    rows = [["王芳", ID_WANG, "男", "1980-01-01", "13911112222", "", "", "", "", ""]]
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    return VerificationTask.objects.get(field="phone")


def test_grid_worker_sees_the_task_with_masked_evidence(phone_task: VerificationTask, users: Users) -> None:
    # when
    page = client_for(users.grid_worker_a1).get("/fusion/tasks/").content.decode()
    # then
    assert 'data-testid="task-item"' in page
    evidence = re.search(r'data-testid="task-evidence".*?</dl>', page, re.S)
    assert evidence is not None
    assert "民政" in evidence.group(0)
    assert "139****2222" in evidence.group(0)  # what 民政 says, masked
    assert "13911112222" not in page
    assert "13812345678" not in page


def test_other_grids_worker_sees_no_task_and_cannot_open_it(phone_task: VerificationTask, users: Users) -> None:
    client = client_for(users.grid_worker_b1)
    # when / then
    assert 'data-testid="task-item"' not in client.get("/fusion/tasks/").content.decode()
    assert client.get(f"/fusion/tasks/{phone_task.pk}/").status_code == 404
    assert client.post(f"/fusion/tasks/{phone_task.pk}/", {"value": "13911112222"}).status_code == 404
    phone_task.refresh_from_db()
    assert phone_task.status == TaskStatus.OPEN


def test_grid_workers_answer_updates_the_registry(phone_task: VerificationTask, users: Users, street: Street) -> None:  # noqa: F811
    # when
    response = client_for(users.grid_worker_a1).post(f"/fusion/tasks/{phone_task.pk}/",
                                                     {"value": "13911112222", "note": "电话核实"})
    # then
    assert response.status_code == 302
    phone_task.refresh_from_db()
    assert phone_task.status == TaskStatus.ANSWERED
    assert phone_task.note == "电话核实"
    street.wang.refresh_from_db()
    assert street.wang.phone_masked == "139****2222"


def _open_task(person: Person, field: str, grid: Any) -> VerificationTask:
    return VerificationTask.objects.create(person=person, field=field, grid=grid,
                                           evidence={"current": {"value": ""}, "incoming": {"value": "x"}})


def _task_order(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-testid="task-item" data-task="(\d+)"', page)]


def test_task_inbox_puts_death_claims_first_then_walks_the_rooms(street: Street, users: Users) -> None:  # noqa: F811
    # given three persons of grid A1 (two rooms of one building) with tasks of several kinds
    grid = street.tree.grid_a1
    upstairs = person_create(actor=SYSTEM, name="赵强", id_number=None, phone=None, hukou=HukouStatus.LOCAL,
                             room=street.room_a1_other)
    roomless = person_create(actor=SYSTEM, name="钱敏", id_number=None, phone=None, hukou=HukouStatus.LOCAL,
                             room=None, grid=grid)
    phone_upstairs = _open_task(upstairs, "phone", grid)
    phone_roomless = _open_task(roomless, "phone", grid)
    phone_wang = _open_task(street.wang, "phone", grid)
    deceased_upstairs = _open_task(upstairs, "is_deceased", grid)
    residence_wang = _open_task(street.wang, "residence", grid)
    # when
    page = client_for(users.grid_worker_a1).get("/fusion/tasks/").content.decode()
    # then: urgency first; within a kind room 101 before 502, a person without a room last
    assert _task_order(page) == [deceased_upstairs.pk, residence_wang.pk, phone_wang.pk, phone_upstairs.pk,
                                 phone_roomless.pk]
    assert "江城花园3幢 1单元101室" in page  # where to go, on the card
    assert re.search(r'data-testid="task-status-open">待核实 <span class="count">5</span>', page)
    assert re.search(r'data-testid="task-field-phone">联系电话 3</a>', page)


def test_first_open_tasks_are_the_head_of_the_walk_order(street: Street, users: Users) -> None:  # noqa: F811
    # given open tasks of every urgency in two rooms and without a room, and an answered one
    grid = street.tree.grid_a1
    upstairs = person_create(actor=SYSTEM, name="赵强", id_number=None, phone=None, hukou=HukouStatus.LOCAL,
                             room=street.room_a1_other)
    roomless = person_create(actor=SYSTEM, name="钱敏", id_number=None, phone=None, hukou=HukouStatus.LOCAL,
                             room=None, grid=grid)
    for person in (roomless, upstairs, street.wang):
        for field in ("phone", "residence", "is_deceased", "disability_grade", "name"):
            _open_task(person, field, grid)
    VerificationTask.objects.filter(person=upstairs, field="name").update(status=TaskStatus.ANSWERED)
    tasks = selectors.verification_tasks_for_user(user=users.grid_worker_a1)
    walk = list(selectors.verification_tasks_in_walk_order(tasks, status=TaskStatus.OPEN))
    # when the home page asks for the first few, one urgency at a time
    for limit in (1, 3, 6, 14, 20):
        # then it gets exactly the head of the whole list's order
        assert selectors.verification_tasks_first_open(tasks, limit=limit) == walk[:limit]
    # and another grid's worker none of them
    other = selectors.verification_tasks_for_user(user=users.grid_worker_b1)
    assert selectors.verification_tasks_first_open(other, limit=6) == []


def test_task_inbox_filters_by_field_and_pages(street: Street, users: Users) -> None:  # noqa: F811
    # given 25 phone tasks and one residence task in grid A1, and one task in grid B1
    grid = street.tree.grid_a1
    persons = [person_create(actor=SYSTEM, name=f"居民{n:02d}", id_number=None, phone=None,
                             hukou=HukouStatus.LOCAL, room=street.room_a1) for n in range(25)]
    phone_tasks = [_open_task(person, "phone", grid) for person in persons]
    residence = _open_task(street.wang, "residence", grid)
    _open_task(street.li, "phone", street.tree.grid_b1)
    client = client_for(users.grid_worker_a1)
    # when
    first = client.get("/fusion/tasks/?field=phone").content.decode()
    second = client.get("/fusion/tasks/?field=phone&page=2").content.decode()
    # then: 20 a page, the residence task and the other grid's task on neither
    assert len(_task_order(first)) == 20
    assert sorted(_task_order(first) + _task_order(second)) == sorted(t.pk for t in phone_tasks)
    assert residence.pk not in _task_order(first) + _task_order(second)
    assert "第 1 / 2 页" in first
    assert 'href="?field=phone&amp;page=2"' in first
    assert re.search(r'data-testid="task-status-open">待核实 <span class="count">26</span>', first)
    # and an unknown field or page falls back to all open tasks, first page
    fallback = client.get("/fusion/tasks/?field=bogus&page=x").content.decode()
    assert residence.pk in _task_order(fallback)


def test_task_page_says_where_the_person_lives(phone_task: VerificationTask, users: Users) -> None:
    # when
    page = client_for(users.grid_worker_a1).get(f"/fusion/tasks/{phone_task.pk}/").content.decode()
    # then
    assert re.search(r'data-testid="task-address">住址:江城花园3幢 1单元101室', page)


def test_invalid_answer_is_shown_on_the_field_and_the_task_stays_open(phone_task: VerificationTask,
                                                                      users: Users) -> None:
    # when
    response = client_for(users.grid_worker_a1).post(f"/fusion/tasks/{phone_task.pk}/", {"value": "12ab"})
    # then
    assert response.status_code == 400
    assert 'data-testid="task-error"' in response.content.decode()
    phone_task.refresh_from_db()
    assert phone_task.status == TaskStatus.OPEN


def test_job_list_shows_each_import_s_counts(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given one committed import by the system (three rows: one linked, one new, one rejected)
    report = import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
                        file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))
    # when
    page = client_for(users.street).get("/fusion/imports/").content.decode()
    # then
    row = re.search(r'data-testid="job-row">(.*?)</tr>', page, re.S)
    assert row is not None
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]
    assert cells[5:] == ["3", str(report.new_persons), str(report.conflicts), str(report.review), "1", "系统"]
    assert report.new_persons == 1
