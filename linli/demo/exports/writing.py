"""Writing the exports: CSV in each department's encoding and a minimal streamed XLSX, a
chunk of rows at a time, plus the truth, the conflicts, the registry frame and a manifest."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Final

import polars as pl

from linli.demo import export_errors as errs
from linli.demo.exports.layouts import LAYOUTS, _Layout
from linli.demo.exports.results import ExportFile, ExportSet

_CHUNK_ROWS: Final = 50_000  # rows formatted at a time when writing: bounds the memory of big files


def _write_csv(frame: pl.DataFrame, path: Path, encoding: str) -> None:
    # Windows tools (Excel, WPS) write GBK/GB18030 with CRLF; web systems write LF.
    terminator = "\r\n" if encoding in ("gbk", "gb18030") else "\n"
    with path.open("wb") as out:
        for start in range(0, max(frame.height, 1), _CHUNK_ROWS):
            chunk = frame.slice(start, _CHUNK_ROWS)
            text = chunk.write_csv(line_terminator=terminator, include_header=start == 0)
            # The BOM of utf-8-sig belongs at the start of the file only.
            out.write(text.encode(encoding if start == 0 or encoding != "utf-8-sig" else "utf-8"))


_XLSX_PARTS: Final = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "{sheets}</Types>"),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="宋体"/></font>'
        '<font><b/><sz val="11"/><name val="宋体"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        "</styleSheet>"),
}
_SHEET_HEAD: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_UNIX_EPOCH_SERIAL: Final = 25569  # Excel serial of 1970-01-01


def _xml_text(value: pl.Expr) -> pl.Expr:
    return value.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True) \
        .str.replace_all(">", "&gt;", literal=True)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_rows(frame: pl.DataFrame, date_headers: tuple[str, ...], number_ids: set[str]) -> pl.Expr:
    """The ``<row>`` element of every row, as a Polars string expression.

    Strings are inline strings; in ``date_headers``, ``YYYY-MM-DD 00:00:00`` becomes a date
    cell and a five-digit number a plain serial; IDs in ``number_ids`` become number cells.
    """
    row = pl.col("__row").cast(pl.String)
    cells: list[pl.Expr] = []
    for index, name in enumerate(frame.columns):
        value = pl.col(name)
        ref = pl.concat_str([pl.lit(f'<c r="{_column_letter(index)}'), row, pl.lit('"')])
        text = pl.concat_str([ref, pl.lit(' t="inlineStr"><is><t xml:space="preserve">'), _xml_text(value),
                              pl.lit("</t></is></c>")])
        number = pl.concat_str([ref, pl.lit("><v>"), value, pl.lit("</v></c>")])
        cell: Any = pl.when(value.is_null()).then(pl.lit(""))
        if name in date_headers:
            serial = (value.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).cast(pl.Int32)
                      + _UNIX_EPOCH_SERIAL).cast(pl.String)
            cell = cell.when(value.str.contains(r"^\d{4}-\d{2}-\d{2} 00:00:00$")).then(
                pl.concat_str([ref, pl.lit(' s="1"><v>'), serial, pl.lit("</v></c>")])
            ).when(value.str.contains(r"^\d{5}$")).then(number)
        elif number_ids:
            cell = cell.when(value.is_in(list(number_ids))).then(number)
        cells.append(cell.otherwise(text))
    return pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>\n")])


def _write_sheet(out: Any, frame: pl.DataFrame, date_headers: tuple[str, ...], number_ids: set[str]) -> None:
    """Stream one worksheet part, built with Polars string expressions a chunk at a time
    (xlsxwriter's per-cell calls are about 20× slower on the district-sized files)."""
    header = "".join(
        f'<c r="{_column_letter(i)}1" s="2" t="inlineStr"><is><t>{name}</t></is></c>'
        for i, name in enumerate(frame.columns))
    out.write(f'{_SHEET_HEAD}<row r="1">{header}</row>\n'.encode())
    expression = _sheet_rows(frame, date_headers, number_ids)
    numbered = frame.with_columns(__row=pl.int_range(2, pl.len() + 2))
    for start in range(0, frame.height, _CHUNK_ROWS):
        chunk = numbered.slice(start, _CHUNK_ROWS).select(expression.alias("xml"))
        out.write("".join(chunk["xml"].to_list()).encode())
    out.write(b"</sheetData></worksheet>")


def _write_xlsx(file: ExportFile, layout: _Layout, path: Path, number_ids: set[str]) -> None:
    """A minimal SpreadsheetML package: workbook, one styles part, one part per sheet."""
    names = list(file.frames)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(names) + 1))
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, start=1))
        + "</sheets></workbook>")
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(names) + 1))
        + f'<Relationship Id="rId{len(names) + 1}" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", _XLSX_PARTS["[Content_Types].xml"].format(sheets=overrides))
        package.writestr("_rels/.rels", _XLSX_PARTS["_rels/.rels"])
        package.writestr("xl/workbook.xml", workbook)
        package.writestr("xl/_rels/workbook.xml.rels", rels)
        package.writestr("xl/styles.xml", _XLSX_PARTS["xl/styles.xml"])
        for i, name in enumerate(names, start=1):
            with package.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as out:
                _write_sheet(out, file.frames[name], layout.date_headers, number_ids)


def write_exports(exports: ExportSet, out_dir: Path) -> Path:
    """Write the six files, ``truth.csv``, ``conflicts.csv``, ``registry.parquet`` and a manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"seed": exports.seed, "residents": exports.residents, "files": []}
    for code, file in exports.files.items():
        layout = LAYOUTS[code]
        path = out_dir / file.file_name
        if file.format == "xlsx":
            excel_ids = _excel_number_ids(exports.truth, file)
            _write_xlsx(file, layout, path, excel_ids)
        else:
            _write_csv(file.frames[""], path, file.encoding)
        file.path = path
        manifest["files"].append({
            "code": code, "department": file.department, "title": file.title, "file": file.file_name,
            "format": file.format, "encoding": file.encoding if file.format == "csv" else None,
            "sheets": file.sheets, "rows": file.rows, "columns": file.columns,
        })
    exports.truth.write_csv(out_dir / "truth.csv")
    exports.conflicts.write_csv(out_dir / "conflicts.csv")
    exports.registry_frame().write_parquet(out_dir / "registry.parquet")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    exports.out_dir = out_dir
    return out_dir


def _excel_number_ids(truth: pl.DataFrame, file: ExportFile) -> set[str]:
    """The ID values of rows whose ID was stored as a number cell (``id_status`` excel_number)."""
    rows = truth.filter((pl.col("source") == file.code) & (pl.col("id_status") == errs.ID_EXCEL_NUMBER))
    header = LAYOUTS[file.code].columns
    id_header = next(h for h, s in header if s == "@id")
    values: set[str] = set()
    for sheet, row_number in rows.select("sheet", "row_number").iter_rows():
        value = file.frames[sheet or ""][int(row_number) - 1, id_header]
        if value is not None:
            values.add(str(value))
    return values
