"""Comparison levels of candidate pairs and their Fellegi–Sunter-like scores."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

import polars as pl
from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.process import cpdist

from linli.fusion.match.keys import char_syllable_of


@dataclass(frozen=True)
class Weights:
    """Log-odds-like weights per comparison level; a pair's score is their sum."""

    # ``close``: one given-name character read nearly alike (Chinese), or a Latin-script name
    # one slip apart (Jaro–Winkler ≥ 0.94); ``similar``: a Latin name 0.88–0.94 alike.
    name: Mapping[str, float] = field(default_factory=lambda: {
        "exact": 7.0, "homophone": 6.0, "fuzzy": 1.0, "close": 2.0, "similar": -2.0, "missing": 0.0,
        "different": -8.0})
    # ``year_month`` / ``year``: one side states only its year and month, or its year
    # (出生年月), and they agree; ``partial_different``: they do not.
    birth: Mapping[str, float] = field(default_factory=lambda: {
        "exact": 6.0, "swapped": 2.0, "one_digit": 2.0, "year_month": 4.0, "year": 1.5, "missing": 0.0,
        "partial_different": -5.0, "different": -7.0})
    sex: Mapping[str, float] = field(default_factory=lambda: {"same": 1.0, "missing": 0.0, "different": -4.0})
    address: Mapping[str, float] = field(default_factory=lambda: {
        "room": 4.0, "room_no_compound": 2.0, "building": 1.0, "missing": 0.0, "different": -1.0})
    # People keep several numbers (and shops list the shop's): a different phone says little.
    phone: Mapping[str, float] = field(default_factory=lambda: {"same": 5.0, "missing": 0.0, "different": 0.0})
    id: Mapping[str, float] = field(default_factory=lambda: {
        "exact": 15.0, "typo": 8.0, "missing": 0.0, "different": -10.0})


@dataclass(frozen=True)
class Thresholds:
    """Score cut-offs: ``same`` links, ``review`` queues; a runner-up within ``margin`` of a
    linking best candidate sends the record to review too.
    """

    same: float = 11.0
    review: float = 7.0
    margin: float = 3.0



_LEVELS: Final = ("name", "birth", "sex", "address", "phone", "id")


# --- comparisons ---------------------------------------------------------------------------------


def _levels(pairs: pl.DataFrame, *, record_record: bool) -> pl.DataFrame:
    """Comparison levels of scored pairs; columns ``l_*`` and ``r_*`` hold both sides."""
    l, r = pl.col, pl.col  # noqa: E741 - reads as left/right below
    name = (
        pl.when(l("l_name").is_null() | r("r_name").is_null()).then(pl.lit("missing"))
        .when(l("l_name") == r("r_name")).then(pl.lit("exact"))
        .when(l("l__py") == r("r__py")).then(pl.lit("homophone"))
        .when(l("l__fz") == r("r__fz")).then(pl.lit("fuzzy"))
        .otherwise(pl.lit("different"))
    )
    hamming = pl.sum_horizontal(
        [(l("l__bstr").str.slice(i, 1) != r("r__bstr").str.slice(i, 1)).cast(pl.Int8) for i in range(8)]
    )
    swapped = (l("l__year") == r("r__year")) & (
        l("l__bstr").str.slice(4, 2) == r("r__bstr").str.slice(6, 2)) & (
        l("l__bstr").str.slice(6, 2) == r("r__bstr").str.slice(4, 2))
    # A birth date read from an ID whose check digit fails is evidence when it agrees, never
    # a contradiction when it does not (the slip may be in the birth digits).
    soft = l("l__bsoft").fill_null(value=False)
    if "r__bsoft" in pairs.columns:
        soft = soft | r("r__bsoft").fill_null(value=False)
    # A side whose year-month comes from a birth read off an ID failing its check digit.
    soft_full = l("l__bsoft").fill_null(value=False) & l("l__birth").is_not_null()
    if "r__bsoft" in pairs.columns:
        soft_full = soft_full | (r("r__bsoft").fill_null(value=False) & r("r__birth").is_not_null())
    # Partial births (``_ym``: YYYYMM or YYYY) compared on what both sides state.
    shortest = pl.min_horizontal(l("l__ym").str.len_chars(), r("r__ym").str.len_chars())
    partial = (
        pl.when(l("l__ym").is_null() | r("r__ym").is_null()).then(pl.lit("missing"))
        .when(l("l__ym").str.slice(0, shortest) == r("r__ym").str.slice(0, shortest)).then(
            pl.when(shortest >= 6).then(pl.lit("year_month")).otherwise(pl.lit("year")))
        .when(soft_full).then(pl.lit("missing"))
        .otherwise(pl.lit("partial_different"))
    )
    birth = (
        pl.when(l("l__birth").is_null() | r("r__birth").is_null()).then(partial)
        .when(l("l__birth") == r("r__birth")).then(pl.lit("exact"))
        .when(swapped).then(pl.lit("swapped"))
        .when(hamming == 1).then(pl.lit("one_digit"))
        .when(soft).then(pl.lit("missing"))
        .otherwise(pl.lit("different"))
    )
    sex = (
        pl.when(l("l_sex").is_null() | r("r_sex").is_null()).then(pl.lit("missing"))
        .when(l("l_sex") == r("r_sex")).then(pl.lit("same"))
        .otherwise(pl.lit("different"))
    )
    same_room = (l("l_unit") == r("r_unit")) & (l("l_room") == r("r_room"))
    address = (
        pl.when(l("l_building_key").is_not_null() & (l("l_building_key") == r("r_building_key"))).then(
            pl.when(same_room).then(pl.lit("room")).otherwise(pl.lit("building")))
        .when(l("l_building_key").is_null() & r("r_building_key").is_null() & l("l_room").is_null())
        .then(pl.lit("missing"))
        .when((l("l_building_key").is_null() | r("r_building_key").is_null()) & same_room.fill_null(value=False))
        .then(pl.lit("room_no_compound"))
        .when(l("l_building_key").is_null() | r("r_building_key").is_null()).then(pl.lit("missing"))
        .otherwise(pl.lit("different"))
    )
    phone = (
        pl.when(l("l__phone").is_null() | r("r__phone").is_null()).then(pl.lit("missing"))
        .when(l("l__phone") == r("r__phone")).then(pl.lit("same"))
        .otherwise(pl.lit("different"))
    )
    columns = [name.alias("name"), birth.alias("birth"), sex.alias("sex"), address.alias("address"),
               phone.alias("phone")]
    if record_record:
        both_valid = l("l_id_valid") & r("r_id_valid")
        id_level = (
            pl.when(l("l_id_number").is_null() | r("r_id_number").is_null()).then(pl.lit("missing"))
            .when(l("l_id_number") == r("r_id_number")).then(pl.lit("exact"))
            .when(both_valid).then(pl.lit("different"))
            .otherwise(pl.lit("?"))
        )
        columns.append(id_level.alias("id"))
    return graded_addresses(graded_names(pairs.with_columns(columns)))


def graded_addresses(pairs: pl.DataFrame) -> pl.DataFrame:
    """Building keys the exact comparison calls ``different`` that name the same numbers and a
    place one slip apart (``temperley s treet|20`` / ``temperley street|20``): the same
    building, ``room`` when unit and room agree too (once per distinct pair of keys)."""
    differ = pairs["address"] == "different"
    if not differ.any():
        return pairs
    # Only keys whose digits agree can be alike: filtered here, not in a Python call per pair.
    digits = [pl.col(c).str.replace_all(r"\D", "") for c in ("l_building_key", "r_building_key")]
    keys = pairs.filter(differ).select("l_building_key", "r_building_key").unique().filter(digits[0] == digits[1])
    alike = pl.Series([same_building(a, b) for a, b in keys.iter_rows()], dtype=pl.Boolean)
    graded = keys.with_columns(alike.alias("_alike"))
    joined = pairs.select("l_building_key", "r_building_key").join(
        graded, on=["l_building_key", "r_building_key"], how="left", maintain_order="left")["_alike"]
    same_room = ((pl.col("l_unit") == pl.col("r_unit")) & (pl.col("l_room") == pl.col("r_room"))).fill_null(
        value=False)
    return pairs.with_columns(
        pl.when(differ & joined.fill_null(value=False))
        .then(pl.when(same_room).then(pl.lit("room")).otherwise(pl.lit("building")))
        .otherwise(pl.col("address")).alias("address"))


_DIGITS: Final = re.compile(r"\d+")


@lru_cache(maxsize=1 << 18)
def same_building(a: str, b: str) -> bool:
    """Two building keys with the same numbers in the same order whose words, spaces left
    out, are Jaro–Winkler ≥ 0.9 alike: a typo in the street or compound name. A different
    door or building number is never the same building."""
    if _DIGITS.findall(a) != _DIGITS.findall(b):
        return False
    left, right = (_DIGITS.sub("", x).replace(" ", "") for x in (a, b))
    return len(left) >= 4 and JaroWinkler.normalized_similarity(left, right) >= 0.9


def graded_names(pairs: pl.DataFrame) -> pl.DataFrame:
    """Names the equal/homophone/fuzzy levels call ``different``, graded ``close`` /
    ``similar`` / ``different`` by :func:`name_grade` (once per distinct pair of names)."""
    differ = pairs["name"] == "different"
    if not differ.any():
        return pairs
    names = pairs.filter(differ).select("l_name", "r_name").unique()
    grades = pl.Series([name_grade(a, b) for a, b in names.iter_rows()], dtype=pl.String)
    graded = names.with_columns(grades.alias("_grade"))
    joined = pairs.select("l_name", "r_name").join(graded, on=["l_name", "r_name"], how="left",
                                                   maintain_order="left")["_grade"]
    return pairs.with_columns(pl.when(differ).then(joined).otherwise(pl.col("name")).alias("name"))


_CJK: Final = re.compile(r"[\u3400-\u9fff]")


@lru_cache(maxsize=1 << 18)
def name_grade(a: str, b: str) -> str:
    """``close``, ``similar`` or ``different`` for two names that are neither equal nor
    homophones. Chinese: same length, one given-name character whose syllable is one edit
    from the other's (雨欣/雨新 xin/xin is a homophone already; 子扬/子燕 yang/yan is close;
    子扬/子涵 yang/han stays different: twins). Latin script: Jaro–Winkler of the lower-case
    letters (FEBRL-style typos, foreign residents' transliterations), the given name and
    surname also tried swapped."""
    if _CJK.search(a) or _CJK.search(b):
        if len(a) != len(b) or len(a) < 2 or a[0] != b[0]:
            return "different"
        differing = [i for i in range(len(a)) if a[i] != b[i]]
        if len(differing) != 1:
            return "different"
        i = differing[0]
        return "close" if OSA.distance(char_syllable_of(a[i]), char_syllable_of(b[i])) <= 1 else "different"
    left, right = a.lower(), b.lower()
    similarity = JaroWinkler.normalized_similarity(left, right)
    if similarity >= 0.94 or _swapped_parts(left, right) >= 0.94:
        return "close"
    shorter, longer = sorted((left, right), key=len)
    # One part of the name left out (surname only: "gibb" / "laurengibb").
    contained = len(shorter) >= 4 and (longer.startswith(shorter) or longer.endswith(shorter))
    return "similar" if similarity >= 0.88 or contained else "different"


def _swapped_parts(left: str, right: str) -> float:
    """Jaro–Winkler of ``right`` with ``left``'s given name and surname swapped, at the split
    that fits best ("robbielowe" / "lowerobbie"): names arrive without their separator, so
    every split leaving two letters or more on each side is tried (a swap is a rotation)."""
    if abs(len(left) - len(right)) > 2 or len(left) < 5:
        return 0.0
    return max((JaroWinkler.normalized_similarity(left[k:] + left[:k], right) for k in range(2, len(left) - 1)),
               default=0.0)


# Excel keeps 15 significant digits: an 18-digit ID stored as a number is off by < 1000.
_EXCEL_SLACK: Final = 100  # compared on the first 17 digits


def _id_distance_level(a: str | None, b: str | None) -> str:
    """``exact``, ``typo`` (two slips at most, or the tail Excel lost storing the ID as a
    number), ``different`` or ``missing``.
    """
    if not a or not b:
        return "missing"
    if a == b:
        return "exact"
    if OSA.distance(a, b) <= 2:
        return "typo"
    if a[:-1].isdigit() and b[:-1].isdigit() and abs(int(a[:-1]) - int(b[:-1])) <= _EXCEL_SLACK:
        return "typo"
    return "different"


def id_distance_levels(left: pl.Series, right: pl.Series) -> pl.Series:
    """:func:`_id_distance_level` of every pair of cells: edit distances in RapidFuzz's
    batch call, the Excel tail as integers; pairs with non-ASCII text (never seen in
    cleaned IDs) take the reference function."""
    frame = pl.DataFrame({"a": left.cast(pl.String), "b": right.cast(pl.String)})
    a, b = pl.col("a"), pl.col("b")
    missing = a.is_null() | (a == "") | b.is_null() | (b == "")
    odd = ~missing & ((a.str.len_bytes() != a.str.len_chars()) | (b.str.len_bytes() != b.str.len_chars()))
    frame = frame.with_columns(missing=missing, odd=odd, differ=~missing & ~odd & (a != b))
    differ = frame.filter(pl.col("differ"))
    near = cpdist(differ["a"].to_list(), differ["b"].to_list(), scorer=OSA.distance, workers=1) <= 2

    def digits(e: pl.Expr) -> pl.Expr:  # 1 to 18 ASCII digits (what int() reads and Int64 holds)
        return e.str.len_chars().is_between(1, 18) & (e.str.strip_chars("0123456789") == "")

    head_a, head_b = a.str.head(-1), b.str.head(-1)
    excel = differ.select(
        digits(head_a) & digits(head_b)
        & ((head_a.cast(pl.Int64, strict=False) - head_b.cast(pl.Int64, strict=False)).abs() <= _EXCEL_SLACK)
    )["a"].fill_null(value=False)
    typo = pl.Series(near, dtype=pl.Boolean) | excel
    levels = frame.select(pl.when(pl.col("missing")).then(pl.lit("missing")).when(pl.col("differ"))
                          .then(pl.lit("?")).when(pl.col("odd")).then(pl.lit("!")).otherwise(pl.lit("exact")).alias("l"))["l"]
    if differ.height:
        levels = levels.scatter(frame["differ"].arg_true(),
                                pl.Series(typo).replace_strict({True: "typo", False: "different"}, return_dtype=pl.String))
    if frame["odd"].any():
        at = frame["odd"].arg_true()
        rest = frame.filter(pl.col("odd"))
        levels = levels.scatter(at, [_id_distance_level(x, y) for x, y in rest.select("a", "b").iter_rows()])
    return levels.alias("id")


def _score(pairs: pl.DataFrame, weights: Weights) -> pl.DataFrame:
    parts = []
    for column in ("name", "birth", "sex", "address", "phone", "id"):
        table: Mapping[str, float] = getattr(weights, column)
        parts.append(pl.col(column).replace_strict(dict(table), default=0.0, return_dtype=pl.Float64))
    return pairs.with_columns(pl.sum_horizontal(parts).alias("score"))


