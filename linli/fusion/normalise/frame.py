"""The bulk path: a raw export frame renamed and normalised by its source definition.

:func:`normalise_frame` runs each mapped column through its kind's column normaliser
(:mod:`.columns`, vectorised, same results as :mod:`.values`); the few low-cardinality
kinds (sex, yes/no, grade, hukou …) call the reference function once per distinct value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from linli.fusion.normalise.columns import (
    address_frame,
    date_frame,
    id_frame,
    map_distinct,
    name_frame,
    phone_frame,
)
from linli.fusion.normalise.values import (
    Parsed,
    _int_text,
    _room,
    _text,
    cell_text,
    clean_text,
    field_kind,
    local_today,
    normalise_ethnicity,
    normalise_grade,
    normalise_hukou,
    normalise_sex,
    normalise_year_month,
    normalise_yes_no,
)

if TYPE_CHECKING:
    from linli.fusion.mapping import SourceDefinition

# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalisedRecord:
    """One export row after normalisation (the contract between readers, matcher and store).

    ``fields`` holds the normalised values by registry field name (see :func:`normalise_frame`);
    ``errors`` the rejected cells as ``(column, reason code)``; ``raw_hash`` the SHA-256 of
    the raw row, for idempotent re-import.
    """

    source_code: str
    row_number: int
    sheet: str | None
    fields: dict[str, Any]
    errors: tuple[tuple[str, str], ...]
    raw_hash: str


def records_from_frame(frame: pl.DataFrame, raw: pl.DataFrame, *, source_code: str,
                       sheet: str | None = None) -> list[NormalisedRecord]:
    """:class:`NormalisedRecord` objects of a :func:`normalise_frame` result and its raw rows."""
    import hashlib
    import json

    out = []
    field_names = [c for c in frame.columns if c not in ("row_number", "errors")]
    for row, raw_row in zip(frame.iter_rows(named=True), raw.iter_rows(), strict=True):
        digest = hashlib.sha256(json.dumps(raw_row, ensure_ascii=False, default=str).encode()).hexdigest()
        out.append(NormalisedRecord(
            source_code=source_code, row_number=row["row_number"], sheet=sheet,
            fields={k: row[k] for k in field_names},
            errors=tuple((e["column"], e["code"]) for e in row["errors"] or ()), raw_hash=digest,
        ))
    return out


# --- bulk ------------------------------------------------------------------------------------

FIELD_DTYPES: Final[dict[str, pl.DataType]] = {
    "name": pl.String(), "name_pinyin": pl.String(), "name_initials": pl.String(),
    "surname_pinyin": pl.String(), "id_number": pl.String(), "id_valid": pl.Boolean(),
    "birth_date": pl.Date(), "sex": pl.String(), "phone": pl.String(),
    "address_norm": pl.String(), "building_key": pl.String(), "unit": pl.String(),
    "room": pl.String(), "birth_year_month": pl.String(),
}


def _parsed_struct(fn: Callable[[object], Parsed]) -> Callable[[object], dict[str, Any]]:
    def apply(value: object) -> dict[str, Any]:
        result = fn(value)
        return {"v": result.value, "e": None if result.error == "empty" else result.error}
    return apply


def normalise_frame(df: pl.DataFrame, definition: SourceDefinition, *, today: date | None = None) -> pl.DataFrame:
    """Rename and normalise a raw export by its source definition, in bulk.

    Output: ``row_number`` (1-based data row, or the input's ``row_number`` column if it has
    one), one column per mapped field, the derived keys (``name_pinyin``, ``name_initials``,
    ``surname_pinyin``, ``id_valid``, ``id_upgraded``, ``address_norm``, ``building_key``,
    ``unit``, ``room``), a birth date / sex taken from a valid ID when the export has none,
    one boolean ``tag_<kind>`` column per tag rule, and ``errors``: a list of
    ``{column, code}`` for cells that were rejected (codes in :data:`REASONS`). Unmapped
    columns are dropped; person fields not in the export are null.
    """
    today = today or local_today()
    if getattr(definition, "per_sheet", False):
        return _normalise_per_sheet(df, definition, today=today)
    return _normalise_frame(df, definition, today=today)


# The reader's sheet column (``linli.fusion.readers.SHEET_COLUMN``).
_SHEET: Final = "__sheet"


def _normalise_per_sheet(df: pl.DataFrame, definition: SourceDefinition, *, today: date) -> pl.DataFrame:
    """A definition with ``<sheet>!<header>`` keys: each sheet's rows normalised with the
    columns in force on that sheet (:func:`linli.fusion.mapping.sheet_columns`), back in
    file order."""
    from dataclasses import replace

    from linli.fusion.mapping import sheet_columns

    sheets = df[_SHEET].fill_null("") if _SHEET in df.columns else pl.Series([""] * df.height, dtype=pl.String)
    indexed = df.with_columns(sheets.alias(_SHEET)).with_row_index("__pos")
    parts = []
    for sheet in indexed[_SHEET].unique(maintain_order=True).to_list():
        part = indexed.filter(pl.col(_SHEET) == sheet)
        columns = sheet_columns(definition.columns, sheet)
        if "row_number" not in part.columns:
            part = part.with_columns((pl.col("__pos") + 1).cast(pl.Int64).alias("row_number"))
        done = _normalise_frame(part.drop("__pos"), replace(definition, columns=columns), today=today)
        parts.append(done.with_columns(part["__pos"]))
    if not parts:
        return _normalise_frame(df, definition, today=today)
    return pl.concat(parts, how="diagonal_relaxed").sort("__pos").drop("__pos")


def _normalise_frame(df: pl.DataFrame, definition: SourceDefinition, *, today: date) -> pl.DataFrame:
    from linli.fusion.mapping import (  # mapping imports this module
        apply_transforms,
        apply_value_map,
        column_kind,
    )

    out: dict[str, pl.Series] = {}
    errors: list[tuple[str, pl.Series]] = []
    row_numbers = df["row_number"] if "row_number" in df.columns else pl.Series(range(1, df.height + 1))
    out["row_number"] = row_numbers.cast(pl.Int64)
    place_columns = {c: m for c, m in definition.columns.items()
                     if m.field in _PLACE_FIELDS and c in df.columns}
    constants = dict(getattr(definition, "constants", {}) or {})
    date_formats = tuple(getattr(definition, "date_formats", ()) or ())
    for column, cmap in definition.columns.items():
        if column not in df.columns or column in place_columns:
            continue
        raw = apply_value_map(apply_transforms(_as_text(df[column], cmap.field), cmap.transforms), cmap.values)
        if cmap.field in constants:
            # A constant fills the cells its column leaves empty.
            constant = constants.pop(cmap.field)
            raw = raw.fill_null(constant).replace("", constant) if raw.dtype == pl.String else raw
        kind = column_kind(cmap)
        if kind == "date" and date_formats:
            raw = _dates_by_formats(raw, date_formats)
        earlier = out.get(cmap.field) if cmap.field == "birth_year_month" else None
        error = _normalise_column(out, raw, cmap.field, kind, today)
        if earlier is not None:  # a year-month kept from a birth-date column fills the gaps
            out[cmap.field] = out[cmap.field].fill_null(earlier)
        if cmap.field == "birth_date" and kind == "date":
            error = _partial_births(out, raw, error, today)
        errors.append((column, error))
    for field_name, value in constants.items():
        if field_name in out:
            continue
        raw = pl.Series(field_name, [value] * df.height, dtype=pl.String)
        kind = field_kind(field_name)
        kind = {"int": "int_text"}.get(kind, kind)
        if kind == "date" and date_formats:
            raw = _dates_by_formats(raw, date_formats)
        errors.append((f"constants.{field_name}", _normalise_column(out, raw, field_name, kind, today)))
    if place_columns:
        raw = _compose_address(df, definition, place_columns)
        error = _normalise_column(out, raw, "address", "address", today)
        errors.append(("/".join(place_columns), error))
    frame = pl.DataFrame([v.alias(k) for k, v in out.items()])
    frame = _derive_from_id(frame, today)
    for field, dtype in FIELD_DTYPES.items():
        if field not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(field))
    frame = frame.with_columns(pl.col("id_valid").fill_null(value=False))
    for rule in definition.tags:
        frame = frame.with_columns(_tag_series(df, rule).alias(f"tag_{rule.kind}"))
    return frame.with_columns(_merge_errors(errors, df.height))


def _partial_births(out: dict[str, pl.Series], raw: pl.Series, error: pl.Series, today: date) -> pl.Series:
    """Birth-date cells no date reader takes but a year-month one does (出生年月 ``1949.12``,
    ``1949年12月``) are kept as partial evidence in ``birth_year_month``, not dropped."""
    failed = (error.is_not_null() & (error != "empty")).fill_null(value=False)
    if raw.dtype != pl.String or not failed.any():
        return error
    cells = pl.DataFrame({"c": raw, "f": failed}).select(pl.when(pl.col("f")).then(pl.col("c")))["c"]
    months = map_distinct(cells, lambda v: normalise_year_month(v, today=today).value if v else None, pl.String())
    if "birth_year_month" in out:
        months = out["birth_year_month"].fill_null(months)
    out["birth_year_month"] = months
    return pl.DataFrame({"e": error, "m": months, "f": failed}).select(
        pl.when(pl.col("f") & pl.col("m").is_not_null()).then(None).otherwise(pl.col("e")).alias("e"))["e"]


def _merge_errors(errors: list[tuple[str, pl.Series]], height: int) -> pl.Series:
    """Per row, the list of ``{column, code}`` of its rejected cells, in column order (built
    from the few rejected cells: most rows have none)."""
    parts = [
        pl.DataFrame({"code": codes}).with_row_index("row").filter(pl.col("code").is_not_null()).select(
            "row", pl.lit(at, dtype=pl.Int32).alias("at"),
            pl.struct(pl.lit(column, dtype=pl.String).alias("column"), "code").alias("error"))
        for at, (column, codes) in enumerate(errors)
    ]
    rejected = pl.concat(parts) if parts else pl.DataFrame(
        schema={"row": pl.UInt32, "at": pl.Int32, "error": _ERROR_DTYPE})
    listed = rejected.sort("row", "at").group_by("row", maintain_order=True).agg("error")
    rows = pl.DataFrame({"row": pl.Series(range(height), dtype=pl.UInt32)}).join(
        listed, on="row", how="left", maintain_order="left")
    return rows.select(pl.col("error").fill_null(pl.lit([], dtype=pl.List(_ERROR_DTYPE))).alias("errors"))["errors"]


_PLACE_FIELDS: Final = frozenset({"address", "building", "unit", "room"})
_ERROR_DTYPE: Final = pl.Struct({"column": pl.String, "code": pl.String})
_DATE_FIELDS: Final = frozenset({"birth_date", "deceased_on", "valid_from", "valid_to"})


def _as_text(series: pl.Series, field: str) -> pl.Series:
    if series.dtype == pl.String or (field in _DATE_FIELDS and series.dtype in (pl.Date, pl.Datetime)):
        return series
    if series.dtype.is_float():
        # 19500305.0 / 18327.0 from spreadsheets: keep integers integral.
        return pl.Series(series.name, [cell_text(v) if v is not None else None for v in series.to_list()],
                         dtype=pl.String)
    return series.cast(pl.String)


def _compose_address(df: pl.DataFrame, definition: SourceDefinition, columns: dict[str, Any]) -> pl.Series:
    """Separate address / building / unit / room columns → one address text to parse."""
    from linli.fusion.mapping import apply_transforms

    by_field = {m.field: apply_transforms(_as_text(df[c], m.field), m.transforms).fill_null("")
                for c, m in columns.items()}
    empty = pl.Series([""] * df.height, dtype=pl.String)
    frame = pl.DataFrame({f: by_field.get(f, empty) for f in ("address", "building", "unit", "room")})
    return frame.select(
        pl.when(pl.col("building") != "")
        .then(pl.concat_str(
            pl.col("address"),
            pl.col("building").str.replace(r"^(\d+)$", "${1}幢"),
            pl.when(pl.col("unit") != "").then(pl.col("unit").str.replace(r"^(\d+)$", "${1}单元")).otherwise(pl.lit("")),
            pl.col("room"),
        ))
        .otherwise(pl.col("address"))
        .alias("address")
    )["address"]


def _normalise_column(out: dict[str, pl.Series], raw: pl.Series, field: str, kind: str, today: date) -> pl.Series:
    """Normalise one column into ``out``; returns its per-row error codes."""
    if kind == "name":
        parts = _by_distinct(raw, name_frame)
        out[field] = parts["v"]
        if field == "name":
            out["name_pinyin"], out["name_initials"], out["surname_pinyin"] = parts["py"], parts["ini"], parts["sur"]
    elif kind == "id_number":
        parts = id_frame(raw, today)
        out[field] = parts["v"]
        if field == "id_number":
            out["id_valid"], out["id_upgraded"] = parts["ok"], parts["up"]
    elif kind == "address":
        parts = address_frame(raw)
        out["address_norm"], out["building_key"], out["unit"], out["room"] = parts["v"], parts["bk"], parts["u"], parts["r"]
    elif kind == "date":
        parts = _by_distinct(raw, lambda r: date_frame(r, today))
        out[field] = parts["v"]
    elif kind == "phone":
        parts = phone_frame(raw)
        out[field] = parts["v"]
    else:
        fn, dtype = _SCALAR_KINDS[kind]
        parts = map_distinct(raw, _parsed_struct(fn), pl.Struct({"v": dtype, "e": pl.String})).struct.unnest()
        out[field] = parts["v"]
    return parts["e"]


def _by_distinct(raw: pl.Series, fn: Callable[[pl.Series], pl.DataFrame]) -> pl.DataFrame:
    """``fn`` over the distinct cells joined back to the rows, when that saves enough work."""
    distinct = raw.unique()
    if distinct.len() * 2 > raw.len():
        return fn(raw)
    lookup = pl.concat([distinct.alias("_k").to_frame(), fn(distinct)], how="horizontal")
    return pl.DataFrame({"_k": raw}).join(lookup, on="_k", how="left", maintain_order="left",
                                          nulls_equal=True).drop("_k")


def _dates_by_formats(raw: pl.Series, formats: tuple[str, ...]) -> pl.Series:
    """Cells that one of the definition's ``date_formats`` reads, rewritten as ISO dates (the
    normaliser then checks the range); other cells pass to the built-in readers unchanged."""
    if raw.dtype != pl.String:
        return raw
    text = raw.str.strip_chars()
    parsed = pl.DataFrame({"t": text}).select(pl.coalesce(
        [pl.col("t").str.to_date(fmt, strict=False, exact=True) for fmt in formats]).alias("d"))["d"]
    return parsed.dt.strftime("%Y-%m-%d").fill_null(raw).alias(raw.name)


def _tag_series(df: pl.DataFrame, rule: Any) -> pl.Series:
    """True where a tag rule's column says so (see :func:`tag_hits`)."""
    if rule.column not in df.columns:
        return pl.Series([False] * df.height, dtype=pl.Boolean)
    return tag_hits(map_distinct(df[rule.column], clean_text, pl.String()), rule)


def tag_hits(values: pl.Series, rule: Any) -> pl.Series:
    """True where a tag rule holds for its column's cleaned text: non-empty, or one of its
    listed values — for a multi-value cell ("低保,高龄补贴"), one of its parts split on the
    rule's separators."""
    values = values.fill_null("").str.strip_chars()
    tagged = values != ""
    if rule.values:
        wanted = sorted(rule.values)
        separators = getattr(rule, "separators", "")
        hit = values.is_in(wanted)
        if separators:
            split = pl.DataFrame({"v": values}).select(
                pl.col("v").str.replace_all("[" + re.escape(separators) + "]", "\x00")
                .str.split("\x00").list.eval(pl.element().str.strip_chars().is_in(wanted)).list.any()
                .alias("hit"))["hit"]
            hit = hit | split.fill_null(value=False)
        tagged = tagged & hit
    return tagged.fill_null(value=False)


def _derive_from_id(frame: pl.DataFrame, today: date) -> pl.DataFrame:
    """Fill a missing birth date / sex from a valid ID (some exports carry only the ID)."""
    if "id_number" not in frame.columns:
        return frame
    valid = pl.col("id_valid").fill_null(value=False)
    from_id = pl.col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    sex_digit = pl.col("id_number").str.slice(16, 1).cast(pl.Int32, strict=False)
    derived = [
        pl.when(valid).then(from_id).otherwise(None).alias("_birth_id"),
        pl.when(valid).then(pl.when(sex_digit % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("F"))).alias("_sex_id"),
    ]
    frame = frame.with_columns(derived)
    birth = pl.coalesce("birth_date", "_birth_id") if "birth_date" in frame.columns else pl.col("_birth_id")
    sex = pl.coalesce("sex", "_sex_id") if "sex" in frame.columns else pl.col("_sex_id")
    return frame.with_columns(birth.alias("birth_date"), sex.alias("sex")).drop("_birth_id", "_sex_id")


_SCALAR_KINDS: Final[dict[str, tuple[Callable[[object], Parsed], pl.DataType]]] = {
    "sex": (normalise_sex, pl.String()),
    "yes_no": (normalise_yes_no, pl.Boolean()),
    "grade": (normalise_grade, pl.Int64()),
    "int_text": (_int_text, pl.String()),
    "room": (_room, pl.String()),
    "text": (_text, pl.String()),
    "hukou": (normalise_hukou, pl.String()),
    "ethnicity": (normalise_ethnicity, pl.String()),
    "year_month": (normalise_year_month, pl.String()),
}

