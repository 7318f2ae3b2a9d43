"""Source definitions: how one department's export maps onto the registry.

A definition is plain data (a TOML/JSON file under version control, or the admin's JSON
field) parsed by :func:`parse_source_definition`, which refuses anything it cannot use with a
:class:`DefinitionError` naming the offending key (``columns.身份证号.transforms[1]``).

Transforms of a column run in order. Text transforms (``strip``, ``upper``, ``lower``,
``half_width``, ``simplified``, ``digits``, ``no_spaces``) rewrite the raw text; a kind
transform (``name``, ``id_number``, ``date``, ``sex``, ``phone``, ``address``, ``yes_no``,
``grade``, ``int``, ``text``, ``hukou``, ``ethnicity``) picks the normaliser, overriding the
field's default (see :func:`linli.fusion.normalise.field_kind`).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl
from django.utils.functional import Promise

from linli.core.errors import ValidationFailed
from linli.fusion.normalise import field_kind
from linli.registry.choices import TagKind

FORMATS: Final = ("csv", "xlsx")
ENCODINGS: Final = ("auto", "utf-8", "gbk", "gb18030")
DEPARTMENTS: Final = ("民政", "残联", "综治", "城管", "计生", "流动人口", "卫健", "人社", "公安", "其他")

# Registry fields a column may feed.
FIELDS: Final = frozenset({
    "name", "id_number", "birth_date", "sex", "phone", "address", "building", "unit", "room",
    "hukou", "ethnicity", "is_deceased", "deceased_on", "disability_grade", "valid_from",
    "valid_to", "note", "birth_year_month",
})

TEXT_TRANSFORMS: Final[dict[str, Callable[[pl.Expr], pl.Expr]]] = {
    "strip": lambda e: e.str.strip_chars(),
    "upper": lambda e: e.str.to_uppercase(),
    "lower": lambda e: e.str.to_lowercase(),
    "no_spaces": lambda e: e.str.replace_all(r"[\s\u3000]+", ""),
    "digits": lambda e: e.str.replace_all(r"[^0-9０-９]", ""),
    "half_width": lambda e: e.str.replace_many([chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"],
                                               [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" "]),
    # The normalisers already convert traditional characters; kept for explicit definitions.
    "simplified": lambda e: e,
}
KIND_TRANSFORMS: Final = frozenset({
    "name", "id_number", "date", "sex", "phone", "address", "yes_no", "grade", "int", "text",
    "hukou", "ethnicity", "year_month",
})
TRANSFORMS: Final = frozenset(TEXT_TRANSFORMS) | KIND_TRANSFORMS
# ``slice:START:END``: characters START (0-based) up to END (excluded), as Python slices
# them; END may be left out (to the end) and START may be negative (from the end, without
# END): a 20-character 残疾证号 whose first 18 are the ID number is ``slice:0:18``.
_SLICE_RE: Final = re.compile(r"^slice:(-?\d+):(\d*)$")


def _slice_op(spec: str) -> Callable[[pl.Expr], pl.Expr] | None:
    match = _SLICE_RE.match(spec)
    if match is None:
        return None
    start, end = int(match.group(1)), int(match.group(2)) if match.group(2) else None
    if end is None:
        return lambda e: e.str.slice(start)
    return lambda e: e.str.slice(start, max(end - start, 0))


def _slice_valid(spec: str) -> bool:
    match = _SLICE_RE.match(spec)
    if match is None:
        return False
    start, end = int(match.group(1)), match.group(2)
    return not end or (start >= 0 and int(end) > start)
_KIND_ALIASES: Final = {"int": "int_text"}
DEFAULT_TAG_SEPARATORS: Final = ",，、;；|/"
# Fields a whole file may state once (``[constants]``): every row of 流动人口 is a migrant.
# Identity and place fields are never constant (they are what tells rows apart).
CONSTANT_FIELDS: Final = frozenset({
    "sex", "hukou", "ethnicity", "is_deceased", "deceased_on", "disability_grade", "valid_from",
    "valid_to", "note",
})
# strftime directives a ``date_formats`` entry may use (Polars/chrono subset).
_DATE_DIRECTIVES: Final = frozenset("YymdbBjHMS%")


class DefinitionError(ValidationFailed):
    """A source definition that cannot be used; ``field``/``key`` is the dotted path of the
    culprit and the message (Chinese) starts with it, so a log line alone says where to look.
    """

    def __init__(self, key: str, message: str | Promise) -> None:
        super().__init__(key, f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class ColumnMap:
    """One source column → one registry field, with the transforms applied in order.

    ``values`` rewrites whole cells before the field's normaliser reads them (a department's
    own wording → one the normaliser knows: ``人在户不在`` → ``流动人口``); other cells pass.
    """

    field: str
    transforms: tuple[str, ...] = ()
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TagRule:
    """A person tag a column implies: ``column`` non-empty (or one of ``values``) → ``kind``.

    ``attribute`` names a field carried onto the tag (e.g. ``disability_grade``);
    ``valid_from``/``valid_to`` name the columns of its validity, if the export has them.
    """

    kind: str
    column: str
    values: tuple[str, ...] = ()
    attribute: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    # Characters that split a multi-value cell ("低保,高龄补贴"): the rule holds when any part
    # is one of ``values``. Empty string: the whole cell is compared.
    separators: str = DEFAULT_TAG_SEPARATORS
    # The code of the benefit policy the matched rows receive (低保 list → ``dibao``): apps
    # above fusion (care) record it; fusion only carries it.
    benefit: str = ""


@dataclass(frozen=True)
class SkipRule:
    """Rows a definition leaves out (``[[skip_rows]]``): the cell of ``column`` (trimmed) is
    one of ``values`` or contains one of ``contains`` — 状态 注销 on a list that keeps the
    deregistered. ``column`` may name a sheet (``补录!状态``)."""

    column: str
    values: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()


# ``<sheet>!<header>``: a column of one sheet only (two sheets of a workbook may use one
# header for different things), Excel's notation for a sheet's cell.
SHEET_SEPARATOR: Final = "!"


def column_header(key: str) -> str:
    """The header a ``[columns]`` key reads: ``补录!姓名`` → ``姓名``."""
    return key.split(SHEET_SEPARATOR, 1)[1] if SHEET_SEPARATOR in key else key


def column_sheet(key: str) -> str | None:
    """The sheet a ``[columns]`` key is limited to, or ``None`` (every sheet)."""
    return key.split(SHEET_SEPARATOR, 1)[0] if SHEET_SEPARATOR in key else None


def sheet_columns(columns: Mapping[str, ColumnMap], sheet: str) -> dict[str, ColumnMap]:
    """The header → column map in force on one sheet: its own ``<sheet>!<header>`` keys, and
    the unqualified keys of headers it does not override."""
    own = {column_header(k): m for k, m in columns.items() if column_sheet(k) == sheet}
    shared = {k: m for k, m in columns.items() if column_sheet(k) is None and k not in own}
    return shared | own


@dataclass(frozen=True)
class SourceDefinition:
    """A department's export format and what it is trusted for."""

    code: str
    department: str
    format: str = "csv"
    encoding: str = "auto"
    sheets: tuple[str, ...] | None = None
    key_columns: tuple[str, ...] = ()
    columns: Mapping[str, ColumnMap] = field(default_factory=dict)
    authoritative: Mapping[str, int] = field(default_factory=dict)
    tags: tuple[TagRule, ...] = ()
    constants: Mapping[str, str] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ()
    skip_rows: tuple[SkipRule, ...] = ()
    # Rows that are a past record of a person (状态 注销/迁出): linked, asserting nothing.
    past_rows: tuple[SkipRule, ...] = ()

    @property
    def per_sheet(self) -> bool:
        """Some ``[columns]`` key is limited to one sheet."""
        return any(SHEET_SEPARATOR in key for key in self.columns)

    def headers(self) -> list[str]:
        """The file's headers the ``[columns]`` keys read (each once)."""
        return list(dict.fromkeys(column_header(key) for key in self.columns))

    def column_for(self, field_name: str) -> str | None:
        """The first source column that feeds ``field_name``."""
        return next((c for c, m in self.columns.items() if m.field == field_name), None)

    def precedence(self, field_name: str) -> int:
        """How much this source is trusted for a field (higher wins; 0 when not listed)."""
        return self.authoritative.get(field_name, 0)


def column_kind(cmap: ColumnMap) -> str:
    """The normaliser of a column: its last kind transform, else the field's default."""
    kinds = [t for t in cmap.transforms if t in KIND_TRANSFORMS]
    kind = kinds[-1] if kinds else field_kind(cmap.field)
    return _KIND_ALIASES.get(kind, kind)


def skipped_rows(frame: pl.DataFrame, rules: tuple[SkipRule, ...], sheet_column: str) -> pl.Series:
    """True for the rows a definition's ``skip_rows`` leave out (rules on absent columns
    match nothing)."""
    skip = pl.lit(value=False)
    for rule in rules:
        header, sheet = column_header(rule.column), column_sheet(rule.column)
        if header not in frame.columns:
            continue
        cell = pl.col(header).cast(pl.String).str.strip_chars().fill_null("")
        hit = cell.is_in(list(rule.values)) if rule.values else pl.lit(value=False)
        for part in rule.contains:
            hit = hit | cell.str.contains(part, literal=True)
        if sheet is not None:
            hit = hit & (pl.col(sheet_column) == sheet) if sheet_column in frame.columns else pl.lit(value=False)
        skip = skip | hit
    return frame.with_columns(skip.alias("__skip"))["__skip"].alias("skip")


def apply_value_map(series: pl.Series, values: tuple[tuple[str, str], ...]) -> pl.Series:
    """Cells equal (after trimming) to a key of ``values`` replaced by its value; others kept."""
    if not values or series.dtype != pl.String:
        return series
    old, new = [k for k, _v in values], [v for _k, v in values]
    trimmed = series.str.strip_chars()
    return trimmed.replace(old, new).alias(series.name).zip_with(trimmed.is_in(old), series)


def apply_transforms(series: pl.Series, transforms: tuple[str, ...] | list[str]) -> pl.Series:
    """The text transforms of a column applied to the raw text (kinds are applied later)."""
    ops = [TEXT_TRANSFORMS[t] if t in TEXT_TRANSFORMS else _slice_op(t) for t in transforms
           if t in TEXT_TRANSFORMS or t.startswith("slice:")]
    if not ops or series.dtype != pl.String:
        return series
    expr = pl.col("v")
    for op in ops:
        if op is not None:
            expr = op(expr)
    return pl.DataFrame({"v": series}).select(expr)["v"].alias(series.name)


# --- parsing ---------------------------------------------------------------------------------

_TOP_KEYS: Final = frozenset({
    "code", "department", "format", "encoding", "sheets", "key_columns", "columns",
    "authoritative", "tags", "name", "description", "constants", "date_formats", "skip_rows",
    "past_rows",
})


def _str(data: Mapping[str, Any], key: str, path: str, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(path, "必须是非空字符串" if key in data else "缺少此项")
    return value.strip()


def _str_list(value: object, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DefinitionError(path, "必须是字符串列表")
    return tuple(v.strip() for v in value)


def _column(name: str, spec: object) -> ColumnMap:
    path = f"columns.{name}"
    if isinstance(spec, str):
        spec = {"field": spec}
    if not isinstance(spec, Mapping):
        raise DefinitionError(path, "必须是字段名或 {field, transforms}")
    unknown = set(spec) - {"field", "transforms", "values"}
    if unknown:
        raise DefinitionError(f"{path}.{sorted(unknown)[0]}", "未知的键")
    field_name = _str(spec, "field", f"{path}.field")
    if field_name not in FIELDS:
        raise DefinitionError(f"{path}.field", f"未知的字段 {field_name!r}")
    transforms = _str_list(spec.get("transforms", []), f"{path}.transforms") if "transforms" in spec else ()
    for i, name_ in enumerate(transforms):
        if name_.startswith("slice:") and not _slice_valid(name_):
            raise DefinitionError(f"{path}.transforms[{i}]",
                                  f"截取应写作 slice:起:止(如 slice:0:18,止须大于起)或 slice:起 ,不是 {name_!r}")
        if name_ not in TRANSFORMS and not name_.startswith("slice:"):
            raise DefinitionError(f"{path}.transforms[{i}]", f"未知的转换 {name_!r}")
    values: tuple[tuple[str, str], ...] = ()
    if "values" in spec:
        raw_values = spec["values"]
        if not isinstance(raw_values, Mapping) or not raw_values or not all(
                isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in raw_values.items()):
            raise DefinitionError(f"{path}.values", "必须是 原值 → 新值 的非空表")
        values = tuple((k.strip(), v.strip()) for k, v in raw_values.items())
    return ColumnMap(field=field_name, transforms=transforms, values=values)


def _tag(i: int, spec: object, columns: Mapping[str, ColumnMap]) -> TagRule:
    path = f"tags[{i}]"
    if not isinstance(spec, Mapping):
        raise DefinitionError(path, "必须是表")
    unknown = set(spec) - {"kind", "column", "values", "attribute", "valid_from", "valid_to", "separators", "benefit"}
    if unknown:
        raise DefinitionError(f"{path}.{sorted(unknown)[0]}", "未知的键")
    attribute = spec.get("attribute")
    if attribute is not None and attribute not in FIELDS:
        raise DefinitionError(f"{path}.attribute", f"未知的字段 {attribute!r}")
    optional: dict[str, str | None] = {}
    for key in ("valid_from", "valid_to"):
        optional[key] = _str(spec, key, f"{path}.{key}") if key in spec else None
    kind = _str(spec, "kind", f"{path}.kind")
    if kind not in TagKind.values:
        # An unknown kind would be skipped silently at import: refuse it here instead.
        raise DefinitionError(f"{path}.kind", f"未知的标签 {kind!r}(可用:{'、'.join(TagKind.values)})")
    separators = spec.get("separators", DEFAULT_TAG_SEPARATORS)
    if not isinstance(separators, str):
        raise DefinitionError(f"{path}.separators", "必须是字符串(每个字符都是分隔符,空串表示不拆分)")
    return TagRule(
        kind=kind,
        column=_str(spec, "column", f"{path}.column"),
        values=_str_list(spec["values"], f"{path}.values") if "values" in spec else (),
        attribute=attribute, valid_from=optional["valid_from"], valid_to=optional["valid_to"],
        separators=separators, benefit=_str(spec, "benefit", f"{path}.benefit") if "benefit" in spec else "",
    )


def _skip_rule(i: int, spec: object, key: str = "skip_rows") -> SkipRule:
    """One ``[[skip_rows]]`` or ``[[past_rows]]`` rule (``key``: which, for the messages)."""
    path = f"{key}[{i}]"
    if not isinstance(spec, Mapping):
        raise DefinitionError(path, "必须是表 {column, values / contains}")
    unknown = set(spec) - {"column", "values", "contains"}
    if unknown:
        raise DefinitionError(f"{path}.{sorted(unknown)[0]}", "未知的键")
    column = _str(spec, "column", f"{path}.column")
    values = _str_list(spec["values"], f"{path}.values") if "values" in spec else ()
    contains = _str_list(spec["contains"], f"{path}.contains") if "contains" in spec else ()
    if not values and not contains:
        raise DefinitionError(path, "需要 values(整格等于)或 contains(包含)")
    return SkipRule(column=column, values=values, contains=contains)


def _constants(raw: object) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise DefinitionError("constants", "必须是 字段 → 值 的表")
    constants: dict[str, str] = {}
    for name, value in raw.items():
        if name not in CONSTANT_FIELDS:
            raise DefinitionError(f"constants.{name}", f"不能作为整份文件的常量(可用:{'、'.join(sorted(CONSTANT_FIELDS))})")
        if isinstance(value, bool):
            value = "是" if value else "否"
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise DefinitionError(f"constants.{name}", "必须是非空字符串")
        constants[str(name)] = value.strip()
    return constants


def _date_formats(raw: object) -> tuple[str, ...]:
    formats = _str_list(raw, "date_formats")
    for i, fmt in enumerate(formats):
        directives = set(re.findall(r"%(.)", fmt))
        if not directives or not directives <= _DATE_DIRECTIVES:
            raise DefinitionError(f"date_formats[{i}]", f"不是可用的日期格式 {fmt!r}(例:%d/%m/%Y)")
    return formats


def parse_source_definition(data: Mapping[str, Any]) -> SourceDefinition:
    """A checked :class:`SourceDefinition` from a TOML/JSON mapping; else :class:`DefinitionError`.

    ``columns`` maps a source column either to a field name (``"姓名" = "name"``) or to
    ``{field = "birth_date", transforms = ["strip", "date"]}``.
    """
    if not isinstance(data, Mapping):
        raise DefinitionError("$", "必须是表")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise DefinitionError(sorted(unknown)[0], "未知的键")
    code = _str(data, "code", "code")
    if not code.replace("_", "").replace("-", "").isalnum() or not code.isascii():
        raise DefinitionError("code", "只能包含字母、数字、-、_")
    department = _str(data, "department", "department")
    if department not in DEPARTMENTS:
        raise DefinitionError("department", f"未知的部门 {department!r}(可用:{'、'.join(DEPARTMENTS)})")
    fmt = _str(data, "format", "format", default="csv").lower()
    if fmt not in FORMATS:
        raise DefinitionError("format", f"只支持 {', '.join(FORMATS)}")
    encoding = _str(data, "encoding", "encoding", default="auto").lower().replace("utf8", "utf-8")
    if encoding not in ENCODINGS:
        raise DefinitionError("encoding", f"只支持 {', '.join(ENCODINGS)}")
    sheets = None
    if data.get("sheets") is not None:
        if fmt != "xlsx":
            raise DefinitionError("sheets", "只有 xlsx 文件有工作表")
        sheets = _str_list(data["sheets"], "sheets")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, Mapping) or not raw_columns:
        raise DefinitionError("columns", "缺少此项" if raw_columns is None else "必须是非空的表")
    columns = {str(name).strip(): _column(str(name).strip(), spec) for name, spec in raw_columns.items()}
    for key in columns:
        sheet = column_sheet(key)
        if sheet is None:
            continue
        if fmt != "xlsx":
            raise DefinitionError(f"columns.{key}", "只有 xlsx 文件有工作表(<工作表>!<列名> 只用于 xlsx)")
        if not sheet.strip() or not column_header(key).strip():
            raise DefinitionError(f"columns.{key}", "应写作 <工作表>!<列名>,如 \"补录!姓名\"")
        if sheets is not None and sheet not in sheets:
            raise DefinitionError(f"columns.{key}", f"工作表 {sheet!r} 不在 sheets 中")
    mapped = {m.field for m in columns.values()}
    if "name" not in mapped:
        raise DefinitionError("columns", "必须有一列映射到 name(姓名)")
    key_columns = _str_list(data.get("key_columns", []), "key_columns") if "key_columns" in data else ()
    headers = {column_header(key) for key in columns}
    for i, key in enumerate(key_columns):
        if key not in headers:
            raise DefinitionError(f"key_columns[{i}]", f"{key!r} 不在 columns 中")
    authoritative_raw = data.get("authoritative", {})
    if not isinstance(authoritative_raw, Mapping):
        raise DefinitionError("authoritative", "必须是 字段 → 整数 的表")
    authoritative: dict[str, int] = {}
    for name_, value in authoritative_raw.items():
        if name_ not in FIELDS:
            raise DefinitionError(f"authoritative.{name_}", f"未知的字段 {name_!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise DefinitionError(f"authoritative.{name_}", "必须是整数")
        authoritative[str(name_)] = value
    tags_raw = data.get("tags", [])
    if not isinstance(tags_raw, list):
        raise DefinitionError("tags", "必须是列表")
    tags = tuple(_tag(i, spec, columns) for i, spec in enumerate(tags_raw))
    constants = _constants(data["constants"]) if "constants" in data else {}
    date_formats = _date_formats(data["date_formats"]) if "date_formats" in data else ()
    skip_raw = data.get("skip_rows", [])
    if not isinstance(skip_raw, list):
        raise DefinitionError("skip_rows", "必须是列表 [[skip_rows]]")
    skip_rows = tuple(_skip_rule(i, spec) for i, spec in enumerate(skip_raw))
    past_raw = data.get("past_rows", [])
    if not isinstance(past_raw, list):
        raise DefinitionError("past_rows", "必须是列表 [[past_rows]]")
    past_rows = tuple(_skip_rule(i, spec, "past_rows") for i, spec in enumerate(past_raw))
    return SourceDefinition(
        code=code, department=department, format=fmt, encoding=encoding, sheets=sheets,
        key_columns=key_columns, columns=columns, authoritative=authoritative, tags=tags,
        constants=constants, date_formats=date_formats, skip_rows=skip_rows, past_rows=past_rows,
    )


def definition_to_dict(definition: SourceDefinition) -> dict[str, Any]:
    """The JSON-ready mapping that :func:`parse_source_definition` reads back unchanged."""
    data: dict[str, Any] = {
        "code": definition.code, "department": definition.department, "format": definition.format,
        "encoding": definition.encoding, "key_columns": list(definition.key_columns),
        "columns": {c: {"field": m.field, "transforms": list(m.transforms)} | (
            {"values": dict(m.values)} if m.values else {}) for c, m in definition.columns.items()},
        "authoritative": dict(definition.authoritative),
        "tags": [
            {k: v for k, v in {
                "kind": t.kind, "column": t.column, "values": list(t.values) or None,
                "attribute": t.attribute, "valid_from": t.valid_from, "valid_to": t.valid_to,
                "separators": None if t.separators == DEFAULT_TAG_SEPARATORS else t.separators,
                "benefit": t.benefit or None,
            }.items() if v is not None}
            for t in definition.tags
        ],
    }
    if definition.sheets is not None:
        data["sheets"] = list(definition.sheets)
    if definition.constants:
        data["constants"] = dict(definition.constants)
    if definition.date_formats:
        data["date_formats"] = list(definition.date_formats)
    for key, rules in (("skip_rows", definition.skip_rows), ("past_rows", definition.past_rows)):
        if rules:
            data[key] = [{k: v for k, v in {"column": r.column, "values": list(r.values) or None,
                                            "contains": list(r.contains) or None}.items() if v is not None}
                         for r in rules]
    return data


# --- definition files ------------------------------------------------------------------------


class DefinitionFileError(DefinitionError):
    """A definition file that cannot be used; ``str()`` is one line: ``file: key: message``."""

    def __init__(self, path: Path, key: str, message: str | Promise) -> None:
        super().__init__(key, message)
        self.path = path
        self.message = f"{path}: {key}: {message}"

    def __str__(self) -> str:
        return str(self.message)


def read_definition_file(path: Path) -> tuple[dict[str, Any], SourceDefinition]:
    """The raw mapping and the checked definition of a ``.toml`` or ``.json`` file, or a
    :class:`DefinitionFileError` naming the file and the key (TOML syntax errors: line/column)."""
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionFileError(path, "$", f"无法读取:{exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise DefinitionFileError(path, "$", f"语法错误:{exc}") from None
    try:
        return data, parse_source_definition(data)
    except DefinitionError as exc:
        detail = str(exc.message).removeprefix(f"{exc.key}: ")
        raise DefinitionFileError(path, exc.key, detail) from None


def definition_paths(targets: list[Path]) -> list[Path]:
    """The definition files named, and every ``*.toml``/``*.json`` inside the folders named."""
    paths: list[Path] = []
    for target in targets:
        if target.is_dir():
            paths.extend(sorted(p for p in target.iterdir() if p.suffix.lower() in (".toml", ".json")))
        else:
            paths.append(target)
    return paths


def definition_diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """What changes from a stored definition to a file's, one ``key: old → new`` line per
    leaf (dotted keys as in error messages); every key for a new source."""
    before, after = _flatten(old or {}), _flatten(new)
    return [f"{key}: {_shown(before.get(key, _MISSING))} → {_shown(after.get(key, _MISSING))}"
            for key in sorted(before.keys() | after.keys())
            if before.get(key, _MISSING) != after.get(key, _MISSING)]


_MISSING: Final = object()


def _shown(value: object) -> str:
    return "(无)" if value is _MISSING else json.dumps(value, ensure_ascii=False)


def _flatten(data: object, prefix: str = "") -> dict[str, object]:
    if isinstance(data, Mapping):
        flat: dict[str, object] = {}
        for key, value in data.items():
            flat |= _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return flat
    if isinstance(data, list) and any(isinstance(v, Mapping) for v in data):
        flat = {}
        for i, value in enumerate(data):
            flat |= _flatten(value, f"{prefix}[{i}]")
        return flat
    return {prefix: data}
