"""Exports as they really come, and every bad file refused with a clear message before
anything is written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from linli.fusion.errors import FileRefused
from linli.fusion.readers import detect_encoding, neutralise_cell, read_export

HEADER = "姓名,身份证号,联系电话\n"
ROWS = "王芳,330102198001011234,13812345678\n張偉,330102199009090035,\n"


def _csv(tmp_path: Path, text: str, encoding: str, name: str = "x.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx(tmp_path: Path, sheets: dict[str, list[list[object]]], *, formula: str | None = None) -> Path:
    path = tmp_path / "x.xlsx"
    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
        if formula:
            sheet.write_formula(formula, "=1+1")
    book.close()
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_each_encoding_reads_the_same_rows(tmp_path: Path, encoding: str) -> None:
    # given
    path = _csv(tmp_path, HEADER + ROWS.replace("張偉", "张伟") if encoding == "gbk" else HEADER + ROWS, encoding)
    # when
    result = read_export(path, key_columns=["姓名", "身份证号"])
    # then
    assert result.rows == 2
    assert result.columns == ["姓名", "身份证号", "联系电话"]
    assert result.frame["姓名"][0] == "王芳"
    assert result.frame["__row"].to_list() == [2, 3]
    # GB18030 text made of GBK characters is GBK: the first strict decode in order wins.
    assert result.encoding == {"utf-8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gbk", "gb18030": "gbk"}[encoding]


def test_gb18030_only_characters_are_detected_as_gb18030() -> None:
    # given: 𠮷 (U+20BB7) is outside GBK
    data = "姓名\n𠮷祥\n".encode("gb18030")
    # when / then
    assert detect_encoding(data) == "gb18030"


def test_tab_and_semicolon_delimiters_are_sniffed(tmp_path: Path) -> None:
    # given
    path = _csv(tmp_path, (HEADER + ROWS).replace(",", "\t"), "utf-8")
    # when
    result = read_export(path, key_columns=["姓名"])
    # then
    assert result.delimiter == "\t"
    assert result.frame["联系电话"][0] == "13812345678"


def test_undecodable_file_is_refused_naming_the_encoding(tmp_path: Path) -> None:
    # given: bytes that are neither UTF-8 nor GBK/GB18030
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER.encode() + b"\xff\xfe\xfa\x80\x81\n")
    # when / then
    with pytest.raises(FileRefused) as refused:
        read_export(path)
    assert refused.value.field == "encoding"
    assert "编码" in refused.value.message


def test_declared_encoding_is_checked_not_trusted(tmp_path: Path) -> None:
    # given
    path = _csv(tmp_path, HEADER + ROWS, "utf-8")
    # when / then: a character outside GBK cannot be read as the declared GBK
    with pytest.raises(FileRefused):
        read_export(_csv(tmp_path, HEADER + "𠮷祥,1,2\n", "gb18030", "g.csv"), encoding="gbk")
    assert read_export(path, encoding="utf-8").rows == 2


def test_missing_key_columns_are_named(tmp_path: Path) -> None:
    # given
    path = _csv(tmp_path, "姓名,电话\n王芳,1\n", "utf-8")
    # when / then
    with pytest.raises(FileRefused) as refused:
        read_export(path, key_columns=["姓名", "身份证号", "出生日期"])
    assert refused.value.field == "columns"
    assert "身份证号" in refused.value.message
    assert "出生日期" in refused.value.message


@pytest.mark.parametrize("content", [b"", "\ufeff".encode(), HEADER.encode(), b"\n\n  \n"])
def test_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    # given
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    # when / then
    with pytest.raises(FileRefused) as refused:
        read_export(path)
    assert "空" in refused.value.message


def test_oversize_upload_is_refused_before_reading(tmp_path: Path, settings: object) -> None:
    # given: a limit of 1 MB and a 2 MB file (a 200 MB upload under the default 100 MB)
    path = tmp_path / "big.csv"
    path.write_bytes(HEADER.encode() + b"a,b,c\n" * 350_000)
    # when / then
    with pytest.raises(FileRefused) as refused:
        read_export(path, max_bytes=1024 * 1024)
    assert "过大" in refused.value.message


def test_default_limit_refuses_200_mb(tmp_path: Path) -> None:
    # given: a sparse 200 MB file (no disk cost)
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)
    # when / then
    with pytest.raises(FileRefused) as refused:
        read_export(path)
    assert "上限" in refused.value.message


def test_xlsx_with_several_sheets_reads_all_with_sheet_names(tmp_path: Path) -> None:
    # given
    path = _xlsx(tmp_path, {
        "近江社区": [["姓名", "身份证号"], ["王芳", "330102198001011234"]],
        "婺江社区": [["姓名", "身份证号"], ["李娜", "330102197505050020"], ["赵强", None]],
    })
    # when
    result = read_export(path, key_columns=["姓名"])
    # then
    assert result.format == "xlsx"
    assert result.sheets == ["近江社区", "婺江社区"]
    assert result.frame["__sheet"].to_list() == ["近江社区", "婺江社区", "婺江社区"]
    assert result.frame["__row"].to_list() == [2, 2, 3]
    assert result.frame["身份证号"][0] == "330102198001011234"


def test_unknown_sheet_is_refused_naming_it(tmp_path: Path) -> None:
    # given
    path = _xlsx(tmp_path, {"名单": [["姓名"], ["王芳"]]})
    # when / then
    with pytest.raises(FileRefused) as refused:
        read_export(path, sheets=["残疾人"])
    assert refused.value.field == "sheet"
    assert "残疾人" in refused.value.message
    assert "名单" in refused.value.message


def test_truncated_xlsx_is_refused(tmp_path: Path) -> None:
    # given
    path = _xlsx(tmp_path, {"名单": [["姓名"], ["王芳"]] * 50})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    # when / then
    with pytest.raises(FileRefused) as refused:
        read_export(path)
    assert "XLSX" in refused.value.message


def test_corrupt_sheet_inside_a_valid_zip_is_refused(tmp_path: Path) -> None:
    # given: a zip that is not a workbook
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    # when / then
    with pytest.raises(FileRefused):
        read_export(path)


def test_formula_cells_in_xlsx_refuse_the_file_naming_the_cell(tmp_path: Path) -> None:
    # given
    path = _xlsx(tmp_path, {"名单": [["姓名", "数"], ["王芳", 1]]}, formula="B3")
    # when / then
    with pytest.raises(FileRefused) as refused:
        read_export(path)
    assert "公式" in refused.value.message
    assert "B3" in refused.value.message


def test_formula_text_in_csv_is_refused_naming_row_and_column(tmp_path: Path) -> None:
    # given
    path = _csv(tmp_path, HEADER + '王芳,"=HYPERLINK(""http://x"")",1\n', "utf-8")
    # when / then
    with pytest.raises(FileRefused) as refused:
        read_export(path)
    assert "第2行" in refused.value.message
    assert "身份证号" in refused.value.message


def test_report_cells_are_neutralised_for_spreadsheets() -> None:
    # when / then
    assert neutralise_cell("=1+1") == "'=1+1"
    assert neutralise_cell("+86 138") == "'+86 138"
    assert neutralise_cell("王芳") == "王芳"


def test_refused_file_writes_nothing(tmp_path: Path, db: None) -> None:
    from linli.core.actors import SystemActor
    from linli.fusion.models import ImportJob, SourceRecord
    from linli.fusion.services import import_run, source_save

    # given
    source = source_save(actor=SystemActor("t"), definition={
        "code": "t", "department": "民政", "key_columns": ["姓名", "身份证号"],
        "columns": {"姓名": "name", "身份证号": "id_number"}})
    path = _csv(tmp_path, "姓名\n王芳\n", "utf-8")
    # when / then
    with pytest.raises(FileRefused):
        import_run(actor=SystemActor("t"), source=source, file_path=path, dry_run=False)
    assert ImportJob.objects.count() == SourceRecord.objects.count() == 0
