"""Hand-built XLSX files for the limit tests: a zip bomb is a few lines of XML repeated."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def write_workbook(path: Path, *, rows: int, header: Sequence[str] = ("姓名", "公民身份号码", "备注"),
                   row: Sequence[str] = ("王芳", "x", "x"), sheet_name: str = "近江社区",
                   dimension: bool = True) -> Path:
    """A one-sheet workbook of ``rows`` copies of ``row`` under ``header``, written as a
    stream: the sheet XML inflates to ~170 bytes a row, the zip holds a fraction of it."""
    letters = [chr(ord("A") + i) for i in range(len(header))]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK_HEAD.replace("{sheet}", sheet_name))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = ('<?xml version="1.0" encoding="UTF-8"?>'
                    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            if dimension:
                head += f'<dimension ref="A1:{letters[-1]}{rows + 1}"/>'
            head += "<sheetData>"
            cells = "".join(_cell(f"{c}1", text) for c, text in zip(letters, header, strict=True))
            sheet.write((head + f'<row r="1">{cells}</row>').encode())
            batch: list[str] = []
            for r in range(2, rows + 2):
                batch.append(f'<row r="{r}">' + "".join(_cell(f"{c}{r}", text) for c, text in zip(letters, row, strict=True)) + "</row>")
                if len(batch) == 10_000:
                    sheet.write("".join(batch).encode())
                    batch.clear()
            sheet.write(("".join(batch) + "</sheetData></worksheet>").encode())
    return path
