"""Rendering: the error model applied to one department's true rows (duplicates, shuffling,
corrupted IDs, names, phones, stale addresses, date and sex styles) with the truth kept aside."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import polars as pl

from linli.demo import export_errors as errs
from linli.demo.export_errors import RATES, Rates
from linli.demo.exports.layouts import _Layout
from linli.demo.exports.population import _Street

_EXCEL_EPOCH: Final = date(1899, 12, 30)
_BASE: Final = ("person_id", "entity", "name", "id_number", "birth", "sex", "phone", "compound", "road",
                "road_no", "building_no", "unit_no", "room_no", "community", "addr_free")


def _pick(rng: np.random.Generator, styles: dict[str, float], n: int) -> np.ndarray[Any, Any]:
    names = list(styles)
    weights = np.array([styles[k] for k in names], dtype=float)
    return np.array(names, dtype=object)[rng.choice(len(names), size=n, p=weights / weights.sum())]


def _date_expr(column: str, style: pl.Expr) -> pl.Expr:
    d = pl.col(column)
    y, m, day = d.dt.year().cast(pl.String), d.dt.month().cast(pl.String), d.dt.day().cast(pl.String)
    serial = (d.cast(pl.Int64) - pl.lit(_EXCEL_EPOCH).cast(pl.Int64)).cast(pl.String)
    return (
        pl.when(style == "iso").then(d.dt.strftime("%Y-%m-%d"))
        .when(style == "compact").then(d.dt.strftime("%Y%m%d"))
        .when(style == "slash").then(pl.concat_str([y, m, day], separator="/"))
        .when(style == "dash_nopad").then(pl.concat_str([y, m, day], separator="-"))
        .when(style == "chinese").then(pl.concat_str([y, pl.lit("年"), m, pl.lit("月"), day, pl.lit("日")]))
        .when(style == "excel_date").then(d.dt.strftime("%Y-%m-%d 00:00:00"))
        .when(style == "excel_serial").then(serial)
        .otherwise(d.dt.strftime("%Y-%m-%d"))
    )


def _address_expr(style: pl.Expr, prefix: pl.Expr) -> pl.Expr:
    b, u = pl.col("a_building").cast(pl.String), pl.col("a_unit").cast(pl.String)
    c, r = pl.col("a_compound"), pl.col("a_room")
    body = (
        pl.when(style == "full").then(pl.concat_str([
            pl.col("a_road"), pl.col("a_road_no").cast(pl.String), pl.lit("号"), c, b, pl.lit("幢"), u,
            pl.lit("单元"), r, pl.lit("室")]))
        .when(style == "dash").then(pl.concat_str([c, b, pl.lit("-"), u, pl.lit("-"), r]))
        .when(style == "haolou").then(pl.concat_str([c, b, pl.lit("号楼"), u, pl.lit("单元"), r]))
        .when(style == "dong").then(pl.concat_str([c, b, pl.lit("栋"), u, pl.lit("单元"), r, pl.lit("室")]))
        .otherwise(pl.concat_str([c, b, pl.lit("幢"), u, pl.lit("单元"), r, pl.lit("室")]))
    )
    return pl.when(pl.col("addr_free").is_not_null()).then(pl.col("addr_free")).otherwise(
        pl.concat_str([prefix, body]))


@dataclass
class _Rendered:
    frames: dict[str, pl.DataFrame]
    truth: pl.DataFrame
    conflicts: pl.DataFrame


def _flag(rng: np.random.Generator, n: int, rate: float, where: np.ndarray[Any, Any] | None = None) -> np.ndarray[Any, Any]:
    hit = rng.random(n) < rate
    return hit & where if where is not None else hit


def _render(
    rows: pl.DataFrame, layout: _Layout, rng: np.random.Generator, street: _Street,
    finish: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> _Rendered:
    """Duplicate, shuffle, corrupt and format one department's true rows; keep the truth."""
    rates: Rates = RATES[layout.code]
    py = random.Random(int(rng.integers(2**63)))
    if "sheet" not in rows.columns:
        rows = rows.with_columns(sheet=pl.lit("", dtype=pl.String))
    for name in ("conflict_field", "conflict_value", "registry_value", "passport"):
        if name not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    # Duplicates: the same person entered twice, each copy corrupted on its own.
    dup = _flag(rng, rows.height, rates.duplicate)
    rows = pl.concat([rows.with_columns(duplicate=pl.lit(value=False)),
                      rows.filter(pl.Series(dup)).with_columns(duplicate=pl.lit(value=True))])
    # Lists are kept per sheet (in the builder's order) and community, in no order inside.
    sheet_order = {name: i for i, name in enumerate(rows["sheet"].unique(maintain_order=True).to_list())}
    rows = rows.with_columns(_sheet_order=pl.col("sheet").replace_strict(sheet_order, return_dtype=pl.Int32))
    rows = rows[rng.permutation(rows.height)].sort(["_sheet_order", "community"], maintain_order=True)
    n = rows.height

    # --- ID numbers
    true_ids: list[str | None] = rows["id_number"].to_list()
    ids: list[str | None] = list(true_ids)
    status = np.where(rows["id_number"].is_null().to_numpy(), errs.ID_NONE, errs.ID_OK).astype(object)
    has_id = status == errs.ID_OK
    born_before_1980 = (rows["birth"].dt.year() < 1980).fill_null(value=False).to_numpy()
    u = rng.random(n)
    cuts = np.cumsum([rates.id_missing, rates.id_typo, rates.id_transposed, rates.id_scientific,
                      rates.id_excel_number])
    kinds = (errs.ID_MISSING, errs.ID_TYPO, errs.ID_TRANSPOSED, errs.ID_SCIENTIFIC, errs.ID_EXCEL_NUMBER)
    chosen = np.searchsorted(cuts, u, side="right")
    legacy = _flag(rng, n, rates.id_legacy15, has_id & born_before_1980)
    fullwidth = _flag(rng, n, rates.id_fullwidth, has_id)
    for i in np.flatnonzero(has_id & ((chosen < len(kinds)) | legacy | fullwidth)).tolist():
        number = str(ids[i])
        kind = kinds[chosen[i]] if chosen[i] < len(kinds) else None
        if kind == errs.ID_MISSING:
            ids[i] = None
        elif kind == errs.ID_TYPO:
            ids[i] = errs.typo_digit(number, py) if py.random() < 0.85 else number[:17] + (
                "X" if number[17] != "X" else "0")
        elif kind == errs.ID_TRANSPOSED:
            ids[i] = errs.transpose_digits(number, py)
        elif kind == errs.ID_SCIENTIFIC:
            ids[i] = errs.scientific(number)
        elif kind == errs.ID_EXCEL_NUMBER:
            ids[i] = str(int(float(errs.excel_number(number))))
        elif legacy[i]:
            ids[i], kind = errs.legacy_15(number), errs.ID_LEGACY15
        if kind is not None and ids[i] == number:  # a transposition of 1111…: nothing changed
            kind = None
        if fullwidth[i] and kind in (None, errs.ID_LEGACY15) and ids[i] is not None:
            ids[i] = errs.full_width(str(ids[i]))
            kind = kind or errs.ID_FULLWIDTH
        if kind is not None:
            status[i] = kind
        elif number.endswith("X") and py.random() < 0.3:
            ids[i] = number[:17] + "x"
    passports = rows["passport"].to_list()
    for i in np.flatnonzero(status == errs.ID_NONE).tolist():
        ids[i] = passports[i]

    # --- names
    names: list[str] = rows["name"].to_list()
    name_err = np.zeros(n, dtype=object)
    for code, rate in (("name_variant", rates.name_variant), ("name_traditional", rates.name_traditional),
                       ("name_space", rates.name_space)):
        for i in np.flatnonzero(_flag(rng, n, rate) & (name_err == 0)).tolist():
            changed = (errs.name_variant(names[i], py) if code == "name_variant"
                       else errs.traditional(names[i]) if code == "name_traditional"
                       else errs.spaced(names[i], py))
            if changed is not None and changed != names[i]:
                names[i], name_err[i] = changed, code

    # --- phones
    phones: list[str | None] = rows["phone"].to_list()
    phone_other = _flag(rng, n, rates.phone_other, rows["phone"].is_not_null().to_numpy())
    phone_missing = _flag(rng, n, rates.phone_missing, rows["phone"].is_not_null().to_numpy()) & ~phone_other
    styles = _pick(rng, rates.phone_styles or {"plain": 1.0}, n)
    for i in range(n):
        value = phones[i]
        if value is None:
            continue
        if phone_missing[i]:
            phones[i] = None
            continue
        if phone_other[i]:
            value = errs.other_mobile(value, py)
        value = errs.format_phone(value, styles[i])
        phones[i] = errs.full_width(value) if fullwidth[i] else value

    # --- addresses: stale rows show a room the person no longer lives in
    stale = _flag(rng, n, rates.address_stale, rows["person_id"].is_not_null().to_numpy())
    pool = street.rooms[rng.integers(0, street.rooms.height, size=n)]
    s = pl.Series(stale)
    work = rows.with_columns(
        **{f"a_{k}": pl.when(s).then(pool[src]).otherwise(pl.col(src)) for k, src in (
            ("compound", "compound"), ("road", "road"), ("road_no", "road_no"), ("building", "building_no"),
            ("unit", "unit_no"), ("room", "room_no"))},
    ).with_columns(
        _a_style=pl.Series(_pick(rng, rates.address_styles, n), dtype=pl.String),
        _a_prefix=pl.Series(_pick(rng, rates.address_prefixes, n), dtype=pl.String),
        _d_style=pl.Series(_pick(rng, rates.date_styles or {"iso": 1.0}, n), dtype=pl.String),
        _x_style=pl.Series(_pick(rng, rates.sex_styles, n), dtype=pl.String),
    )
    address_missing = _flag(rng, n, rates.address_missing)
    birth_missing = _flag(rng, n, rates.birth_missing)
    sex_missing = _flag(rng, n, rates.sex_missing)
    work = work.with_columns(
        _name=pl.Series(names, dtype=pl.String),
        _id=pl.Series(ids, dtype=pl.String),
        _id_status=pl.Series(status.astype(str), dtype=pl.String),
        _phone=pl.Series(phones, dtype=pl.String),
        _address=pl.when(pl.Series(address_missing)).then(None).otherwise(
            _address_expr(pl.col("_a_style"), pl.col("_a_prefix"))),
        _birth=pl.when(pl.Series(birth_missing)).then(None).otherwise(_date_expr("birth", pl.col("_d_style"))),
        _sex=pl.when(pl.Series(sex_missing)).then(None).when(pl.col("_x_style") == "code").then(
            pl.col("sex").replace_strict({"M": "1", "F": "2"}, default=None)).otherwise(
            pl.col("sex").replace_strict({"M": "男", "F": "女"}, default=None)),
    ).with_columns(_seq=(pl.int_range(pl.len()).over("sheet") + 1).cast(pl.String))
    if finish is not None:
        work = finish(work)

    # --- truth and conflicts
    error_flags: list[tuple[str, Any]] = [
        ("id_" + k, pl.col("_id_status") == k) for k in (*kinds, errs.ID_LEGACY15, errs.ID_FULLWIDTH)
    ] + [
        (code, pl.Series(name_err == code)) for code in ("name_variant", "name_traditional", "name_space")
    ] + [
        ("birth_missing", pl.Series(birth_missing)), ("sex_missing", pl.Series(sex_missing)),
        ("phone_missing", pl.Series(phone_missing)), ("phone_other", pl.Series(phone_other)),
        ("address_missing", pl.Series(address_missing)), ("address_stale", pl.Series(stale)),
    ]
    work = work.with_columns(
        _errors=pl.concat_str([pl.when(flag).then(pl.lit(code)) for code, flag in error_flags],
                              separator=",", ignore_nulls=True),
        _sheet=pl.when(pl.lit(layout.format == "xlsx")).then(pl.col("sheet")).otherwise(None),
    )
    truth = work.select(
        source=pl.lit(layout.code), sheet=pl.col("_sheet"), row_number=pl.col("_seq").cast(pl.Int64),
        person_id=pl.col("person_id"), entity=pl.col("entity"), in_registry=pl.col("person_id").is_not_null(),
        id_status=pl.col("_id_status"), errors=pl.col("_errors"), duplicate=pl.col("duplicate"),
    )
    registry_address = pl.concat_str([pl.col("compound"), pl.col("building_no").cast(pl.String), pl.lit("幢"),
                                      pl.col("unit_no").cast(pl.String), pl.lit("单元"), pl.col("room_no"),
                                      pl.lit("室")])
    conflict_parts = [
        work.filter(pl.col("conflict_field").is_not_null()).select(
            "_sheet", "_seq", "person_id", "entity", field="conflict_field", source_value="conflict_value",
            registry_value="registry_value"),
        work.filter(pl.Series(phone_other)).select(
            "_sheet", "_seq", "person_id", "entity", field=pl.lit("phone"), source_value="_phone",
            registry_value="phone"),
        work.filter(pl.Series(stale & ~address_missing)).select(
            "_sheet", "_seq", "person_id", "entity", field=pl.lit("address"), source_value="_address",
            registry_value=registry_address),
    ]
    conflicts = pl.concat(conflict_parts).filter(pl.col("person_id").is_not_null()).select(
        source=pl.lit(layout.code), sheet=pl.col("_sheet"), row_number=pl.col("_seq").cast(pl.Int64),
        person_id="person_id", entity="entity", field="field", source_value="source_value",
        registry_value="registry_value",
    )

    # --- the file's columns
    def column(header: str, source: str) -> pl.Expr:
        internal = {"@name": "_name", "@id": "_id", "@birth": "_birth", "@sex": "_sex", "@phone": "_phone",
                    "@address": "_address", "@seq": "_seq"}.get(source, source)
        return pl.col(internal).cast(pl.String).alias(header)

    out = work.select("sheet", *[column(h, s) for h, s in layout.columns])
    if layout.format == "xlsx":
        frames = {name: part.drop("sheet") for (name,), part in out.partition_by("sheet", as_dict=True,
                                                                                 maintain_order=True).items()}
    else:
        frames = {"": out.drop("sheet")}
    return _Rendered(frames, truth, conflicts)
