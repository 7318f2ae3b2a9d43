"""Import pipeline persistence: atomic, idempotent, newer exports update only what changed,
bad rows are listed, conflicts become verification tasks for the right grid worker."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import Tree, Users
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry
from linli.fusion import persist
from linli.fusion.choices import (
    FIELD_VERIFICATION_PRECEDENCE,
    ImportStatus,
    RecordStatus,
    TaskStatus,
)
from linli.fusion.models import (
    FieldProvenance,
    ImportJob,
    MatchReview,
    Source,
    SourceRecord,
    VerificationTask,
)
from linli.fusion.services import import_run, source_save, sources_sync
from linli.registry.choices import HukouStatus
from linli.registry.models import Building, Person, PersonTag, Room, Unit
from linli.registry.services import person_create
from linli.registry.validators import id_number_check_char

SYSTEM = SystemActor("test")


def make_id(first17: str) -> str:
    return first17 + id_number_check_char(first17)


ID_WANG = make_id("33010219800101123")  # male, 1980-01-01
ID_LI = make_id("33010219750505002")  # female (2nd-last digit even), 1975-05-05
ID_NEW = make_id("33010219900909003")  # male


@dataclass
class Street:
    tree: Tree
    room_a1: Room
    room_a1_other: Room
    room_b1: Room
    wang: Person
    li: Person


def _building(tree_grid: Any, compound: str, name: str, lon: float, lat: float, rooms: list[str]) -> list[Room]:
    building = Building.objects.create(grid=tree_grid, compound=compound, name=name, address=f"{compound}{name}",
                                       lon=lon, lat=lat, floors=6)
    unit = Unit.objects.create(building=building, number=1)
    return [Room.objects.create(unit=unit, building=building, floor=int(n[0]), number=n) for n in rooms]


@pytest.fixture
def street(tree: Tree, users: Users) -> Street:
    room_a1, room_a1_other = _building(tree.grid_a1, "江城花园", "3幢", 120.205, 30.205, ["101", "502"])
    (room_b1,) = _building(tree.grid_b1, "幸福里", "1幢", 120.205, 30.215, ["201"])
    wang = person_create(actor=SYSTEM, name="王芳", id_number=ID_WANG, phone="13812345678", hukou=HukouStatus.LOCAL,
                         room=room_a1)
    li = person_create(actor=SYSTEM, name="李娜", id_number=ID_LI, phone=None, hukou=HukouStatus.LOCAL, room=room_b1)
    sources_sync(actor=SYSTEM)
    return Street(tree, room_a1, room_a1_other, room_b1, wang, li)


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


MINZHENG_HEADER = ["姓名", "身份证号", "性别", "出生日期", "联系电话", "现住址", "残疾等级", "对象类别", "死亡日期",
                   "所属社区"]


def minzheng_rows() -> list[list[str]]:
    return [
        ["王芳", ID_WANG, "男", "1980-01-01", "13812345678", "江城花园3幢1单元101室", "", "最低生活保障", "", "近江"],
        ["张伟", ID_NEW, "男", "1990年9月9日", "13900001111", "江城花园3-1-502", "", "", "", ""],
        ["", make_id("33010219850101004"), "女", "1985-01-01", "", "", "", "", "", ""],
    ]


def test_import_links_existing_creates_new_and_rejects_nameless_row(street: Street, tmp_path: Path) -> None:
    # given
    source = Source.objects.get(code="minzheng")
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    # when
    report = import_run(actor=SYSTEM, source=source, file_path=path, dry_run=False)
    # then
    assert report.rows_read == 3
    assert report.matched.get("id_exact") == 1
    assert report.new_persons == 1
    assert report.rejected == 1
    assert report.rejected_rows[0].row_number == 4
    assert report.rejected_rows[0].column == "姓名"
    zhang = Person.objects.get(name="张伟")
    assert zhang.room_id == street.room_a1_other.pk
    assert zhang.grid_id == street.tree.grid_a1.pk
    assert zhang.id_number_masked == ID_NEW[:4] + "*" * 10 + ID_NEW[-4:]
    assert SourceRecord.objects.filter(status=RecordStatus.REJECTED).count() == 1
    assert PersonTag.objects.filter(person=street.wang, kind="subsistence").exists()
    job = ImportJob.objects.get(pk=report.job_id or 0)
    assert job.status == ImportStatus.DONE
    assert Path(job.report_file).read_text("utf-8-sig").count("\n") >= 2
    assert AuditEntry.objects.filter(action="fusion.import", target_id=str(job.pk)).count() == 1


def _counts() -> tuple[int, int, int, int, int]:
    return (Person.objects.count(), SourceRecord.objects.count(), FieldProvenance.objects.count(),
            VerificationTask.objects.count(), PersonTag.objects.count())


def test_failure_half_way_leaves_registry_as_it_was(street: Street, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: the write fails after persons, records and provenance went in
    source = Source.objects.get(code="minzheng")
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    before = _counts()

    def explode(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(persist, "persons_bulk_update", explode)
    # when
    with pytest.raises(RuntimeError):
        import_run(actor=SYSTEM, source=source, file_path=path, dry_run=False)
    # then
    assert _counts() == before
    assert not Person.objects.filter(name="张伟").exists()
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "disk full" in job.error
    assert not AuditEntry.objects.filter(action="fusion.import").exists()


def test_reimporting_the_same_file_changes_nothing(street: Street, tmp_path: Path) -> None:
    # given
    source = Source.objects.get(code="minzheng")
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows())
    import_run(actor=SYSTEM, source=source, file_path=path, dry_run=False)
    before = _counts()
    stamps = dict(Person.objects.values_list("id", "updated_at"))
    # when
    report = import_run(actor=SYSTEM, source=source, file_path=path, dry_run=False)
    # then
    assert report.unchanged == 3
    assert report.new_persons == report.updated_fields == report.rejected == 0
    assert _counts() == before
    assert dict(Person.objects.values_list("id", "updated_at")) == stamps


def test_newer_export_updates_only_what_changed(street: Street, tmp_path: Path) -> None:
    # given
    source = Source.objects.get(code="minzheng")
    rows = minzheng_rows()
    import_run(actor=SYSTEM, source=source, file_path=write_csv(tmp_path / "v1.csv", MINZHENG_HEADER, rows),
               dry_run=False)
    zhang_stamp = Person.objects.get(name="张伟").updated_at
    rows[0][4] = "13800009999"  # Wang's phone changed in the department's newer export
    # when
    report = import_run(actor=SYSTEM, source=source, file_path=write_csv(tmp_path / "v2.csv", MINZHENG_HEADER, rows),
                        dry_run=False)
    # then
    assert report.unchanged == 2
    assert report.updated_persons == 1
    assert report.updated_fields == 1
    assert report.conflicts == 0  # the same source correcting itself is an update
    street.wang.refresh_from_db()
    assert street.wang.phone_masked == "138****9999"
    assert Person.objects.get(name="张伟").updated_at == zhang_stamp
    phone = FieldProvenance.objects.filter(person=street.wang, field="phone")
    assert phone.filter(won=True).count() == 1
    assert phone.get(won=True).value_masked == "138****9999"


def test_dry_run_counts_without_writing(street: Street, tmp_path: Path) -> None:
    # given
    source = Source.objects.get(code="minzheng")
    before = _counts()
    # when
    report = import_run(actor=SYSTEM, source=source, dry_run=True,
                        file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))
    # then
    assert (report.new_persons, report.rejected) == (1, 1)
    assert _counts() == before
    assert ImportJob.objects.get().counts["new_persons"] == 1


ZONGZHI_HEADER = ["姓名", "证件号码", "性别", "出生日期", "联系电话", "居住地址", "民族"]


def test_residence_conflict_becomes_task_for_the_grid_worker_and_answer_wins(
    street: Street, users: Users, tmp_path: Path,
) -> None:
    # given: 民政 says Wang lives in 101; 综治 (authoritative for residence) says 502
    import_run(actor=SYSTEM, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))
    zz = write_csv(tmp_path / "zz.csv", ZONGZHI_HEADER,
                   [["王芳", ID_WANG, "男", "1980-01-01", "", "江城花园3幢1单元502室", "汉族"]])
    # when
    report = import_run(actor=SYSTEM, source=Source.objects.get(code="zongzhi"), file_path=zz, dry_run=False)
    # then
    assert report.conflicts == 1
    task = VerificationTask.objects.get(person=street.wang, field="residence")
    assert task.assignee == users.grid_worker_a1
    assert task.grid == street.tree.grid_a1
    street.wang.refresh_from_db()
    assert street.wang.room_id == street.room_a1_other.pk  # authoritative source won meanwhile
    # when the grid worker finds Wang in 101
    from linli.fusion.services import verification_answer

    verification_answer(actor=users.grid_worker_a1, task=task, answer={"residence": street.room_a1.pk}, note="上门核实")
    # then
    street.wang.refresh_from_db()
    assert street.wang.room_id == street.room_a1.pk
    won = FieldProvenance.objects.get(person=street.wang, field="residence", won=True)
    assert won.precedence == FIELD_VERIFICATION_PRECEDENCE
    assert won.reason == "field_verification"
    assert won.source is None
    task.refresh_from_db()
    assert task.status == TaskStatus.ANSWERED
    assert task.answered_by == users.grid_worker_a1


def test_other_grids_worker_cannot_answer_or_see_task(street: Street, users: Users, tmp_path: Path) -> None:
    # given
    import_run(actor=SYSTEM, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))
    import_run(actor=SYSTEM, source=Source.objects.get(code="zongzhi"), dry_run=False,
               file_path=write_csv(tmp_path / "zz.csv", ZONGZHI_HEADER,
                                   [["王芳", ID_WANG, "男", "1980-01-01", "13812345678", "江城花园3幢1单元502室", "汉族"]]))
    task = VerificationTask.objects.get()
    from linli.core.errors import NotFound
    from linli.fusion.selectors import verification_tasks_for_user
    from linli.fusion.services import verification_answer

    # when / then
    assert list(verification_tasks_for_user(user=users.grid_worker_b1)) == []
    assert list(verification_tasks_for_user(user=users.grid_worker_a1)) == [task]
    with pytest.raises(NotFound):
        verification_answer(actor=users.grid_worker_b1, task=task, answer={"residence": street.room_a1.pk})
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_phone_and_deceased_disagreements_are_conflicts(street: Street, users: Users, tmp_path: Path) -> None:
    # given: the registry has Wang's phone; 民政 says another phone and that Li died
    rows = [
        ["王芳", ID_WANG, "男", "1980-01-01", "13911112222", "", "", "", "", ""],
        ["李娜", ID_LI, "女", "1975-05-05", "", "幸福里1幢1单元201室", "", "", "2024-03-01", ""],
    ]
    # when
    report = import_run(actor=SYSTEM, source=Source.objects.get(code="minzheng"), dry_run=False,
                        file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    # then: the phone differs from the registry's own value → a task; Li's death, claimed by
    # one source only, is not applied but goes to the grid worker (issue 17, cause 6)
    fields = set(VerificationTask.objects.values_list("person__name", "field"))
    assert ("王芳", "phone") in fields
    assert ("李娜", "is_deceased") in fields
    assert report.conflicts >= 2
    street.li.refresh_from_db()
    assert not street.li.is_deceased
    assert street.li.deceased_on is None
    held = FieldProvenance.objects.get(person=street.li, field="is_deceased", value="1")
    assert (held.won, held.reason) == (False, "unverified")
    task = VerificationTask.objects.get(person=street.wang, field="phone")
    assert "139" not in str(task.evidence) or "****" in str(task.evidence)  # masked, never the full number


def test_source_definition_is_checked_and_fingerprinted(db: None) -> None:
    from linli.core.errors import ValidationFailed

    # when / then
    with pytest.raises(ValidationFailed) as refused:
        source_save(actor=SYSTEM, definition={"code": "x", "department": "民政", "columns": {"身份证": "id_number"}})
    assert refused.value.field == "columns"
    source = source_save(actor=SYSTEM, definition={"code": "x", "department": "民政", "columns": {"姓名": "name"}})
    assert len(source.definition_sha) == 64


def test_review_queue_row_is_kept_until_decided(street: Street, tmp_path: Path) -> None:
    # given: the same ID as Wang but another name and birth date → the matcher asks a person
    rows = [["赵强", ID_WANG, "", "1960-06-06", "", "", "", "", "", ""]]
    # when
    report = import_run(actor=SYSTEM, source=Source.objects.get(code="minzheng"), dry_run=False,
                        file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    # then
    assert report.review == 1
    review = MatchReview.objects.get()
    assert review.candidate == street.wang
    assert review.record.status == RecordStatus.REVIEW
    assert review.record.person is None


@pytest.mark.parametrize("one_slice_per_row", [False, True])
def test_two_strangers_stating_one_id_number_do_not_stop_the_import(
    street: Street, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_slice_per_row: bool,
) -> None:
    # given a file where a man and an old woman carry the same (new) ID number, one by typo —
    # planned whole, or one row a slice (the second slice then reads the first one's writes)
    from linli.fusion import services

    if one_slice_per_row:
        monkeypatch.setattr(services, "plan_slices", lambda _decisions, indices: [[i] for i in indices])
    rows = [["张伟", ID_NEW, "男", "1990-09-09", "", "", "", "", "", ""],
            ["李秀英", ID_NEW, "女", "1948-02-03", "13500001111", "", "", "", "", ""]]
    # when
    report = import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"),
                        dry_run=False, file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    # then both are registered; the first row's person holds the number, the second is told why not
    assert report.new_persons == 2
    first, second = Person.objects.get(name="张伟"), Person.objects.get(name="李秀英")
    assert first.id_number_masked.endswith(ID_NEW[-4:])
    assert second.id_number_bidx == ""
    refused = FieldProvenance.objects.get(person=second, field="id_number")
    assert (refused.won, refused.reason) == (False, "id_taken")


def test_row_with_only_name_sex_and_address_is_kept_not_rejected(street: Street, tmp_path: Path) -> None:
    # given (issue 17, cause 1) a list carrying only name, sex and flat for one row, and a
    # row with nothing but a name
    source = Source.objects.get(code="minzheng")
    rows = [["赵敏", "", "女", "", "", "江城花园3幢1单元502室", "", "", "", ""],
            ["钱多", "", "", "", "", "", "", "", "", ""]]
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows)
    # when imported
    report = import_run(actor=SYSTEM, source=source, file_path=path, dry_run=False)
    # then the first becomes a person in that flat; only the name-only row is rejected
    assert report.rejected == 1
    assert report.rejected_rows[0].row_number == 3
    zhao = Person.objects.get(name="赵敏")
    assert zhao.room_id == street.room_a1_other.pk
    assert SourceRecord.objects.filter(person=zhao, status=RecordStatus.ACCEPTED).count() == 1


def test_a_death_two_sources_claim_is_applied(street: Street, tmp_path: Path) -> None:
    # given 民政 claimed Li's death (held for verification)
    rows = [["李娜", ID_LI, "女", "1975-05-05", "", "", "", "", "2024-03-01", ""]]
    import_run(actor=SYSTEM, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    street.li.refresh_from_db()
    assert not street.li.is_deceased
    # when a second, independent source says the same
    police = source_save(actor=SYSTEM, definition={
        "code": "gongan_siwang", "department": "公安", "columns": {"姓名": "name", "身份证号": "id_number",
                                                                  "死亡日期": "deceased_on"}})
    import_run(actor=SYSTEM, source=police, dry_run=False,
               file_path=write_csv(tmp_path / "ga.csv", ["姓名", "身份证号", "死亡日期"], [["李娜", ID_LI, "2024-03-01"]]))
    # then the death stands
    li = Person.objects.get(pk=street.li.pk)
    assert li.is_deceased
    assert li.deceased_on == date(2024, 3, 1)


def test_exact_duplicate_rows_each_keep_a_record(street: Street, tmp_path: Path) -> None:
    # given (issue 17, cause 7) a file listing the same row twice
    row = ["张伟", ID_NEW, "男", "1990-09-09", "13900001111", "江城花园3幢1单元502室", "", "", "", ""]
    path = write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, [row, list(row)])
    source = Source.objects.get(code="minzheng")
    # when imported / then both rows are records of one person
    report = import_run(actor=SYSTEM, source=source, file_path=path, dry_run=False)
    assert (report.unchanged, report.new_persons) == (0, 1)
    zhang = Person.objects.get(name="张伟")
    assert SourceRecord.objects.filter(person=zhang, status=RecordStatus.ACCEPTED).count() == 2
    # when the same file comes again / then nothing is new
    again = import_run(actor=SYSTEM, source=source, file_path=path, dry_run=False)
    assert again.unchanged == 2
    assert SourceRecord.objects.filter(source=source).count() == 2
