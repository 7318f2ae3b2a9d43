"""Source definitions: parsing, refusals naming the key, transforms."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import polars as pl
import pytest

from linli.core.errors import ValidationFailed
from linli.demo import exports as exports_module
from linli.fusion.mapping import (
    ColumnMap,
    DefinitionError,
    apply_transforms,
    apply_value_map,
    column_kind,
    definition_to_dict,
    parse_source_definition,
)

MINZHENG_TOML = """
code = "minzheng"
department = "民政"
format = "csv"
encoding = "gbk"
key_columns = ["身份证号"]

[columns]
"姓名" = "name"
"身份证号" = { field = "id_number", transforms = ["strip", "upper"] }
"出生日期" = { field = "birth_date", transforms = ["date"] }
"死亡日期" = "deceased_on"
"是否死亡" = { field = "is_deceased", transforms = ["yes_no"] }
"残疾等级" = "disability_grade"

[authoritative]
is_deceased = 90
deceased_on = 90

[[tags]]
kind = "disabled"
column = "残疾等级"
attribute = "disability_grade"
"""


def test_a_toml_definition_parses_into_typed_column_maps():
    # given a definition as it lives under version control / when parsed
    definition = parse_source_definition(tomllib.loads(MINZHENG_TOML))
    # then columns, precedence and tags are typed and complete
    assert definition.code == "minzheng"
    assert definition.encoding == "gbk"
    assert definition.columns["姓名"] == ColumnMap("name")
    assert definition.columns["身份证号"] == ColumnMap("id_number", ("strip", "upper"))
    assert definition.precedence("is_deceased") == 90
    assert definition.precedence("phone") == 0
    assert definition.column_for("birth_date") == "出生日期"
    assert definition.tags[0].kind == "disabled"
    assert definition.tags[0].attribute == "disability_grade"


def test_a_definition_survives_a_round_trip_through_json():
    definition = parse_source_definition(tomllib.loads(MINZHENG_TOML))
    assert parse_source_definition(definition_to_dict(definition)) == definition


@pytest.mark.parametrize(("change", "key"), [
    (lambda d: d.pop("code"), "code"),
    (lambda d: d.update(code="民政"), "code"),
    (lambda d: d.update(format="xls"), "format"),
    (lambda d: d.update(encoding="big5"), "encoding"),
    (lambda d: d.update(sheets=["Sheet1"]), "sheets"),
    (lambda d: d.pop("columns"), "columns"),
    (lambda d: d["columns"].update({"电话": "mobile"}), "columns.电话.field"),
    (lambda d: d["columns"].update({"电话": {"field": "phone", "transforms": ["strip", "rot13"]}}),
     "columns.电话.transforms[1]"),
    (lambda d: d["columns"].update({"电话": {"field": "phone", "colour": "red"}}), "columns.电话.colour"),
    (lambda d: d["columns"].pop("姓名"), "columns"),
    (lambda d: d.update(key_columns=["证件号"]), "key_columns[0]"),
    (lambda d: d["authoritative"].update(phone="high"), "authoritative.phone"),
    (lambda d: d["authoritative"].update(salary=5), "authoritative.salary"),
    (lambda d: d["tags"][0].pop("kind"), "tags[0].kind"),
    (lambda d: d["tags"][0].update(kind="only_child"), "tags[0].kind"),
    (lambda d: d["columns"].update({"状态": {"field": "hukou", "values": ["在住"]}}), "columns.状态.values"),
    (lambda d: d.update(owner="x"), "owner"),
])
def test_a_broken_definition_is_refused_naming_the_key(change, key):
    # given a valid definition with one thing broken
    data = tomllib.loads(MINZHENG_TOML)
    change(data)
    # when parsed / then the refusal names the key, and is a ValidationFailed for the UI/API
    with pytest.raises(DefinitionError) as caught:
        parse_source_definition(data)
    assert caught.value.key == key
    assert caught.value.field == key
    assert str(caught.value.message).startswith(key)
    assert isinstance(caught.value, ValidationFailed)


def test_kind_transforms_override_the_fields_default_normaliser():
    assert column_kind(ColumnMap("birth_date")) == "date"
    assert column_kind(ColumnMap("note", ("strip", "phone"))) == "phone"
    assert column_kind(ColumnMap("is_deceased", ("yes_no",))) == "yes_no"
    assert column_kind(ColumnMap("unit", ("int",))) == "int_text"


def test_text_transforms_run_in_order_on_the_raw_text():
    series = pl.Series("c", [" ａｂ１ ", None, "x y"])
    assert apply_transforms(series, ("half_width", "strip", "upper")).to_list() == ["AB1", None, "X Y"]
    assert apply_transforms(series, ("no_spaces", "digits")).to_list() == ["１", None, ""]
    assert apply_transforms(series, ()).to_list() == series.to_list()


def test_a_value_map_rewrites_whole_cells_and_keeps_the_others():
    # given a department's own wording for the hukou kind
    definition = parse_source_definition({
        "code": "jisheng", "department": "计生",
        "columns": {"姓名": "name", "人户状态": {"field": "hukou", "values": {"人在户不在": "流动人口",
                                                                          "人户一致": "户籍人口"}}},
    })
    series = pl.Series("人户状态", [" 人在户不在", "人户一致", "户籍", None])
    # when mapped / then mapped cells are replaced, the rest pass to the normaliser unchanged
    assert apply_value_map(series, definition.columns["人户状态"].values).to_list() == [
        "流动人口", "户籍人口", "户籍", None]
    assert parse_source_definition(definition_to_dict(definition)) == definition


# --- the definitions under version control against the demo exports -------------------------

SOURCES_DIR = Path(__file__).resolve().parents[1] / "sources"
SOURCE_FILES = sorted(SOURCES_DIR.glob("*.toml"))


@pytest.fixture(scope="module")
def demo_exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, object]]]:
    from linli.demo.exports import generate_exports

    out = tmp_path_factory.mktemp("exports")
    generate_exports(seed=2026, residents=1500, out_dir=out)
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    return out, {entry["code"]: entry for entry in manifest["files"]}


def test_every_department_of_the_demo_has_a_definition_under_version_control(demo_exports):
    _out, files = demo_exports
    assert {p.stem for p in SOURCE_FILES} == set(files)


@pytest.mark.parametrize("path", SOURCE_FILES, ids=lambda p: p.stem)
def test_a_definition_under_version_control_fits_its_demo_export(path, demo_exports):
    # given the definition file and the manifest of the export it is meant for
    definition = parse_source_definition(tomllib.loads(path.read_text("utf-8")))
    out, files = demo_exports
    export = files[definition.code]
    columns = set(export["columns"])
    # then format, encoding and department agree with the file the department sends
    assert definition.format == export["format"]
    assert definition.department == export["department"]
    if definition.format == "csv" and definition.encoding != "auto":
        assert definition.encoding == str(export["encoding"]).removesuffix("-sig")
    if definition.sheets is not None:
        assert set(definition.sheets) <= set(export["sheets"])
    # and every column it keys on, maps or tags from is in the export's header
    assert set(definition.key_columns) <= columns
    assert set(definition.columns) <= columns
    assert {rule.column for rule in definition.tags} <= columns
    # and every value a tag rule waits for is one the department writes (on this small street
    # rare ones, such as 社区矫正对象, may have no row: then the generator must write it)
    frame = _export_frame(out / export["file"], definition.format, str(export["encoding"]))
    generator_text = (Path(exports_module.__file__)).read_text("utf-8")
    for rule in definition.tags:
        cells = set(frame[rule.column].drop_nulls().str.strip_chars().to_list())
        assert cells, rule
        for value in rule.values:
            assert value in cells or f'"{value}"' in generator_text, (rule.kind, value)
    for column, cmap in definition.columns.items():
        if cmap.values:
            assert frame[column].drop_nulls().str.strip_chars().is_in([k for k, _v in cmap.values]).all(), column


def _export_frame(path: Path, fmt: str, encoding: str) -> pl.DataFrame:
    if fmt == "xlsx":
        sheets = pl.read_excel(path, sheet_id=0, infer_schema_length=0)
        return pl.concat(list(sheets.values()), how="diagonal")
    return pl.read_csv(path.read_bytes().decode(encoding).encode(), infer_schema=False)
