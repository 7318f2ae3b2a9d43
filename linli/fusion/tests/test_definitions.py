"""Source definition files as an integrator writes them: the documented format (every key of
docs/fusion-sources.md, its complete example imported end to end), one-line errors that
block only their own file, edited files shown and applied, files of the wrong kind."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from django.core.management import CommandError, call_command

from conftest import Tree
from linli.core.actors import SystemActor
from linli.fusion.errors import FileRefused
from linli.fusion.mapping import (
    _TOP_KEYS,
    CONSTANT_FIELDS,
    FIELDS,
    TRANSFORMS,
    DefinitionError,
    definition_to_dict,
    parse_source_definition,
)
from linli.fusion.models import Source, SourceRecord
from linli.fusion.normalise import normalise_frame
from linli.fusion.readers import read_export
from linli.fusion.services import SOURCES_DIR, sources_apply
from linli.registry.models import Person, PersonTag
from linli.registry.validators import id_number_check_char

DOC = Path(__file__).resolve().parents[3] / "docs" / "fusion-sources.md"
SYSTEM = SystemActor("test")


def _doc_example() -> str:
    text = DOC.read_text("utf-8")
    section = text[text.index("## A complete example"):]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def _id(first17: str) -> str:
    return first17 + id_number_check_char(first17)


# --- the document ------------------------------------------------------------------------------


def test_document_names_every_key_field_and_transform() -> None:
    # given the format document / then every key the parser accepts, every field and transform is in it
    text = DOC.read_text("utf-8")
    tag_keys = {"kind", "column", "values", "separators", "attribute", "valid_from", "valid_to"}
    for word in sorted(_TOP_KEYS | FIELDS | TRANSFORMS | CONSTANT_FIELDS | tag_keys | {"field"}):
        assert f"`{word}`" in text, word


def test_document_example_and_bundled_definitions_parse() -> None:
    # given the complete example of the document and the bundled files / when parsed / then they are valid
    example = parse_source_definition(tomllib.loads(_doc_example()))
    assert example.constants == {"hukou": "户籍"}
    assert example.date_formats == ("%d/%m/%Y",)
    for path in SOURCES_DIR.glob("*.toml"):
        parsed = parse_source_definition(tomllib.loads(path.read_text("utf-8")))
        assert parse_source_definition(definition_to_dict(parsed)) == parsed


def _write_example_workbook(path: Path) -> Path:
    header = ["居民姓名", "性别", "证件号码", "出生日期", "联系方式", "小区", "楼号", "单元", "房号", "人群分类",
              "人员状态", "签约日期"]
    rows = {
        "签约名单": [
            ["吴雨馨", "2", _id("33010219900305124"), "05/03/1990", "138 1234 5678", "清禾苑", "3", "2", "502",
             "低保,高龄", "正常", "01/02/2026"],
            ["陈建国", "1", _id("33010219400101101"), "01/01/1940", "", "清禾苑", "5", "1", "101",
             "高龄", "死亡", "01/02/2026"],
        ],
        "补录": [["林晓", "9", "", "", "13900001111", "清禾苑", "3", "1", "201", "", "正常", ""]],
    }
    book = xlsxwriter.Workbook(str(path))
    for name, data in rows.items():
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, header)
        for i, row in enumerate(data, start=1):
            sheet.write_row(i, 0, row)
    book.close()
    return path


def test_document_example_imports_a_new_layout_end_to_end(tree: Tree, tmp_path: Path) -> None:
    # given the document's example saved as a file and a workbook of that layout
    definition = tmp_path / "weijian_qianyue.toml"
    definition.write_text(_doc_example(), "utf-8")
    workbook = _write_example_workbook(tmp_path / "签约居民名单.xlsx")
    # when the integrator runs the documented command
    call_command("linli_import", "weijian_qianyue", str(workbook), "--definition", str(definition))
    # then every row is a person with the mapped values, constants, value maps, dates and tags
    wu = Person.objects.get(name="吴雨馨")
    assert (wu.sex, str(wu.birth_date), wu.hukou) == ("F", "1990-03-05", "local")
    assert set(PersonTag.objects.filter(person=wu).values_list("kind", flat=True)) == {"subsistence", "oldest_old"}
    chen = Person.objects.get(name="陈建国")
    assert chen.is_deceased is True
    assert set(PersonTag.objects.filter(person=chen).values_list("kind", flat=True)) == {"oldest_old"}
    lin = Person.objects.get(name="林晓")
    assert lin.sex in ("", None)
    assert SourceRecord.objects.filter(source__code="weijian_qianyue").count() == 3


# --- parsing the new keys ------------------------------------------------------------------------


def _base(**extra: object) -> dict[str, object]:
    return {"code": "t", "department": "其他", "columns": {"姓名": "name"}, **extra}


@pytest.mark.parametrize(("extra", "key"), [
    ({"constants": {"name": "张三"}}, "constants.name"),
    ({"constants": {"hukou": ""}}, "constants.hukou"),
    ({"date_formats": ["日/月/年"]}, "date_formats[0]"),
    ({"tags": [{"kind": "veteran", "column": "类别", "separators": 1}]}, "tags[0].separators"),
])
def test_bad_new_keys_name_the_key(extra: dict[str, object], key: str) -> None:
    # given a definition with a bad value under a key / when parsed / then the error names that key
    with pytest.raises(DefinitionError) as caught:
        parse_source_definition(_base(**extra))
    assert caught.value.key == key


def test_constants_date_formats_and_multi_value_tags_in_the_frame() -> None:
    # given a migrant list with day-first dates, a multi-value category column and no hukou column
    definition = parse_source_definition(_base(
        columns={"姓名": "name", "出生": "birth_date", "性别": "sex"},
        constants={"hukou": "流动人口", "sex": "女"}, date_formats=["%d/%m/%Y"],
        tags=[{"kind": "subsistence", "column": "类别", "values": ["低保"]},
              {"kind": "veteran", "column": "类别", "values": ["退役军人"], "separators": ""}],
    ))
    df = pl.DataFrame({"姓名": ["甲", "乙", "丙"], "出生": ["05/03/1990", "1990-03-05", "31/12/1985"],
                       "性别": ["男", "", None], "类别": ["低保,退役军人", "高龄、低保", "退役军人"]})
    # when normalised
    frame = normalise_frame(df, definition)
    # then
    assert frame["hukou"].to_list() == ["migrant"] * 3
    assert frame["sex"].to_list() == ["M", "F", "F"]  # the constant fills only empty cells
    assert [d.isoformat() for d in frame["birth_date"].to_list()] == ["1990-03-05", "1990-03-05", "1985-12-31"]
    assert frame["tag_subsistence"].to_list() == [True, True, False]
    assert frame["tag_veteran"].to_list() == [False, False, True]  # no splitting: whole cells only


# --- definition files: errors, diff, apply -------------------------------------------------------


GOOD = 'code = "renshe"\ndepartment = "人社"\n[columns]\n"姓名" = "name"\n"身份证" = "id_number"\n'


def test_bad_file_is_one_line_naming_file_and_key_and_blocks_only_itself(db: None, tmp_path: Path) -> None:
    # given a folder with a good definition, one with an unknown field and one with broken TOML
    (tmp_path / "a_good.toml").write_text(GOOD, "utf-8")
    (tmp_path / "b_bad.toml").write_text(GOOD.replace("renshe", "bad").replace('"name"', '"gender"'), "utf-8")
    (tmp_path / "c_syntax.toml").write_text('code = "x"\ncolumns = [\n', "utf-8")
    # when applied
    result = sources_apply(actor=SYSTEM, targets=[tmp_path])
    # then the good one is saved and each bad one is one line with its file and key
    assert [s.code for _p, s, _c in result.saved] == ["renshe"]
    assert Source.objects.filter(code="renshe").exists()
    bad, syntax = result.errors
    assert "\n" not in bad
    assert bad.startswith(f"{tmp_path / 'b_bad.toml'}: columns.姓名.field: ")
    assert "gender" in bad
    assert syntax.startswith(f"{tmp_path / 'c_syntax.toml'}: $: ")


def test_bundled_sync_survives_a_bad_bundled_file(db: None, tmp_path: Path) -> None:
    # given the bundled folder plus a broken file / when synced / then the six bundled sources load
    for path in SOURCES_DIR.glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text("utf-8"), "utf-8")
    (tmp_path / "zz_broken.toml").write_text('code = "zz"\ndepartment = "无此部门"\n[columns]\n"姓名"="name"\n', "utf-8")
    result = sources_apply(actor=SYSTEM, targets=[tmp_path])
    assert len(result.saved) == 6
    assert len(result.errors) == 1
    assert ": department: " in result.errors[0]


def test_edited_file_is_shown_then_applied(db: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given a saved source whose file is then edited
    path = tmp_path / "renshe.toml"
    path.write_text(GOOD, "utf-8")
    call_command("linli_fusion_sources", "--apply", str(path))
    path.write_text(GOOD + '"电话" = "phone"\n', "utf-8")
    capsys.readouterr()
    # when diffed / then the change is shown and nothing is saved yet
    call_command("linli_fusion_sources", "--diff", str(path))
    out = capsys.readouterr().out
    assert 'columns.电话: (无) → "phone"' in out
    assert "电话" not in Source.objects.get(code="renshe").definition["columns"]
    # when applied / then the stored source uses it, and a second diff shows nothing
    call_command("linli_fusion_sources", "--apply", str(path))
    assert Source.objects.get(code="renshe").definition["columns"]["电话"] == "phone"
    capsys.readouterr()
    call_command("linli_fusion_sources", "--diff", str(path))
    assert "无变化" in capsys.readouterr().out


def test_command_exits_non_zero_after_loading_the_good_files(db: None, tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD, "utf-8")
    (tmp_path / "b.toml").write_text("code = 1\n", "utf-8")
    with pytest.raises(CommandError, match="1 个定义文件有错误"):
        call_command("linli_fusion_sources", "--apply", str(tmp_path))
    assert Source.objects.filter(code="renshe").exists()


def test_import_definition_with_another_code_is_refused(db: None, tmp_path: Path) -> None:
    path = tmp_path / "renshe.toml"
    path.write_text(GOOD, "utf-8")
    with pytest.raises(CommandError, match="code"):
        call_command("linli_import", "other", str(tmp_path / "x.csv"), "--definition", str(path))


# --- files of the wrong kind ---------------------------------------------------------------------


def test_xlsx_given_to_a_csv_source_says_so(tmp_path: Path) -> None:
    # given an XLSX workbook and a source that expects CSV
    path = tmp_path / "名单.csv"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Sheet1").write_row(0, 0, ["姓名"])
    book.close()
    # when read / then the refusal names both kinds, not the encoding
    with pytest.raises(FileRefused) as caught:
        read_export(path, fmt="csv")
    assert "此来源需要 CSV 文件" in str(caught.value.message)
    assert "XLSX 工作簿" in str(caught.value.message)


@pytest.mark.parametrize(("head", "kind"), [(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "XLS"),
                                            ("姓名,身份证\n张三,1\n".encode(), "文本(CSV)")])
def test_other_kinds_given_to_an_xlsx_source_say_so(tmp_path: Path, head: bytes, kind: str) -> None:
    path = tmp_path / "名单.xlsx"
    path.write_bytes(head)
    with pytest.raises(FileRefused) as caught:
        read_export(path, fmt="xlsx")
    assert "此来源需要 XLSX 文件" in str(caught.value.message)
    assert kind in str(caught.value.message)


def test_an_unmigrated_site_is_told_to_migrate_not_shown_a_traceback(tmp_path: Path) -> None:
    # given a site whose database has no tables yet (a fresh SQLite file)
    import os
    import subprocess
    import sys

    env = os.environ | {"LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
                        "DJANGO_SETTINGS_MODULE": "linli.settings"}
    # when the integrator asks for the difference of the bundled definitions
    done = subprocess.run([sys.executable, "manage.py", "linli_fusion_sources", "--diff"], env=env,
                          capture_output=True, text=True, timeout=180, check=False,
                          cwd=Path(__file__).resolve().parents[3])
    # then one line telling to run migrate, no traceback
    assert done.returncode != 0
    assert "linli migrate" in done.stderr
    assert "Traceback" not in done.stderr
