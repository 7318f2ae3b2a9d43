# ruff: noqa: F811 -- the street fixture is imported and used as a parameter
"""Definition features an outside integrator asked for (issue 17, integrator friction):
slices of a cell, columns addressed per sheet, rows a definition leaves out, and a
year-month birth field matched as partial birth evidence."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter

from linli.fusion.mapping import DefinitionError, definition_to_dict, parse_source_definition
from linli.fusion.match import Matcher, registry_keys
from linli.fusion.models import SourceRecord
from linli.fusion.normalise import normalise_frame, normalise_year_month
from linli.fusion.services import import_run, source_save
from linli.fusion.tests.test_services import SYSTEM, Street, make_id, street, write_csv  # noqa: F401
from linli.registry.models import Person

TODAY = date(2026, 6, 1)


def _definition(**extra: Any) -> dict[str, Any]:
    return {"code": "t", "department": "其他", "columns": {"姓名": "name"}} | extra


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


# --- (a) slice:START:END ----------------------------------------------------------------------


def test_a_slice_takes_the_id_number_out_of_a_disability_card_number() -> None:
    # given a 20-character 残疾证号: the ID number, the category and the grade
    id_number = make_id("33010219800101123")
    definition = parse_source_definition(
        _definition(
            columns={
                "姓名": "name",
                "残疾证号": {"field": "id_number", "transforms": ["strip", "slice:0:18"]},
                "残疾类别": {"field": "note", "transforms": ["slice:-2:"]},
            }
        )
    )
    raw = pl.DataFrame(
        {"姓名": ["王芳"], "残疾证号": [f" {id_number}42 "], "残疾类别": ["类别代码42"]}
    )
    # when normalised / then the first 18 characters are the (valid) ID number
    frame = normalise_frame(raw, definition, today=TODAY)
    assert frame["id_number"][0] == id_number
    assert frame["id_valid"][0] is True
    assert frame["note"][0] == "42"
    assert parse_source_definition(definition_to_dict(definition)) == definition


@pytest.mark.parametrize("spec", ["slice:5:2", "slice:-3:5", "slice:a:b", "slice:3"])
def test_a_bad_slice_names_the_key(spec: str) -> None:
    with pytest.raises(DefinitionError) as error:
        parse_source_definition(
            _definition(columns={"姓名": "name", "证号": {"field": "note", "transforms": [spec]}})
        )
    assert error.value.key == "columns.证号.transforms[0]"


# --- (b) <sheet>!<header> ---------------------------------------------------------------------


def _two_sheet_workbook(path: Path, zhao_id: str, qian_id: str) -> Path:
    book = xlsxwriter.Workbook(str(path))
    residents = book.add_worksheet("居民")
    residents.write_row(0, 0, ["name", "证件号", "住址"])
    residents.write_row(1, 0, ["赵一", zhao_id, "江城花园3幢1单元101室"])
    guardians = book.add_worksheet("监护")
    # On this sheet ``name`` is the guardian; the person is under 姓名.
    guardians.write_row(0, 0, ["姓名", "name", "证件号", "住址"])
    guardians.write_row(1, 0, ["钱二", "钱大", qian_id, "江城花园3幢1单元502室"])
    book.close()
    return path


def test_columns_addressed_per_sheet_do_not_clash(street: Street, tmp_path: Path) -> None:
    # given a workbook whose sheets use the header ``name`` for different people
    zhao_id, qian_id = make_id("33010219600101201"), make_id("33010220100202302")
    source = source_save(
        actor=SYSTEM,
        definition={
            "code": "jianhu",
            "department": "民政",
            "format": "xlsx",
            "columns": {
                "name": "name",
                "证件号": "id_number",
                "住址": "address",
                "监护!姓名": "name",
                "监护!name": "note",
            },
        },
    )
    path = _two_sheet_workbook(tmp_path / "jianhu.xlsx", zhao_id, qian_id)
    # when imported
    report = import_run(
        actor=SYSTEM, area=street.tree.street, source=source, dry_run=False, file_path=path
    )
    # then each sheet's person has the name of that sheet's column, nobody is called 钱大
    assert report.new_persons == 2
    assert set(
        Person.objects.filter(name__in=["赵一", "钱二", "钱大"]).values_list("name", flat=True)
    ) == {"赵一", "钱二"}
    # and the ID column stays encrypted in the records of both sheets
    for record in SourceRecord.objects.filter(source=source):
        assert "证件号" not in record.raw
        assert record.raw["证件号_enc"]


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"format": "csv", "columns": {"姓名": "name", "补录!电话": "phone"}}, "columns.补录!电话"),
        (
            {
                "format": "xlsx",
                "sheets": ["名单"],
                "columns": {"姓名": "name", "补录!电话": "phone"},
            },
            "columns.补录!电话",
        ),
    ],
)
def test_a_sheet_column_needs_a_workbook_and_a_read_sheet(extra: dict[str, Any], key: str) -> None:
    with pytest.raises(DefinitionError) as error:
        parse_source_definition(_definition(**extra))
    assert error.value.key == key


# --- (c) skip_rows ----------------------------------------------------------------------------


def test_rows_a_definition_skips_are_counted_and_leave_no_record(
    street: Street, tmp_path: Path
) -> None:
    # given a list that keeps deregistered people, with a status column
    source = source_save(
        actor=SYSTEM,
        definition={
            "code": "liudong_x",
            "department": "流动人口",
            "columns": {"姓名": "name", "身份证号": "id_number", "住址": "address"},
            "skip_rows": [
                {"column": "状态", "values": ["注销"]},
                {"column": "备注", "contains": ["已迁出"]},
            ],
        },
    )
    path = write_csv(
        tmp_path / "ld.csv",
        ["姓名", "身份证号", "住址", "状态", "备注"],
        [
            ["孙三", make_id("33010219900101301"), "江城花园3幢1单元502室", "在册", ""],
            ["周四", make_id("33010219910101401"), "江城花园3幢1单元502室", " 注销 ", ""],
            [
                "吴五",
                make_id("33010219920101501"),
                "江城花园3幢1单元502室",
                "在册",
                "2025年已迁出外省",
            ],
        ],
    )
    # when imported
    report = import_run(
        actor=SYSTEM, area=street.tree.street, source=source, dry_run=False, file_path=path
    )
    # then only the registered row is read; the others are counted as skipped, not rejected
    assert (report.rows_read, report.skipped, report.rejected, report.new_persons) == (1, 2, 0, 1)
    assert report.counts()["skipped"] == 2
    assert SourceRecord.objects.filter(source=source).count() == 1
    assert not Person.objects.filter(name__in=["周四", "吴五"]).exists()


def test_a_skip_rule_needs_values_or_contains() -> None:
    with pytest.raises(DefinitionError) as error:
        parse_source_definition(_definition(skip_rows=[{"column": "状态"}]))
    assert error.value.key == "skip_rows[0]"


# --- (d) birth_year_month ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1949.12", "194912"),
        ("1949年12月", "194912"),
        ("194912", "194912"),
        ("1949-12", "194912"),
        ("1949/3", "194903"),
        ("１９４９．１２", "194912"),
        ("1949年12月3日", "194912"),
        ("19491203", "194912"),
        (date(1950, 3, 5), "195003"),
        ("1949", "1949"),
        ("1949年", "1949"),
        ("1949.1", "1949"),  # a number cell: 1949.1 may have been 1949.10, the month is not known
        ("1949.10", "194910"),
    ],
)
def test_year_month_notations(raw: object, expected: str) -> None:
    assert normalise_year_month(raw, today=TODAY).value == expected


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", "empty"),
        ("abc", "date_format"),
        ("1880.01", "date_range"),
        ("2027.01", "date_range"),
        ("1949.13", "date_range"),
    ],
)
def test_year_month_refusals(raw: str, error: str) -> None:
    assert normalise_year_month(raw, today=TODAY).error == error


def test_a_year_month_in_a_birth_date_column_is_kept_as_partial_evidence() -> None:
    # given 出生年月 mapped to birth_date (as integrators do) and to the year-month field
    definition = parse_source_definition(
        _definition(
            columns={"姓名": "name", "出生年月": "birth_date", "出生年月2": "birth_year_month"}
        )
    )
    raw = pl.DataFrame(
        {
            "姓名": ["甲", "乙", "丙"],
            "出生年月": ["1949.12", "1950-03-05", "不详"],
            "出生年月2": ["", "", "1960年7月"],
        }
    )
    # when normalised
    frame = normalise_frame(raw, definition, today=TODAY)
    # then the year-month is kept, not dropped; a full date stays a date; 不详 is dropped
    assert frame["birth_year_month"].to_list() == ["194912", None, "196007"]
    assert frame["birth_date"].to_list() == [None, date(1950, 3, 5), None]
    assert [len(e) for e in frame["errors"].to_list()] == [0, 0, 1]


PEOPLE = pl.DataFrame(
    [
        (1, "陈桂英", "", date(1949, 12, 20), "F", "", "清禾苑", "2", "1", "301"),
        (2, "陈桂英", "", date(1962, 4, 1), "F", "", "景和苑", "8", "1", "101"),
    ],
    orient="row",
    schema=[
        "person_id",
        "name",
        "id_number",
        "birth_date",
        "sex",
        "phone",
        "compound",
        "building_no",
        "unit",
        "room",
    ],
)


def _match(row: dict[str, str]) -> dict[str, Any]:
    definition = parse_source_definition(
        _definition(columns={"姓名": "name", "出生年月": "birth_year_month", "住址": "address"})
    )
    raw = pl.DataFrame({k: [v] for k, v in row.items()}, schema=dict.fromkeys(row, pl.String))
    matcher = Matcher(
        registry_keys(PEOPLE, blind=lambda v, f: f"{f}|{v}"), blind=lambda v, f: f"{f}|{v}"
    )
    return matcher.match(normalise_frame(raw, definition, today=TODAY)).row(0, named=True)


def test_name_year_month_and_address_link() -> None:
    decision = _match({"姓名": "陈桂英", "出生年月": "1949.12", "住址": "清禾苑2-1-301"})
    assert (decision["outcome"], decision["person_id"]) == ("same", 1)


def test_name_and_year_month_alone_pick_the_namesake_born_then() -> None:
    decision = _match({"姓名": "陈桂英", "出生年月": "1962年4月", "住址": ""})
    assert decision["person_id"] == 2 or decision["candidate_id"] == 2


def test_a_contradicting_year_month_does_not_link_at_the_address() -> None:
    decision = _match({"姓名": "陈桂英", "出生年月": "1975.06", "住址": "清禾苑2-1-301"})
    assert decision["outcome"] != "same"
