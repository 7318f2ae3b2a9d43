"""Reading departmental exports as they really come: CSV in UTF-8 (with or without BOM),
GBK or GB18030 with whatever delimiter, and XLSX with one or more sheets.

Every check that can refuse a file runs here, before anything is written: size, emptiness,
encoding, a truncated or corrupt workbook, an unknown sheet, missing key columns and
formulas. Refusals are :class:`FileRefused` with a Chinese message naming the problem.

Formulas: an XLSX formula cell (``<f>`` in the sheet XML) or any cell whose text starts
with ``=`` refuses the whole file. A department's export is data; a formula's cached value
may be stale and cannot be checked, so we ask for values instead of guessing (the report
file we write back neutralises such cells, see :func:`neutralise_cell`).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

import fastexcel
import polars as pl
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.fusion.errors import FileRefused

ROW_COLUMN = "__row"
SHEET_COLUMN = "__sheet"
# Strict decodes in this order: UTF-8 first (GBK would accept many UTF-8 byte runs).
ENCODINGS: tuple[str, ...] = ("utf-8", "gbk", "gb18030")
_SAMPLE_BYTES = 64 * 1024
_DELIMITERS = ",\t;|"
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FORMULA_RE = re.compile(rb"<(?:\w+:)?f[ >/]")
_CELL_REF_RE = re.compile(rb'<(?:\w+:)?c r="([A-Z]+[0-9]+)"[^>]*>(?:(?!</(?:\w+:)?c>).){0,200}?<(?:\w+:)?f[ >/]', re.S)
DEFAULT_MAX_MB = 100
# Workbook limits (a zip bomb is a small file whose sheet XML inflates to gigabytes): checked
# on the zip directory and each sheet's <dimension> before a byte of a sheet is inflated.
DEFAULT_MAX_UNZIPPED_MB = 200
DEFAULT_MAX_RATIO = 150  # a real export's sheet XML deflates 5-30 times; a bomb, hundreds
DEFAULT_MAX_ROWS = 2_000_000
DEFAULT_MAX_COLUMNS = 200
_DIMENSION_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Z]{1,3})\$?(\d{1,9})(?::\$?([A-Z]{1,3})\$?(\d{1,9}))?"')
_ROW_END_RE = re.compile(rb"</(?:\w+:)?row>")
_SHEET_DATA_END = b"</sheetData></worksheet>"
_CHUNK = 1 << 16
# A preview copies at most this much of a sheet's XML, whatever its rows look like.
_PREVIEW_MAX_SHEET_BYTES = 8 << 20


@dataclass(frozen=True)
class WorkbookLimits:
    unzipped_bytes: int
    ratio: int
    rows: int
    columns: int

    @classmethod
    def from_settings(cls) -> WorkbookLimits:
        return cls(
            unzipped_bytes=int(getattr(settings, "LINLI_IMPORT_MAX_UNZIPPED_MB", DEFAULT_MAX_UNZIPPED_MB)) << 20,
            ratio=int(getattr(settings, "LINLI_IMPORT_MAX_RATIO", DEFAULT_MAX_RATIO)),
            rows=int(getattr(settings, "LINLI_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
            columns=int(getattr(settings, "LINLI_IMPORT_MAX_COLUMNS", DEFAULT_MAX_COLUMNS)),
        )


def max_upload_bytes() -> int:
    """``LINLI_FUSION_MAX_MB`` (default 100 MB): larger exports are refused unread."""
    return int(getattr(settings, "LINLI_FUSION_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024


@dataclass(frozen=True)
class ReadResult:
    """An export read into one all-text frame (plus ``__row``/``__sheet`` columns)."""

    frame: pl.DataFrame
    format: str
    encoding: str
    delimiter: str
    sheets: list[str]
    columns: list[str]
    size: int
    sha256: str
    missing_columns: list[str] = field(default_factory=list)
    # A preview read only the first rows: ``rows`` is then the workbook's declared count
    # (its <dimension>, header excluded) or None; the job reads and counts them all.
    partial: bool = False
    declared_rows: int | None = None
    # Rows the source definition's ``skip_rows`` dropped (set by the pipeline's read stage).
    skipped: int = 0
    # Per row, whether the definition's ``past_rows`` mark it a past record (注销/迁出); None: none is.
    past: pl.Series | None = None

    @property
    def rows(self) -> int | None:
        return self.declared_rows if self.partial else self.frame.height


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(data: bytes, *, declared: str = "auto") -> str:
    """The first of UTF-8 / GBK / GB18030 that strictly decodes a sample, then the whole.

    A declared encoding (not ``auto``) is checked, not trusted.
    """
    candidates = ENCODINGS if declared in ("", "auto") else (declared.lower(),)
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        try:
            decoder.decode(data[:_SAMPLE_BYTES], final=False)
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    if declared not in ("", "auto"):
        raise FileRefused("encoding", _("文件不是声明的编码 %(enc)s,无法解码") % {"enc": declared})
    raise FileRefused("encoding", _("无法识别文件编码:既不是 UTF-8,也不是 GBK/GB18030"))


def sniff_delimiter(text: str) -> str:
    sample = text[:_SAMPLE_BYTES]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample.splitlines() else ""
        counts = {d: first.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _clean_header(name: str) -> str:
    return name.replace("\u3000", " ").replace("\ufeff", "").strip()


def _check_cells_for_formulas(frame: pl.DataFrame, *, sheet: str) -> None:
    for column in frame.columns:
        if column in (ROW_COLUMN, SHEET_COLUMN):
            continue
        hits = frame.filter(pl.col(column).str.starts_with("="))
        if hits.height:
            row = hits[ROW_COLUMN][0]
            where = _("工作表「%(sheet)s」") % {"sheet": sheet} if sheet else ""
            raise FileRefused("file", _("%(where)s第%(row)s行「%(column)s」列含公式,请导出为数值后再导入")
                              % {"where": where, "row": row, "column": column})


def _check_key_columns(columns: Sequence[str], key_columns: Sequence[str], *, sheet: str = "") -> None:
    missing = [c for c in key_columns if c not in columns]
    if missing:
        where = _("工作表「%(sheet)s」") % {"sheet": sheet} if sheet else _("文件")
        raise FileRefused("columns", _("%(where)s缺少关键列:%(cols)s") % {"where": where, "cols": "、".join(missing)})


def _read_csv(path: Path, *, declared_encoding: str) -> tuple[pl.DataFrame, str, str]:
    data = path.read_bytes()
    encoding = detect_encoding(data, declared=declared_encoding)
    text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise FileRefused("file", _("文件为空"))
    delimiter = sniff_delimiter(text)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")), separator=delimiter, infer_schema=False,
            truncate_ragged_lines=True, row_index_name=ROW_COLUMN, row_index_offset=2,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise FileRefused("file", _("CSV 文件无法解析:%(err)s") % {"err": str(exc)[:200]}) from None
    frame = frame.rename({c: _clean_header(c) for c in frame.columns if c != ROW_COLUMN})
    return frame, encoding, delimiter


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def _formula_cells(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet XML part → first formula cell reference found (empty when none). Streamed: a
    sheet is never whole in memory, only a chunk and the tail of the one before."""
    found: dict[str, str] = {}
    for name in archive.namelist():
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        tail = b""
        with archive.open(name) as stream:
            for chunk in _chunks(stream):
                window = tail + chunk
                if _FORMULA_RE.search(window):
                    # the cell that holds it starts at most a few hundred bytes before
                    match = _CELL_REF_RE.search(window + stream.read(1024))
                    found[name] = match.group(1).decode() if match else "?"
                    break
                tail = window[-1024:]
    return found


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _declared_dimension(archive: zipfile.ZipFile, part: str) -> tuple[int, int] | None:
    """(rows, columns) a sheet declares in its <dimension>, read from its first bytes."""
    try:
        with archive.open(part) as stream:
            head = stream.read(_CHUNK)
    except KeyError:
        return None
    match = _DIMENSION_RE.search(head)
    if match is None:
        return None
    first_col, first_row, last_col, last_row = match.groups()
    rows = int(last_row or first_row) - int(first_row) + 1
    columns = _column_number(last_col or first_col) - _column_number(first_col) + 1
    return rows, columns


def _refuse_over_limits(archive: zipfile.ZipFile, parts: dict[str, str], limits: WorkbookLimits) -> dict[str, int]:
    """Refuse a workbook whose inflated size, compression ratio or declared dimensions pass
    the limits; returns each sheet's declared data rows (header excluded)."""
    members = archive.infolist()
    total = sum(m.file_size for m in members)
    if total > limits.unzipped_bytes:
        raise FileRefused("file", _("XLSX 文件解压后有 %(size)s MB,超过上限 %(limit)s MB"
                                    "(LINLI_IMPORT_MAX_UNZIPPED_MB),请分批导出")
                          % {"size": total >> 20, "limit": limits.unzipped_bytes >> 20})
    for member in members:
        if member.file_size > (1 << 20) and member.file_size > limits.ratio * max(member.compress_size, 1):
            raise FileRefused("file", _("XLSX 文件中的「%(name)s」压缩比超过 %(ratio)s 倍"
                                        "(LINLI_IMPORT_MAX_RATIO),不像正常的导出文件")
                              % {"name": member.filename, "ratio": limits.ratio})
    declared: dict[str, int] = {}
    for sheet, part in parts.items():
        dimension = _declared_dimension(archive, part)
        if dimension is None:
            continue
        _refuse_shape(sheet, rows=dimension[0], columns=dimension[1], limits=limits)
        declared[sheet] = max(dimension[0] - 1, 0)
    return declared


def _refuse_shape(sheet: str, *, rows: int, columns: int, limits: WorkbookLimits) -> None:
    if rows > limits.rows:
        raise FileRefused("file", _("工作表「%(sheet)s」有 %(rows)s 行,超过上限 %(limit)s 行"
                                    "(LINLI_IMPORT_MAX_ROWS),请分批导出")
                          % {"sheet": sheet, "rows": rows, "limit": limits.rows})
    if columns > limits.columns:
        raise FileRefused("file", _("工作表「%(sheet)s」有 %(columns)s 列,超过上限 %(limit)s 列"
                                    "(LINLI_IMPORT_MAX_COLUMNS)")
                          % {"sheet": sheet, "columns": columns, "limit": limits.columns})


def _head_copy(archive: zipfile.ZipFile, parts: dict[str, str], target: Path, rows: int) -> None:
    """A copy of the workbook whose sheets stop after ``rows`` rows: the preview reads it
    with the same reader as the job (styles, shared strings, dates), in bounded time."""
    sheet_parts = set(parts.values())
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for member in archive.infolist():
            if member.filename not in sheet_parts:
                with archive.open(member) as src, out.open(member.filename, "w", force_zip64=True) as dst:
                    for chunk in _chunks(src):
                        dst.write(chunk)
                continue
            kept, seen, carried = bytearray(), 0, b""
            with archive.open(member) as src:
                for chunk in _chunks(src):
                    window = carried + chunk
                    ends = list(_ROW_END_RE.finditer(window))
                    if seen + len(ends) >= rows:
                        cut = ends[rows - seen - 1].end()
                        kept += window[:cut] + _SHEET_DATA_END
                        break
                    seen += len(ends)
                    cut = ends[-1].end() if ends else 0
                    kept += window[:cut]
                    carried = window[cut:]
                    if len(kept) + len(carried) > _PREVIEW_MAX_SHEET_BYTES:
                        raise FileRefused("file", _("工作表开头的行过大,无法预览"))
                else:
                    kept += carried
            out.writestr(member.filename, bytes(kept))


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its XML part, from workbook.xml and its relationships."""
    try:
        workbook = archive.read("xl/workbook.xml").decode("utf-8")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    except KeyError:
        return {}
    targets = {
        m.group(1): m.group(2)
        for m in re.finditer(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels)
    } | {
        m.group(2): m.group(1)
        for m in re.finditer(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)
    }
    parts: dict[str, str] = {}
    for m in re.finditer(r'<(?:\w+:)?sheet\b[^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"', workbook):
        target = targets.get(m.group(2), "")
        target = target.lstrip("/")
        parts[_unescape_xml(m.group(1))] = target if target.startswith("xl/") else f"xl/{target}"
    return parts


def _unescape_xml(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _read_xlsx(
    path: Path, *, sheets: Sequence[str] | None, key_columns: Sequence[str], head: int | None = None,
) -> tuple[pl.DataFrame, list[str], int | None]:
    """The workbook's chosen sheets; with ``head``, only their first rows (a preview: the
    limits are checked, the sheets are not inflated) and the declared row count."""
    with path.open("rb") as handle:
        if handle.read(4) != _XLSX_MAGIC:
            raise FileRefused("file", _("不是有效的 XLSX 文件(文件损坏或格式不符)"))
    limits = WorkbookLimits.from_settings()
    try:
        with zipfile.ZipFile(path) as archive:
            parts = _sheet_parts(archive)
            declared = _refuse_over_limits(archive, parts, limits)
            if head is not None:
                chosen_parts = {s: p for s, p in parts.items() if not sheets or s in sheets}
                with tempfile.TemporaryDirectory(dir=path.parent) as folder:
                    copy = Path(folder) / "head.xlsx"
                    _head_copy(archive, chosen_parts, copy, head + 1)
                    frame, chosen, _rows = _read_xlsx(copy, sheets=sheets, key_columns=key_columns)
                known = [declared.get(s) for s in chosen]
                return frame, chosen, sum(n for n in known if n is not None) if None not in known else None
            # inflates every member once, but only after the declared sizes passed the limit
            # (and CRC checking stops a member that inflates past its declared size)
            if archive.testzip() is not None:
                raise zipfile.BadZipFile
            formulas = _formula_cells(archive)
    except (zipfile.BadZipFile, OSError, EOFError):
        raise FileRefused("file", _("XLSX 文件不完整或已损坏,请重新导出")) from None
    try:
        reader = fastexcel.read_excel(path)
    except Exception as exc:  # fastexcel raises its own hierarchy for corrupt workbooks
        raise FileRefused("file", _("XLSX 文件无法读取:%(err)s") % {"err": str(exc)[:200]}) from None
    names = list(reader.sheet_names)
    chosen = list(sheets) if sheets else names
    unknown = [s for s in chosen if s not in names]
    if unknown:
        raise FileRefused("sheet", _("找不到工作表:%(s)s(文件中有:%(all)s)")
                          % {"s": "、".join(unknown), "all": "、".join(names)})
    for sheet in chosen:
        ref = formulas.get(parts.get(sheet, ""), "")
        if ref:
            raise FileRefused("file", _("工作表「%(sheet)s」%(ref)s单元格含公式,请导出为数值后再导入")
                              % {"sheet": sheet, "ref": ref})
    frames: list[pl.DataFrame] = []
    for sheet in chosen:
        try:
            loaded = reader.load_sheet_by_name(sheet, dtypes="string")
            frame = loaded.to_polars()
        except Exception as exc:  # a broken sheet part inside an otherwise valid zip
            raise FileRefused("file", _("工作表「%(sheet)s」无法读取:%(err)s")
                              % {"sheet": sheet, "err": str(exc)[:200]}) from None
        if frame.width == 0 or frame.height == 0:
            continue
        # a sheet without a <dimension> is measured once read
        _refuse_shape(sheet, rows=frame.height + 1, columns=frame.width, limits=limits)
        frame = frame.rename({c: _clean_header(c) for c in frame.columns})
        _check_key_columns(frame.columns, key_columns, sheet=sheet)
        frame = frame.with_columns(pl.all().cast(pl.String)).with_row_index(ROW_COLUMN, offset=2)
        frame = frame.with_columns(pl.col(ROW_COLUMN).cast(pl.UInt32), pl.lit(sheet).alias(SHEET_COLUMN))
        frames.append(frame)
    if not frames:
        raise FileRefused("file", _("文件为空:所选工作表没有数据行"))
    return pl.concat(frames, how="diagonal"), chosen, None


def file_kind(head: bytes) -> str:
    """What the first bytes of a file say it is: ``xlsx`` (a zip), ``xls`` (an OLE2 compound
    file: Excel 97–2003), ``pdf``, or ``text`` (anything else, read as CSV)."""
    if head.startswith(_XLSX_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        return "xls"
    if head.startswith(b"%PDF"):
        return "pdf"
    return "text"


_KIND_NAMES: Final = {"xlsx": gettext_lazy("XLSX 工作簿"), "xls": gettext_lazy("旧版 Excel(XLS)工作簿"),
                      "pdf": gettext_lazy("PDF 文档"), "text": gettext_lazy("文本(CSV)文件")}


def _check_kind(head: bytes, fmt: str) -> None:
    """A file of the wrong kind for its source is refused by what it is, before any decoding
    (an XLSX sent to a CSV source would otherwise fail as "cannot detect the encoding")."""
    kind = file_kind(head)
    if (fmt == "csv" and kind != "text") or (fmt == "xlsx" and kind != "xlsx"):
        expected = "CSV" if fmt == "csv" else "XLSX"
        hint = _("请另存为 XLSX 后再导入") if kind == "xls" and fmt == "xlsx" else _("请确认选择了正确的来源或文件")
        raise FileRefused("file", _("此来源需要 %(expected)s 文件;该文件是%(kind)s。%(hint)s")
                          % {"expected": expected, "kind": _KIND_NAMES[kind], "hint": hint})


def read_export(
    path: Path | str,
    *,
    fmt: str = "auto",
    encoding: str = "auto",
    sheets: Sequence[str] | None = None,
    key_columns: Sequence[str] = (),
    mapped_columns: Sequence[str] = (),
    max_bytes: int | None = None,
    head: int | None = None,
) -> ReadResult:
    """Read an export, or refuse it (:class:`FileRefused`) before anything is written.

    ``head``: a preview of the first rows, for the web request. A workbook is then checked
    against the limits and only its first rows are inflated; the job reads it all.
    """
    path = Path(path)
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    try:
        size = os.path.getsize(path)
    except OSError:
        raise FileRefused("file", _("文件不存在或无法读取")) from None
    if size > limit:
        raise FileRefused("file", _("文件过大(%(size)s MB),上限为 %(limit)s MB,请分批导出")
                          % {"size": round(size / 1048576, 1), "limit": limit // 1048576})
    if size == 0:
        raise FileRefused("file", _("文件为空"))
    with path.open("rb") as handle:
        magic = handle.read(8)
    if fmt in ("", "auto"):
        fmt = "xlsx" if magic.startswith(_XLSX_MAGIC) or path.suffix.lower() in (".xlsx", ".xlsm") else "csv"
    else:
        _check_kind(magic, fmt)
    declared_rows: int | None = None
    partial = False
    if fmt == "xlsx":
        frame, sheet_names, declared_rows = _read_xlsx(path, sheets=sheets, key_columns=key_columns, head=head)
        partial = head is not None
        used_encoding, delimiter = "", ""
    else:
        frame, used_encoding, delimiter = _read_csv(path, declared_encoding=encoding)
        frame = frame.with_columns(pl.col(ROW_COLUMN).cast(pl.UInt32), pl.lit("").alias(SHEET_COLUMN))
        sheet_names = []
        _check_key_columns(frame.columns, key_columns)
    if frame.height == 0:
        raise FileRefused("file", _("文件为空:只有表头,没有数据行"))
    # Drop rows that are blank in every data column (trailing empty lines of exports).
    data_columns = [c for c in frame.columns if c not in (ROW_COLUMN, SHEET_COLUMN)]
    frame = frame.filter(pl.any_horizontal([pl.col(c).is_not_null() & (pl.col(c).str.strip_chars() != "")
                                            for c in data_columns]))
    if frame.height == 0:
        raise FileRefused("file", _("文件为空:没有数据行"))
    for sheet in (sheet_names or [""]):
        part = frame.filter(pl.col(SHEET_COLUMN) == sheet) if sheet else frame
        _check_cells_for_formulas(part, sheet=sheet)
    return ReadResult(
        frame=frame, format=fmt, encoding=used_encoding, delimiter=delimiter, sheets=sheet_names,
        columns=data_columns, size=size, sha256=file_sha256(path),
        missing_columns=[c for c in mapped_columns if c not in data_columns],
        partial=partial, declared_rows=declared_rows,
    )


_DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """Prefix ``'`` so a spreadsheet opening our report never evaluates a cell as a formula."""
    return "'" + value if value.startswith(_DANGEROUS_PREFIXES) else value


# json.dumps(ensure_ascii=False) escapes: backslash, quote, and control characters.
_JSON_FROM: tuple[str, ...] = ("\\", '"', *map(chr, range(0x20)))
_JSON_TO: tuple[str, ...] = ("\\\\", '\\"', *(json.dumps(chr(c))[1:-1] for c in range(0x20)))


def _json_texts(frame: pl.DataFrame, columns: Sequence[str]) -> list[str]:
    """Per row, ``json.dumps`` of its non-empty cells with sorted keys, assembled by Polars."""
    cells = [
        pl.when(pl.col(c) != "").then(pl.concat_str(
            pl.lit(json.dumps(c, ensure_ascii=False) + ': "'),
            pl.when(pl.col(c).str.contains(r'[\\"\x00-\x1f]')).then(
                pl.col(c).str.replace_many(list(_JSON_FROM), list(_JSON_TO))).otherwise(pl.col(c)),
            pl.lit('"')))
        for c in sorted(columns)
    ]
    texts: list[str] = frame.select(pl.concat_str(
        pl.lit("{"), pl.concat_str(cells, separator=", ", ignore_nulls=True), pl.lit("}")).alias("j"))["j"].to_list()
    return texts


def _sha256_hex(texts: Sequence[str]) -> list[str]:
    """The row hashes; the k-th repeat (k ≥ 2) of a row in the file gets ``sha256(hash#k)``,
    so an exact duplicate row is a row of its own with its own source record (its provenance
    kept, issue 17 cause 7), and the same file imported again still finds every row known."""
    sha256 = hashlib.sha256
    hashes = [sha256(text.encode()).hexdigest() for text in texts]
    repeats = pl.DataFrame({"h": hashes}).select(pl.int_range(pl.len()).over("h").alias("k"))["k"]
    for index in (repeats > 0).arg_true().to_list():
        hashes[index] = sha256(f"{hashes[index]}#{int(repeats[index]) + 1}".encode()).hexdigest()
    return hashes


def raw_rows(read: ReadResult) -> tuple[list[dict[str, str]], list[str]]:
    """Each row as ``{column: text}`` (empty cells left out) and the SHA-256 of its JSON with
    sorted keys (the idempotency key of a row, ``json.dumps(row, ensure_ascii=False,
    sort_keys=True)``). The JSON texts are assembled by Polars; Python only hashes them."""
    columns = read.columns
    frame = read.frame.select(columns)
    if any(dtype != pl.String for dtype in frame.dtypes):
        rows = [{c: v for c, v in zip(columns, values, strict=True) if v is not None and v != ""}
                for values in frame.iter_rows()]
        return rows, _sha256_hex([json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows])
    lists = [frame[c].to_list() for c in columns]
    rows = [{c: v for c, v in zip(columns, values, strict=True) if v} for values in zip(*lists, strict=True)]
    return rows, _sha256_hex(_json_texts(frame, columns))


def raw_columns(read: ReadResult) -> tuple[pl.DataFrame, list[str]]:
    """The rows of :func:`raw_rows` as one String column per export column (null: empty
    cell) and the same hashes — without a dict per row (a district file has a million)."""
    columns = read.columns
    frame = read.frame.select(columns)
    if any(dtype != pl.String for dtype in frame.dtypes):
        rows, hashes = raw_rows(read)
        return pl.DataFrame({c: pl.Series([r.get(c) for r in rows], dtype=pl.String) for c in columns},
                            height=len(rows)), hashes
    cells = frame.select(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in columns)
    return cells, _sha256_hex(_json_texts(frame, columns))
