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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    "valid_to", "note",
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
    "hukou", "ethnicity",
})
TRANSFORMS: Final = frozenset(TEXT_TRANSFORMS) | KIND_TRANSFORMS
_KIND_ALIASES: Final = {"int": "int_text"}


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


def apply_value_map(series: pl.Series, values: tuple[tuple[str, str], ...]) -> pl.Series:
    """Cells equal (after trimming) to a key of ``values`` replaced by its value; others kept."""
    if not values or series.dtype != pl.String:
        return series
    old, new = [k for k, _v in values], [v for _k, v in values]
    trimmed = series.str.strip_chars()
    return trimmed.replace(old, new).alias(series.name).zip_with(trimmed.is_in(old), series)


def apply_transforms(series: pl.Series, transforms: tuple[str, ...] | list[str]) -> pl.Series:
    """The text transforms of a column applied to the raw text (kinds are applied later)."""
    ops = [TEXT_TRANSFORMS[t] for t in transforms if t in TEXT_TRANSFORMS]
    if not ops or series.dtype != pl.String:
        return series
    expr = pl.col("v")
    for op in ops:
        expr = op(expr)
    return pl.DataFrame({"v": series}).select(expr)["v"].alias(series.name)


# --- parsing ---------------------------------------------------------------------------------

_TOP_KEYS: Final = frozenset({
    "code", "department", "format", "encoding", "sheets", "key_columns", "columns",
    "authoritative", "tags", "name", "description",
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
        if name_ not in TRANSFORMS:
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
    unknown = set(spec) - {"kind", "column", "values", "attribute", "valid_from", "valid_to"}
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
    return TagRule(
        kind=kind,
        column=_str(spec, "column", f"{path}.column"),
        values=_str_list(spec["values"], f"{path}.values") if "values" in spec else (),
        attribute=attribute, valid_from=optional["valid_from"], valid_to=optional["valid_to"],
    )


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
    mapped = {m.field for m in columns.values()}
    if "name" not in mapped:
        raise DefinitionError("columns", "必须有一列映射到 name(姓名)")
    key_columns = _str_list(data.get("key_columns", []), "key_columns") if "key_columns" in data else ()
    for i, key in enumerate(key_columns):
        if key not in columns:
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
    return SourceDefinition(
        code=code, department=department, format=fmt, encoding=encoding, sheets=sheets,
        key_columns=key_columns, columns=columns, authoritative=authoritative, tags=tags,
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
            }.items() if v is not None}
            for t in definition.tags
        ],
    }
    if definition.sheets is not None:
        data["sheets"] = list(definition.sheets)
    return data
