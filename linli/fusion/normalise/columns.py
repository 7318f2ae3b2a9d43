"""Whole columns at once: Polars expressions that give exactly the results of :mod:`.values`.

Each ``*_frame`` function takes a text column and returns one row per cell with ``v`` (the
value), ``e`` (the reason code, null for a good or empty cell) and the kind's extra columns.
The expressions cover the shapes departments write; a cell they do not cover with certainty
(other scripts' digits, odd whitespace, a newline) is handed to the reference function once
per distinct value, so bulk and single-value results cannot differ. Regexes here are Rust's:
no look-around, so Python's ``(?!…)``/``(?<!…)`` are spelt out with classes and groups.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import date
from typing import Any, Final

import polars as pl

from linli.fusion.normalise.address import normalise_address
from linli.fusion.normalise.values import (
    _EXCEL_EPOCH,
    PHONE_SEPARATORS,
    _t2s,
    cell_text,
    chinese_number,
    name_keys,
    normalise_date,
    normalise_id_number,
    normalise_name,
    normalise_phone,
    simplified,
)
from linli.registry.validators import PROVINCE_CODES

# What Python's str.strip() and \s take for whitespace (Rust's set lacks \x1c-\x1f).
_PY_SPACE: Final = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
_PY_SPACE_CLASS: Final = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _PY_SPACE) + "]"
_HALF_FROM: Final = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"]
_HALF_TO: Final = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" "]
_DASH_CHARS: Final = "—–―‐‑‒−~～_"


def map_distinct(series: pl.Series, fn: Callable[[Any], Any], dtype: pl.DataType) -> pl.Series:
    """``fn`` applied to each distinct value of ``series`` only, then spread back to every row."""
    distinct = series.unique(maintain_order=False)
    values = [fn(v) for v in distinct.to_list()]
    lookup = pl.DataFrame({"k": distinct, "v": pl.Series(values, dtype=dtype)})
    frame = pl.DataFrame({"k": series}).join(lookup, on="k", how="left", maintain_order="left", nulls_equal=True)
    return frame["v"].alias(series.name)


def _patch(frame: pl.DataFrame, rest: pl.Series, raw: pl.Series, fn: Callable[[Any], dict[str, Any]],
           dtype: pl.Struct) -> pl.DataFrame:
    """Rows where ``rest`` is true recomputed by the reference ``fn`` (once per distinct cell)."""
    rest = rest.fill_null(value=False)
    if not rest.any():
        return frame
    at = rest.arg_true()
    slow = map_distinct(raw.filter(rest), fn, dtype).struct.unnest()
    return frame.with_columns(frame[c].cast(slow[c].dtype).scatter(at, slow[c]) for c in slow.columns)


def _stripped(e: pl.Expr) -> pl.Expr:
    return e.str.strip_chars(_PY_SPACE)


def half_width_expr(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many(_HALF_FROM, _HALF_TO)


def simplified_series(texts: pl.Series) -> pl.Series:
    """:func:`.values.simplified` of every cell.

    OpenCC's dictionary keys hold no ASCII, so its longest-match never crosses an ASCII
    character: a text converts to itself unless one of its non-ASCII runs does. The distinct
    runs (a few thousand for a district's addresses) go through OpenCC in one call; only the
    texts holding a run that changes are converted, whole, by the reference function.
    """
    runs = texts.str.extract_all(r"[^\x00-\x7f]+").explode().drop_nulls().unique().to_list()
    if not runs:
        return texts
    converted = str(_t2s.convert("\n".join(runs))).split("\n")
    if len(converted) != len(runs):
        converted = [simplified(run) for run in runs]
    changed = [run for run, new in zip(runs, converted, strict=True) if run != new]
    if not changed:
        return texts
    hit = texts.str.contains_any(changed).fill_null(value=False)
    fixed = map_distinct(texts.filter(hit), simplified, pl.String())
    return texts.clone().scatter(hit.arg_true(), fixed)


def clean_series(raw: pl.Series) -> pl.Series:
    """:func:`.values.clean_text` of every text cell (null stays null)."""
    half = pl.DataFrame({"t": raw}).select(half_width_expr(_stripped(pl.col("t"))))["t"]
    simple = simplified_series(half)
    return pl.DataFrame({"t": simple}).select(
        _stripped(pl.col("t").str.replace_all(_PY_SPACE_CLASS + "+", " ")))["t"].alias(raw.name)


# --- names -------------------------------------------------------------------------------------

NAME_STRUCT: Final = pl.Struct({"v": pl.String, "e": pl.String, "py": pl.String, "ini": pl.String, "sur": pl.String})


def _name_struct(value: object) -> dict[str, Any]:
    name = normalise_name(value)
    if name is None:
        return {"v": None, "e": None if not cell_text(value) else "name_invalid", "py": None, "ini": None, "sur": None}
    keys = name_keys(name)
    return {"v": name, "e": None, "py": keys.pinyin, "ini": keys.initials, "sur": keys.surname}


def _name_keys_frame(names: pl.Series) -> pl.DataFrame:
    """``py, ini, sur`` of every (normalised) name, read once per distinct name."""
    distinct = names.drop_nulls().unique().to_list()
    keys = [name_keys(name) for name in distinct]
    lookup = pl.DataFrame({
        "v": pl.Series(distinct, dtype=pl.String),
        "py": pl.Series([k.pinyin for k in keys], dtype=pl.String),
        "ini": pl.Series([k.initials for k in keys], dtype=pl.String),
        "sur": pl.Series([k.surname for k in keys], dtype=pl.String),
    })
    return pl.DataFrame({"v": names}).join(lookup, on="v", how="left", maintain_order="left").drop("v")


def _plain_names(raw: pl.Series) -> pl.DataFrame:
    """``v``/``e`` of names where the expressions are sure, and ``plain`` saying where."""
    text = clean_series(raw)
    frame = pl.DataFrame({"t": text}).select(
        plain=pl.col("t").str.contains(r"^[\x{4e00}-\x{9fff}·]*$"),
        v=pl.col("t").str.strip_chars("·"),
        filled=pl.col("t").is_not_null() & (pl.col("t") != ""),
    ).with_columns(v=pl.when(pl.col("v") != "").then(pl.col("v")))
    return frame.with_columns(e=pl.when(pl.col("v").is_null() & pl.col("filled")).then(pl.lit("name_invalid")))


def normalised_names(raw: pl.Series) -> pl.Series:
    """:func:`.values.normalise_name` of every cell."""
    if raw.dtype != pl.String:
        return map_distinct(raw, normalise_name, pl.String())
    frame = _plain_names(raw)
    rest = ~frame["plain"].fill_null(value=False)
    names = frame["v"].alias(raw.name)
    if rest.any():
        names = names.scatter(rest.arg_true(), map_distinct(raw.filter(rest), normalise_name, pl.String()))
    return names


def name_frame(raw: pl.Series) -> pl.DataFrame:
    """:func:`.values.normalise_name` and :func:`.values.name_keys` of every cell.

    A cleaned name of Chinese characters and ``·`` only loses nothing but its outer dots;
    anything else (brackets, Latin letters, digits, spaces) takes the reference path.
    """
    if raw.dtype != pl.String:
        return map_distinct(raw, _name_struct, NAME_STRUCT).struct.unnest()
    frame = _plain_names(raw)
    out = pl.concat([frame.select("v", "e"), _name_keys_frame(frame["v"])], how="horizontal")
    return _patch(out, ~frame["plain"], raw, _name_struct, NAME_STRUCT)


# --- ID numbers --------------------------------------------------------------------------------

ID_STRUCT: Final = pl.Struct({"v": pl.String, "e": pl.String, "ok": pl.Boolean, "up": pl.Boolean})
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"


def _id_struct(value: object, today: date) -> dict[str, Any]:
    result = normalise_id_number(value, today=today)
    return {"v": result.value, "e": None if result.error == "empty" else result.error, "ok": result.valid,
            "up": result.upgraded}


def _id_check_expr(first17: pl.Expr) -> pl.Expr:
    """GB 11643 check character of 17 ASCII digits, as an expression."""
    total = pl.sum_horizontal([first17.str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(_ID_WEIGHTS)])
    return (total % 11).replace_strict(dict(enumerate(_ID_CHECK)), return_dtype=pl.String)


def id_frame(raw: pl.Series, today: date) -> pl.DataFrame:
    """:func:`.values.normalise_id_number` of every cell as columns ``v, e, ok, up``.

    Cells that clean to plain ASCII are checked with expressions (length, shape, 15→18
    upgrade, area, birth date, checksum); the rare rest (Excel's scientific notation, other
    scripts) take the reference path.
    """
    text = raw.cast(pl.String)
    frame = pl.DataFrame({"raw": text}).with_columns(
        t=half_width_expr(pl.col("raw")).str.replace_all(r"[\s\x1c-\x1f\-'`]", "").str.to_uppercase())
    simple = pl.col("t").is_null() | (
        (pl.col("t").str.len_bytes() == pl.col("t").str.len_chars()) & ~pl.col("t").str.contains(r"E"))
    frame = frame.with_columns(simple=simple)
    t = pl.col("t")
    length = t.str.len_chars()
    shaped = t.str.contains(r"^(?:[0-9]{17}[0-9X]|[0-9]{15})$")
    upgraded = shaped & (length == 15)
    first17 = pl.concat_str([t.str.slice(0, 6), pl.lit("19"), t.str.slice(6, 9)])
    value = pl.when(upgraded).then(pl.concat_str([first17, _id_check_expr(first17)])).when(shaped).then(t)
    frame = frame.with_columns(v=value, up=upgraded)
    v = pl.col("v")
    born = v.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    born_ok = born.is_not_null() & (born >= date(1890, 1, 1)) & (born <= today)
    error = (
        pl.when(t.is_null() | (t == "")).then(None)
        .when(~length.is_in([15, 18])).then(pl.lit("id_length"))
        .when(~shaped).then(pl.lit("id_chars"))
        .when(~v.str.slice(0, 2).is_in(sorted(PROVINCE_CODES))).then(pl.lit("id_area"))
        .when(~born_ok).then(pl.lit("id_birth"))
        .when(_id_check_expr(v.str.slice(0, 17)) != v.str.slice(17, 1)).then(pl.lit("id_checksum"))
    )
    frame = frame.with_columns(e=error).with_columns(
        ok=v.is_not_null() & pl.col("e").is_null(), up=pl.col("up").fill_null(value=False))
    return _patch(frame.select("v", "e", "ok", "up"), ~frame["simple"], text, lambda c: _id_struct(c, today),
                  ID_STRUCT)


# --- dates -------------------------------------------------------------------------------------

DATE_STRUCT: Final = pl.Struct({"v": pl.Date, "e": pl.String})
_ASCII_SPACE: Final = r"[\t\n\x0b\x0c\r\x1c-\x1f ]"  # Python's \s within ASCII
_DATE_PARTS: Final = (rf"^([0-9]{{2,4}}){_ASCII_SPACE}*[-/.年]{_ASCII_SPACE}*([0-9]{{1,2}}){_ASCII_SPACE}*"
                      rf"[-/.月]{_ASCII_SPACE}*([0-9]{{1,2}}){_ASCII_SPACE}*日?$")


def _date_struct(value: object, today: date) -> dict[str, Any]:
    result = normalise_date(value, today=today)
    return {"v": result.value, "e": None if result.error == "empty" else result.error}


def date_frame(raw: pl.Series, today: date) -> pl.DataFrame:
    """:func:`.values.normalise_date` of every cell as columns ``v, e``.

    Text of ASCII and 年月日 is read with expressions (8/6 digits, Excel serials, y-m-d with
    any of the separators, a time suffix); other cells and non-text columns take the
    reference path.
    """
    if raw.dtype != pl.String:
        return map_distinct(raw, lambda v: _date_struct(v, today), DATE_STRUCT).struct.unnest()
    t = pl.col("t")
    frame = pl.DataFrame({"t": raw}).with_columns(t=_stripped(half_width_expr(_stripped(t))))
    frame = frame.with_columns(
        plain=t.is_null() | t.str.contains(r"^[\x00-\x7f年月日]*$"),
        t=t.str.replace(r"[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?$", ""),
    )
    digits = t.str.extract(r"^([0-9]+)(?:\.0+)?$", 1)
    parts = t.str.extract_groups(_DATE_PARTS)
    n = digits.str.len_chars()

    def century(yy: pl.Expr) -> pl.Expr:
        return pl.when(yy + 2000 <= today.year).then(yy + 2000).otherwise(yy + 1900)

    year_text = parts.struct.field("1")
    year = (pl.when(digits.is_not_null() & (n == 8)).then(digits.str.slice(0, 4).cast(pl.Int32))
            .when(digits.is_not_null() & (n == 6)).then(century(digits.str.slice(0, 2).cast(pl.Int32)))
            .when(digits.is_null() & (year_text.str.len_chars() == 4)).then(year_text.cast(pl.Int32, strict=False))
            .when(digits.is_null() & (year_text.str.len_chars() == 2)).then(
                century(year_text.cast(pl.Int32, strict=False))))
    month = (pl.when(digits.is_not_null()).then(digits.str.slice(n - 4, 2))
             .otherwise(parts.struct.field("2"))).cast(pl.Int32, strict=False)
    day = (pl.when(digits.is_not_null()).then(digits.str.slice(n - 2, 2))
           .otherwise(parts.struct.field("3"))).cast(pl.Int32, strict=False)
    text_date = pl.concat_str(
        year.cast(pl.String).str.zfill(4), pl.lit("-"), month.cast(pl.String).str.zfill(2), pl.lit("-"),
        day.cast(pl.String).str.zfill(2),
    ).str.to_date("%Y-%m-%d", strict=False)
    serial = pl.when(digits.is_not_null() & (n <= 5)).then(digits.cast(pl.Int64, strict=False))
    from_serial = pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial)
    value = (pl.when(serial.is_not_null() & (serial > 0) & (serial <= 60000)).then(from_serial)
             .when(year >= 1).then(text_date))
    in_range = (value >= date(1890, 1, 1)) & (value <= today)
    frame = frame.with_columns(value=value, in_range=in_range)
    out = frame.select(
        v=pl.when(pl.col("in_range")).then(pl.col("value")),
        e=pl.when(t.is_null() | (t == "")).then(None)
        .when(pl.col("value").is_null()).then(pl.lit("date_format"))
        .when(~pl.col("in_range")).then(pl.lit("date_range")),
    )
    return _patch(out, ~frame["plain"], raw, lambda v: _date_struct(v, today), DATE_STRUCT)


# --- phones ------------------------------------------------------------------------------------


def phone_frame(raw: pl.Series) -> pl.DataFrame:
    """:func:`.values.normalise_phone` of every cell as columns ``v, e`` (no reference path
    needed: after the separators go, only ASCII digits are accepted)."""
    if raw.dtype != pl.String:
        raw = raw.cast(pl.String)
    drop = _PY_SPACE_CLASS[:-1] + r"\-()（）." + _DASH_CHARS + "]"
    t = pl.col("t")
    frame = pl.DataFrame({"t": raw}).with_columns(t=half_width_expr(t).str.replace_all(drop, ""))
    frame = frame.with_columns(
        s=pl.when(t.str.starts_with("+86")).then(t.str.slice(3))
        .when(t.str.starts_with("0086")).then(t.str.slice(4))
        .when(t.str.starts_with("86") & (t.str.len_chars() == 13)).then(t.str.slice(2))
        .otherwise(t))
    s = pl.col("s")
    good = s.str.contains(r"^(?:1[3-9][0-9]{9}|0[0-9]{2,3}[0-9]{7,8})$")
    out = frame.select(
        v=pl.when(good).then(s),
        e=pl.when(t.is_null() | (t == "")).then(None)
        .when(~s.str.contains(r"^[0-9]+$")).then(pl.lit("phone_chars"))
        .when(~good).then(pl.lit("phone_format")),
    )
    # Several numbers in one cell: rare, so the reference picks among them.
    several = half_width_expr(pl.col("r")).str.contains("[" + re.escape(PHONE_SEPARATORS) + "]")
    rest = pl.DataFrame({"r": raw}).select(several.fill_null(value=False))["r"]
    return _patch(out, rest, raw, _phone_struct, PHONE_STRUCT)


PHONE_STRUCT: Final = pl.Struct({"v": pl.String, "e": pl.String})


def _phone_struct(value: object) -> dict[str, Any]:
    parsed = normalise_phone(value)
    return {"v": parsed.value, "e": None if parsed.error == "empty" else parsed.error}


# --- addresses ---------------------------------------------------------------------------------

ADDRESS_STRUCT: Final = pl.Struct({"v": pl.String, "e": pl.String, "bk": pl.String, "u": pl.String, "r": pl.String})
_HAN: Final = r"\x{4e00}-\x{9fff}"
_CN_NUM: Final = "零〇一二两三四五六七八九十"
# .address's prefixes, anchored; group 1 is the prefix, and it is dropped only when text follows.
_PREFIXES: Final = (
    rf"^([{_HAN}]{{2,7}}?(?:省|自治区))",
    rf"^([{_HAN}]{{2,4}}?市)(?:[^场]|$)",
    rf"^([{_HAN}]{{0,2}}?[{_HAN}--[小园社校营]](?:区|县))",
    rf"^([{_HAN}]{{2,5}}?(?:街道|镇|乡))",
    rf"^([{_HAN}]{{2,5}}?社区(?:居委会)?)",
)
_ROAD: Final = rf"^(([{_HAN}]{{1,8}}?(?:路|街|巷|弄|大道))([0-9]+)号)(?:[^楼]|$)"
_ROAD_DASH: Final = rf"^[{_HAN}]{{1,8}}?(?:路|街|巷|弄|大道)[0-9]+号?-[0-9]+-"
_TAIL: Final = (
    rf"^(?P<pre>.*?)(?P<b>[0-9]+|[{_CN_NUM}]+)(?P<bw>幢|栋|号楼|号|座|#|-)"
    rf"(?:(?P<u>[0-9]+|[{_CN_NUM}]+)(?:单元|-))?(?:(?P<r>[0-9]+)(?:室|号|房)?)?$"
)


def _address_struct(value: object) -> dict[str, Any]:
    address = normalise_address(value)
    # An address without building/room (a house on a road) is kept as text, not rejected.
    return {"v": address.norm or None, "e": None, "bk": address.building_key or None,
            "u": address.unit or None, "r": address.room or None}


def _number_text(value: str | None) -> str | None:
    return None if value is None else str(chinese_number(value) or value)


def _unit_text(value: str | None) -> str | None:
    return None if value is None else str(chinese_number(value))


def address_frame(raw: pl.Series) -> pl.DataFrame:
    """:func:`.address.normalise_address` of every cell as columns ``v, e, bk, u, r``.

    Cleaned text of Chinese characters and printable ASCII (no whitespace is left by then)
    is parsed with expressions; anything else takes the reference path.
    """
    if raw.dtype != pl.String:
        return map_distinct(raw, _address_struct, ADDRESS_STRUCT).struct.unnest()
    text = clean_series(raw)
    t = pl.col("t")
    frame = pl.DataFrame({"t": text}).with_columns(
        t=t.str.replace_all("[" + _DASH_CHARS + "]", "-").str.replace_all(" ", "", literal=True)
        .str.replace_all("楼栋", "幢", literal=True).str.replace_all("楼幢", "幢", literal=True))
    frame = frame.with_columns(plain=t.is_null() | (t == "") | t.str.contains(rf"^[{_HAN}\x21-\x7e]+$"))
    for pattern in _PREFIXES:
        found = t.str.extract(pattern, 1).str.len_chars()
        frame = frame.with_columns(t=pl.when(found < t.str.len_chars()).then(t.str.slice(found)).otherwise(t))
    road = t.str.extract_groups(_ROAD)
    frame = frame.with_columns(road=road).with_columns(
        strip_road=pl.col("road").struct.field("1").str.len_chars() < t.str.len_chars())
    frame = frame.with_columns(
        road_text=pl.when(pl.col("strip_road")).then(pl.concat_str(
            pl.col("road").struct.field("2"), pl.col("road").struct.field("3"), pl.lit("号"))).otherwise(pl.lit("")),
        t=pl.when(pl.col("strip_road")).then(t.str.slice(pl.col("road").struct.field("1").str.len_chars()))
        .otherwise(t),
    )
    frame = frame.with_columns(tail=t.str.extract_groups(_TAIL)).unnest("tail")
    frame = frame.with_columns(
        b=map_distinct(frame["b"], _number_text, pl.String()),
        u=map_distinct(frame["u"], _unit_text, pl.String()),
    )
    parsed = pl.col("r").is_not_null() | (pl.col("bw").is_in(["幢", "栋", "号楼", "座"]) & pl.col("u").is_null())
    compound = pl.col("pre").str.strip_chars(" -,")
    room = pl.when(pl.col("r").is_not_null()).then(
        pl.when(pl.col("r").str.strip_chars_start("0") == "").then(pl.lit("0"))
        .otherwise(pl.col("r").str.strip_chars_start("0")))
    frame = frame.with_columns(parsed=pl.col("b").is_not_null() & parsed.fill_null(value=False),
                               compound=compound, room=room)
    norm = pl.concat_str(
        pl.col("compound"), pl.col("b"), pl.lit("幢"),
        pl.when(pl.col("u").is_not_null()).then(pl.concat_str(pl.col("u"), pl.lit("单元"))).otherwise(pl.lit("")),
        pl.when(pl.col("room").is_not_null()).then(pl.concat_str(pl.col("room"), pl.lit("室"))).otherwise(pl.lit("")),
    )
    unparsed = pl.concat_str(pl.col("road_text"), t)
    parsed_col = pl.col("parsed")
    out = frame.select(
        v=pl.when(t.is_null() | (t == "")).then(None).when(parsed_col).then(norm).otherwise(unparsed),
        e=pl.lit(None, dtype=pl.String),
        bk=pl.when(parsed_col & (pl.col("compound") != "")).then(
            pl.concat_str(pl.col("compound"), pl.lit("|"), pl.col("b"))),
        u=pl.when(parsed_col & (pl.col("u") != "")).then(pl.col("u")),
        r=pl.when(parsed_col).then(pl.col("room")),
    )
    # Door-numbered buildings (a road + number and no compound name, or the dashed
    # 清禾路12-3-502) are rare: the reference parser reads them.
    door_numbered = frame.select(
        (pl.col("parsed") & (pl.col("compound") == "") & (pl.col("road_text") != ""))
        | t.str.contains(_ROAD_DASH))["parsed"]
    return _patch(out, ~frame["plain"] | door_numbered, raw, _address_struct, ADDRESS_STRUCT)
