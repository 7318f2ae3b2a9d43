# ruff: noqa: F811 -- the street fixture is imported and used as a parameter
"""``[[past_rows]]`` (issue 17, open point of the second integrator's definitions): a row a
department keeps with status 注销/已注销/迁出 is a past record of a real person — linked to
the person with its provenance, asserting nothing current (no tag, constant, benefit or
field update) and never creating a person."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from conftest import Users
from linli.core.errors import ApplicationError
from linli.fusion.choices import RecordStatus
from linli.fusion.mapping import (
    DefinitionError,
    DefinitionFileError,
    definition_to_dict,
    parse_source_definition,
    read_definition_file,
)
from linli.fusion.models import FieldProvenance, SourceRecord
from linli.fusion.persist import import_benefit_listeners
from linli.fusion.services import import_run, person_split, source_save
from linli.fusion.tests.test_services import (  # noqa: F401
    ID_LI,
    ID_WANG,
    SYSTEM,
    Street,
    make_id,
    street,
    write_csv,
)
from linli.fusion.tests.web_support import client_for
from linli.registry.choices import HukouStatus
from linli.registry.models import Person, PersonTag

ID_ZHOU = make_id("33010219910101401")
ID_WU = make_id("33010219920101501")

DEFINITION: dict[str, Any] = {
    "code": "liudong_past",
    "department": "流动人口",
    "columns": {"姓名": "name", "身份证号": "id_number", "手机": "phone", "住址": "address"},
    "constants": {"hukou": "流动人口"},
    "tags": [{"kind": "subsistence", "column": "类别", "values": ["低保"], "benefit": "dibao"}],
    "past_rows": [
        {"column": "状态", "values": ["注销", "已注销"]},
        {"column": "备注", "contains": ["迁出"]},
    ],
}


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def benefits(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """The benefit facts the import announces (person, benefit), recorded."""
    said: list[tuple[int, str]] = []

    def listener(*, rows: list[tuple[Any, ...]], **_: Any) -> None:
        said.extend((int(r[0]), str(r[1])) for r in rows)

    monkeypatch.setattr("linli.fusion.persist.import_benefit_listeners", [*import_benefit_listeners, listener])
    return said


def test_a_definition_with_past_rows_parses_and_round_trips() -> None:
    definition = parse_source_definition(DEFINITION | {"skip_rows": [{"column": "备注", "values": ["合计"]}]})
    assert [(r.column, r.values, r.contains) for r in definition.past_rows] == [
        ("状态", ("注销", "已注销"), ()), ("备注", (), ("迁出",))]
    assert definition.skip_rows[0].values == ("合计",)
    data = definition_to_dict(definition)
    assert data["past_rows"] == DEFINITION["past_rows"]
    assert parse_source_definition(data) == definition


@pytest.mark.parametrize(("past_rows", "key"), [
    ([{"column": "状态"}], "past_rows[0]"),
    ([{"column": "状态", "values": ["注销"], "kind": "x"}], "past_rows[0].kind"),
    ([{"values": ["注销"]}], "past_rows[0].column"),
    ({"column": "状态"}, "past_rows"),
])
def test_a_bad_past_rows_key_is_named(past_rows: Any, key: str) -> None:
    with pytest.raises(DefinitionError) as error:
        parse_source_definition(DEFINITION | {"past_rows": past_rows})
    assert error.value.key == key


def test_a_bad_past_rows_key_names_the_file_and_the_key_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "liudong.toml"
    path.write_text('code = "x"\ndepartment = "流动人口"\n[columns]\n"姓名" = "name"\n'
                    '[[past_rows]]\ncolumn = "状态"\nvalue = ["注销"]\n', "utf-8")
    with pytest.raises(DefinitionFileError) as error:
        read_definition_file(path)
    assert str(error.value) == f"{path}: past_rows[0].value: 未知的键"
    assert "\n" not in str(error.value)


def test_a_past_row_links_to_its_person_and_asserts_nothing(
    street: Street, tmp_path: Path, benefits: list[tuple[int, str]],
) -> None:
    # given a migrants' list with tags, a benefit and a constant, where 王芳 (registered,
    # local, room a1) is a cancelled registration at another address with another phone
    source = source_save(actor=SYSTEM, definition=DEFINITION)
    path = write_csv(tmp_path / "ld.csv", ["姓名", "身份证号", "手机", "住址", "类别", "状态", "备注"], [
        ["王芳", ID_WANG, "13900001111", "幸福里1幢201室", "低保", " 已注销 ", ""],
        ["周四", ID_ZHOU, "13900002222", "江城花园3幢502室", "低保", "在册", "2025年迁出外省"],
        ["李娜", ID_LI, "", "", "低保", "在册", ""],
        ["吴五", ID_WU, "13900003333", "江城花园3幢502室", "低保", "在册", ""],
    ])
    before = Person.objects.count()
    # when imported
    report = import_run(actor=SYSTEM, area=street.tree.street, source=source, dry_run=False, file_path=path)
    # then 王芳's row is recorded, linked to her, as a past record
    wang = Person.objects.get(pk=street.wang.pk)
    record = SourceRecord.objects.get(source=source, row_number=2)
    assert (record.person_id, record.status) == (wang.pk, RecordStatus.PAST)
    # … and changes nothing of hers: residence, phone, hukou, tags, benefits, provenance
    assert (wang.room_id, wang.phone_masked, wang.hukou) == (street.room_a1.pk, street.wang.phone_masked,
                                                             HukouStatus.LOCAL)
    assert not PersonTag.objects.filter(person=wang).exists()
    assert not FieldProvenance.objects.filter(person=wang, source=source).exists()
    assert record.stated == {}
    assert wang.pk not in {p for p, _b in benefits}
    # the unknown past row (周四) is recorded, creates nobody, is neither rejected nor reviewed
    zhou = SourceRecord.objects.get(source=source, row_number=3)
    assert (zhou.person_id, zhou.status, zhou.outcome) == (None, RecordStatus.PAST, "")
    assert not Person.objects.filter(name="周四").exists()
    assert (report.past_linked, report.past_unlinked, report.rejected, report.review) == (1, 1, 0, 0)
    assert {k: report.counts()[k] for k in ("past", "past_linked", "past_unlinked")} == {
        "past": 2, "past_linked": 1, "past_unlinked": 1}
    assert sum(report.matched.values()) == 1  # 李娜 only: a linked past row is not a match
    # the current rows behave as before: 李娜 gets the tag, the benefit and the constant, 吴五 is created
    li = Person.objects.get(pk=street.li.pk)
    assert li.hukou == HukouStatus.MIGRANT
    assert PersonTag.objects.filter(person=li, kind="subsistence").exists()
    wu = Person.objects.get(name="吴五")
    assert wu.hukou == HukouStatus.MIGRANT
    assert PersonTag.objects.filter(person=wu, kind="subsistence").exists()
    assert sorted(benefits) == sorted([(li.pk, "dibao"), (wu.pk, "dibao")])
    assert (report.new_persons, Person.objects.count()) == (1, before + 1)
    # and re-importing the same file changes nothing
    again = import_run(actor=SYSTEM, area=street.tree.street, source=source, dry_run=False, file_path=path)
    assert (again.unchanged, again.past_linked, again.past_unlinked) == (4, 0, 0)


@pytest.mark.parametrize("past_first", [False, True], ids=["current-first", "past-first"])
def test_a_past_row_of_a_person_the_file_creates_is_linked_to_them(
    street: Street, tmp_path: Path, past_first: bool,
) -> None:
    # given a list with a current row of a new person and her earlier, cancelled registration,
    # in either order (lists are not sorted by status)
    source = source_save(actor=SYSTEM, definition=DEFINITION)
    rows = [["吴五", ID_WU, "13900003333", "江城花园3幢502室", "", "在册", ""],
            ["吴五", ID_WU, "13900004444", "幸福里1幢201室", "低保", "注销", ""]]
    path = write_csv(tmp_path / "ld.csv", ["姓名", "身份证号", "手机", "住址", "类别", "状态", "备注"],
                     rows[::-1] if past_first else rows)
    # when imported
    report = import_run(actor=SYSTEM, area=street.tree.street, source=source, dry_run=False, file_path=path)
    # then one person, created from the current row only; the past row is linked to her
    wu = Person.objects.get(name="吴五")
    assert (report.new_persons, report.past_linked, report.past_unlinked) == (1, 1, 0)
    assert set(SourceRecord.objects.filter(source=source).values_list("person_id", "status")) == {
        (wu.pk, RecordStatus.ACCEPTED), (wu.pk, RecordStatus.PAST)}
    assert not PersonTag.objects.filter(person=wu).exists()
    assert wu.phone_masked.endswith("3333")


def _past_file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "ld.csv", ["姓名", "身份证号", "手机", "住址", "类别", "状态", "备注"], [
        ["王芳", ID_WANG, "", "", "", "注销", ""],
        ["周四", ID_ZHOU, "", "", "", "注销", ""],
        ["吴五", ID_WU, "13900003333", "江城花园3幢502室", "", "在册", ""],
    ])


def test_the_command_prints_the_past_rows_linked_and_not(street: Street, tmp_path: Path) -> None:
    # given
    source_save(actor=SYSTEM, definition=DEFINITION)
    out = StringIO()
    # when
    call_command("linli_import", "liudong_past", str(_past_file(tmp_path)), "--area", street.tree.street.code,
                 stdout=out)
    # then
    text = out.getvalue()
    assert "历史记录行: 2 (定义的 past_rows;关联到人员 1,未找到人员 1)" in text
    assert "新增人员:   1" in text
    assert "拒收行:     0" in text


def test_the_report_page_and_the_provenance_panel_show_past_records(
    street: Street, users: Users, tmp_path: Path,
) -> None:
    # given an import with a past row of 王芳
    source = source_save(actor=SYSTEM, definition=DEFINITION)
    report = import_run(actor=SYSTEM, area=street.tree.street, source=source, dry_run=False,
                        file_path=_past_file(tmp_path))
    client = client_for(users.street)
    # when the report page is opened / then it counts the past rows, linked and not
    page = client.get(f"/fusion/imports/{report.job_id}/").content.decode()
    for key, n in (("past", 2), ("past_linked", 1), ("past_unlinked", 1)):
        found = re.search(rf'data-testid="count-{key}"[^>]*><dt>[^<]*</dt><dd>(\d+)<', page)
        assert found is not None, key
        assert int(found.group(1)) == n
    # and 王芳's provenance panel lists the past record with its source and row
    panel = client.get(f"/fusion/persons/{street.wang.pk}/provenance/").content.decode()
    assert 'data-testid="past-record"' in panel
    assert "liudong_past" in panel or "流动人口" in panel
    assert "第2行" in panel


def test_a_person_of_another_area_shows_no_past_record(street: Street, users: Users, tmp_path: Path) -> None:
    # given 王芳 (grid a1) has a past record
    source = source_save(actor=SYSTEM, definition=DEFINITION)
    import_run(actor=SYSTEM, area=street.tree.street, source=source, dry_run=False, file_path=_past_file(tmp_path))
    # when a grid worker of grid b1 asks for her provenance / then not found
    response = client_for(users.grid_worker_b1).get(f"/fusion/persons/{street.wang.pk}/provenance/")
    assert response.status_code == 404


def test_a_split_moves_a_past_record_as_a_past_record_and_never_alone(street: Street, tmp_path: Path) -> None:
    # given 王芳 with two current rows and a past one (with a tag cell) of one list
    source = source_save(actor=SYSTEM, definition=DEFINITION)
    path = write_csv(tmp_path / "ld.csv", ["姓名", "身份证号", "手机", "住址", "类别", "状态", "备注"], [
        ["王芳", ID_WANG, "13900001111", "", "", "在册", ""],
        ["王芳", ID_WANG, "13900002222", "", "", "在册", ""],
        ["王芳", ID_WANG, "13900003333", "", "低保", "注销", ""],
    ])
    import_run(actor=SYSTEM, area=street.tree.street, source=source, dry_run=False, file_path=path)
    records = {r.row_number: r for r in SourceRecord.objects.filter(source=source)}
    assert records[4].status == RecordStatus.PAST
    # when the past record alone is split out / then it is refused
    with pytest.raises(ApplicationError):
        person_split(actor=SYSTEM, person=street.wang, records=[records[4]])
    # when it is split out with a current record
    split = person_split(actor=SYSTEM, person=street.wang, records=[records[3], records[4]])
    # then it follows that record to the new person, still a past record asserting nothing
    moved = SourceRecord.objects.get(pk=records[4].pk)
    assert (moved.person_id, moved.status) == (split.pk, RecordStatus.PAST)
    assert not PersonTag.objects.filter(person=split).exists()
    assert not FieldProvenance.objects.filter(record=moved).exists()
    assert split.phone_masked.endswith("2222")


def test_the_bundled_migrants_list_reads_cancelled_registrations_as_past_rows(tmp_path: Path) -> None:
    # given the bundled 流动人口 definition and its list with one 在住 and one 已注销 row
    from linli.fusion.pipeline import stage_read

    _, definition = read_definition_file(Path(__file__).resolve().parents[1] / "sources" / "liudong.toml")
    path = write_csv(tmp_path / "liudong.csv", ["姓名", "公民身份号码", "暂住地址", "状态"], [
        ["王芳", ID_WANG, "幸福里1幢201室", "在住"],
        ["周四", ID_ZHOU, "幸福里1幢201室", " 已注销 "],
    ])
    # when read
    read = stage_read(definition, path)
    # then the cancelled registration is a past record (asserts nothing current), the other is not
    assert read.past is not None
    assert read.past.to_list() == [False, True]
    # … and the current row still states the migrant status
    assert dict(definition.columns["状态"].values).get("在住") == "流动人口"

