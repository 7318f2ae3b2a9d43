"""Import jobs belong to the importer's street (or district): another street's staff sees
nothing of them; the rejected-rows file is owner-only on disk and handed out only through an
audited download (masked by default, full values with the reveal permission and a reason);
a dry run keeps its rejected list; a task's evidence shows what the registry said."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from conftest import Users
from linli.accounts.models import AreaAssignment, User
from linli.core.errors import NotFound, ValidationFailed
from linli.core.models import AuditEntry
from linli.fusion import selectors
from linli.fusion.models import FieldProvenance, ImportJob, Source, SourceRecord, VerificationTask
from linli.fusion.services import (
    import_area_resolve,
    import_job_create,
    import_report_download,
    import_run,
)
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
from linli.fusion.tests.web_support import client_for, other_street_staff
from linli.geo.models import Area
from linli.registry.models import Person

API = "/api/v1/fusion"


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def _import(street: Street, tmp_path: Path, *, dry_run: bool = False) -> ImportJob:  # noqa: F811
    report = import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"),
                        dry_run=dry_run, file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))
    return ImportJob.objects.get(pk=report.job_id or 0)


def _area_of(user: User) -> Area:
    return AreaAssignment.objects.get(user=user).area


# --- 1. jobs are scoped by area ------------------------------------------------------------


def test_other_streets_staff_sees_no_job_and_gets_404_for_its_pages(street: Street, tmp_path: Path) -> None:  # noqa: F811
    # given a job of the first street, with a rejected row
    job = _import(street, tmp_path)
    stranger = other_street_staff(street.tree.district)
    client = client_for(stranger)
    # when / then: nothing listed, every page of the job is 404, the download too
    assert not selectors.import_job_list_for_user(user=stranger).exists()
    with pytest.raises(NotFound):
        selectors.import_job_get_for_user(user=stranger, job_id=job.pk)
    assert f"/fusion/imports/{job.pk}/" not in client.get("/fusion/imports/").content.decode()
    for url in (f"/fusion/imports/{job.pk}/", f"/fusion/imports/{job.pk}/progress/",
                f"/fusion/imports/{job.pk}/rejected.csv"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"{API}/jobs").json()["count"] == 0
    assert client.get(f"{API}/jobs/{job.pk}").status_code == 404
    with pytest.raises(NotFound):
        import_report_download(actor=stranger, job=job)
    assert not AuditEntry.objects.filter(action="fusion.report_download").exists()


def test_street_staff_and_district_admin_see_the_streets_job(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given
    job = _import(street, tmp_path)
    # when / then
    assert list(selectors.import_job_list_for_user(user=users.street)) == [job]
    assert list(selectors.import_job_list_for_user(user=users.district_admin)) == [job]


def test_a_district_job_is_not_shown_to_street_staff(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given a job the district admin filed under the district
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    job = import_job_create(actor=users.district_admin, source=Source.objects.get(code="minzheng"), file_path=path,
                            dry_run=True, enqueue=False, area=street.tree.district)
    # when / then
    assert job.area_id == street.tree.district.pk
    assert not selectors.import_job_list_for_user(user=users.street).exists()
    assert list(selectors.import_job_list_for_user(user=users.district_admin)) == [job]


def test_street_staff_cannot_file_a_job_under_another_area(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given
    other_street = _area_of(other_street_staff(street.tree.district))
    # when / then: not their street, nor the district above them
    for area in (other_street, street.tree.district):
        with pytest.raises(ValidationFailed) as refused:
            import_area_resolve(actor=users.street, area=area)
        assert refused.value.field == "area"
    # and with no choice made, their only street is taken
    assert import_area_resolve(actor=users.street, area=None) == street.tree.street


def test_an_import_of_another_street_does_not_match_or_touch_the_first_streets_persons(
    street: Street, tmp_path: Path,  # noqa: F811
) -> None:
    # given Wang lives in the first street; the other street imports a row with his ID
    other_area = _area_of(other_street_staff(street.tree.district))
    rows = [["王芳", ID_WANG, "男", "1980-01-01", "13999998888", "", "", "", "", ""]]
    # when
    report = import_run(actor=SYSTEM, area=other_area, source=Source.objects.get(code="minzheng"), dry_run=False,
                        file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    # then Wang is untouched; the row did not become his
    street.wang.refresh_from_db()
    assert street.wang.phone_masked == "138****5678"
    assert report.matched.get("id_exact", 0) == 0
    assert not SourceRecord.objects.filter(person=street.wang).exists()


def test_other_streets_staff_gets_no_review_of_the_first_streets_job(street: Street, tmp_path: Path) -> None:  # noqa: F811
    # given an uncertain match from the first street's import
    rows = [["赵强", ID_WANG, "", "1960-06-06", "13700001111", "", "", "", "", ""]]
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    stranger = other_street_staff(street.tree.district)
    # when / then
    assert not selectors.review_queue_for_user(user=stranger).exists()


# --- 2. the rejected-rows file ---------------------------------------------------------------


def test_rejected_file_is_owner_only_on_disk(street: Street, tmp_path: Path) -> None:  # noqa: F811
    # when
    job = _import(street, tmp_path)
    # then
    mode = stat.S_IMODE(Path(job.report_file).stat().st_mode)
    assert mode == 0o600


def test_download_masks_ids_and_phones_and_is_audited(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given a rejected row with an ID number (and the rejected file holding it in full)
    job = _import(street, tmp_path)
    rejected_id = minzheng_rows()[2][1]
    assert rejected_id in Path(job.report_file).read_text("utf-8-sig")
    # when the street staff downloads the list from the job page
    response = client_for(users.street).get(f"/fusion/imports/{job.pk}/rejected.csv", HTTP_X_REQUEST_ID="req-1")
    # then the row is there with its reason, the ID masked
    text = response.content.decode("utf-8-sig")
    assert response.status_code == 200
    assert "姓名" in text
    assert rejected_id not in text
    assert rejected_id[:4] + "*" * 10 + rejected_id[-4:] in text
    entry = AuditEntry.objects.get(action="fusion.report_download")
    assert entry.target_id == str(job.pk)
    assert entry.actor_label == users.street.username
    assert "id_number" not in entry.fields
    assert entry.reason.startswith("masked")


def test_full_values_need_a_reason_and_are_audited_with_it(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given
    job = _import(street, tmp_path)
    rejected_id = minzheng_rows()[2][1]
    # when no reason is given / then refused, nothing audited
    with pytest.raises(ValidationFailed) as refused:
        import_report_download(actor=users.street, job=job, full=True, reason="  ")
    assert refused.value.field == "reason"
    assert not AuditEntry.objects.filter(action="fusion.report_download").exists()
    # when a reason is given on the page
    response = client_for(users.street).post(f"/fusion/imports/{job.pk}/rejected.csv",
                                             {"full": "1", "reason": "退回民政科修正"})
    # then the values come as sent, and the audit records full values and why
    assert rejected_id in response.content.decode("utf-8-sig")
    entry = AuditEntry.objects.get(action="fusion.report_download")
    assert "id_number" in entry.fields
    assert "退回民政科修正" in entry.reason
    assert rejected_id not in entry.reason


def test_full_download_without_reason_on_the_page_says_so(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given
    job = _import(street, tmp_path)
    # when
    response = client_for(users.street).post(f"/fusion/imports/{job.pk}/rejected.csv", {"full": "1"}, follow=True)
    # then
    assert "下载完整数据须填写理由" in response.content.decode()
    assert not AuditEntry.objects.filter(action="fusion.report_download").exists()


# --- 3. the task evidence shows the registry's value ----------------------------------------


def test_phone_task_evidence_shows_the_registrys_masked_phone(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given Wang's phone differs in a department's export
    rows = [["王芳", ID_WANG, "男", "1980-01-01", "13911112222", "", "", "", "", ""]]
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    # when
    task = VerificationTask.objects.get(person=street.wang, field="phone")
    # then the evidence says what the registry held (masked), never the plain value
    assert task.evidence["current"]["masked"] == "138****5678"
    assert task.evidence["incoming"]["value"] == "139****2222"
    assert "13812345678" not in str(task.evidence)
    page = client_for(users.grid_worker_a1).get(f"/fusion/tasks/{task.pk}/").content.decode()
    assert "138****5678" in page


# --- 4. a dry run keeps the rejected list ----------------------------------------------------


def test_dry_run_keeps_the_rejected_list_and_file(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # when
    job = _import(street, tmp_path, dry_run=True)
    # then the counts and the list (row, column, reason) are kept, and nothing is written
    assert job.counts["rejected"] == 1
    assert [(r["row"], r["column"]) for r in job.counts["rejected_rows"] if r["rejected"]] == [(4, "姓名")]
    assert not SourceRecord.objects.exists()
    assert not Person.objects.filter(name="张伟").exists()
    assert ID_NEW not in str(job.counts)
    # and the department's list downloads before any commit
    response = client_for(users.street).get(f"/fusion/imports/{job.pk}/rejected.csv")
    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").splitlines()[1].startswith("4,,整行拒收,姓名,")


# --- 5. compact provenance: agreeing values live on the record, still shown ----------------


def test_agreeing_values_are_kept_on_the_record_and_still_shown_as_provenance(
    street: Street, users: Users, tmp_path: Path,  # noqa: F811
) -> None:
    # given Wang's row says what the registry already holds (name, ID, phone, room)
    rows = [minzheng_rows()[0]]
    # when
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    # then no provenance row per agreeing field, the record keeps them (PII only masked/prefixed)
    record = SourceRecord.objects.get(person=street.wang)
    assert {"name", "id_number", "phone", "residence"} <= set(record.stated)
    assert not FieldProvenance.objects.filter(person=street.wang, field__in=["name", "id_number", "phone"]).exists()
    assert ID_WANG not in str(record.stated)
    assert "13812345678" not in str(record.stated)
    # and the provenance still says which source said what, and that it is the registry's value
    history = {h.field: h for h in selectors.person_provenance(user=users.community_a, person_id=street.wang.pk)}
    phone = history["phone"]
    assert phone.current == "138****5678"
    assert [(v.source, v.value, v.won, v.reason) for v in phone.values] == [("minzheng", "138****5678", True, "agreed")]


def test_a_later_different_value_outranks_what_a_record_stated(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given 民政 confirmed Wang's room, then 综治 (authoritative for addresses) moves him to 502
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, [minzheng_rows()[0]]))
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="zongzhi"), dry_run=False,
               file_path=write_csv(tmp_path / "zz.csv", ZONGZHI_HEADER,
                                   [["王芳", ID_WANG, "男", "1980-01-01", "", "江城花园3幢1单元502室", "汉族"]]))
    # when
    history = {h.field: h for h in selectors.person_provenance(user=users.community_a, person_id=street.wang.pk)}
    # then 民政's statement is shown as outranked, 综治's as the authoritative winner
    residence = [(v.source, v.won, v.reason) for v in history["residence"].values]
    assert residence == [("zongzhi", True, "authoritative"), ("minzheng", False, "outranked")]


def test_batch_sealed_tokens_open_with_the_registry_decrypt() -> None:
    # given
    from linli.core import pii
    from linli.registry.text import PII_PHONE

    # when
    token, other = pii.encrypt_many(["13812345678", "13812345678"], field=PII_PHONE)
    assert token != other  # a fresh nonce for every value
    # then the same format as pii.encrypt, bound to the field
    assert pii.decrypt(token, field=PII_PHONE) == "13812345678"
    assert pii.key_id_of(token) == pii.current_key_id()
    with pytest.raises(pii.PiiError):
        pii.decrypt(token, field="person.id_number")
