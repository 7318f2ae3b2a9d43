"""Match keys: registry key columns, name keys read character by character, blind indexes."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Final

import polars as pl
from pypinyin import Style, lazy_pinyin
from rapidfuzz.distance import JaroWinkler

from linli.fusion.normalise import building_key, map_distinct

REGISTRY_SCHEMA: Final[dict[str, pl.DataType]] = {
    "person_id": pl.Int64(), "id_bidx": pl.String(), "name": pl.String(), "name_pinyin": pl.String(),
    "initials": pl.String(), "birth_date": pl.Date(), "sex": pl.String(), "phone_bidx": pl.String(),
    "building_key": pl.String(), "unit": pl.String(), "room": pl.String(), "id_hint": pl.String(),
}
RECORD_COLUMNS: Final = ("name", "id_number", "id_valid", "birth_date", "sex", "phone", "building_key", "unit", "room",
                          "birth_year_month")

# Field names bound into the blind index (same strings as linli.registry.text).
PII_ID_NUMBER: Final = "person.id_number"
PII_PHONE: Final = "person.phone"

BlindIndex = Callable[[str, str], str]
DecryptId = Callable[[int], "str | None"]


# --- name keys ---------------------------------------------------------------------------------

# 模糊音: the confusions of southern speakers and pinyin input (zh/z, ch/c, sh/s, -ng/-n, l/n, h/f).
_FUZZY_INITIALS: Final = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("h", "f"))


@lru_cache(maxsize=65536)
def _char_pinyin(char: str) -> str:
    syllable = lazy_pinyin(char, style=Style.NORMAL, errors="default")[0].lower()
    return "".join(c for c in syllable if c.isalnum())


def char_syllable_of(char: str) -> str:
    """The toneless pinyin of one character (the character itself when it has none)."""
    return _char_pinyin(char) or char


@lru_cache(maxsize=65536)
def _fuzzy_syllable(syllable: str) -> str:
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long):]
            break
    return syllable.removesuffix("g") if syllable.endswith("ng") else syllable


@lru_cache(maxsize=1 << 18)  # a district's distinct names: registry and exports share most
def name_match_keys(name: str) -> tuple[str, str, str]:
    """``(pinyin, fuzzy pinyin, surname pinyin)`` read character by character.

    Per character (not per phrase) so both sides of a comparison always agree; separators
    between syllables keep ``xi'an`` apart from ``xian``.
    """
    syllables = [_char_pinyin(c) for c in name if c != "·"]
    syllables = [s for s in syllables if s]
    return (
        "'".join(syllables),
        "'".join(_fuzzy_syllable(s) for s in syllables),
        syllables[0] if syllables else "",
    )


def _with_name_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """``_py``, ``_fz``, ``_sur`` of the ``name`` column, read once per distinct name."""
    distinct = frame["name"].drop_nulls().unique()
    names = distinct.filter(distinct != "").to_list()
    keys = [name_match_keys(name) for name in names]
    lookup = pl.DataFrame({
        "name": pl.Series(names, dtype=pl.String),
        "_py": pl.Series([k[0] or None for k in keys], dtype=pl.String),
        "_fz": pl.Series([k[1] or None for k in keys], dtype=pl.String),
        "_sur": pl.Series([k[2] or None for k in keys], dtype=pl.String),
    })
    return frame.join(lookup, on="name", how="left", maintain_order="left")


def _birth_columns(birth: pl.Expr) -> list[pl.Expr]:
    return [birth.alias("_birth"), birth.dt.year().alias("_year"), birth.dt.strftime("%Y%m%d").alias("_bstr")]


def id_hint(id_number: pl.Expr) -> pl.Expr:
    """First 4 + last 4 characters of an ID: what ``Person.id_number_masked`` shows in clear."""
    return pl.when(id_number.str.len_chars() == 18).then(
        pl.concat_str(id_number.str.slice(0, 4), id_number.str.slice(14, 4)))


def _default_blind(value: str, field_name: str) -> str:
    from linli.core.pii import blind_index  # needs settings; only when the caller gives none

    return blind_index(value, field=field_name)


def blind_series(values: pl.Series, field_name: str, blind: BlindIndex | None) -> pl.Series:
    """The blind index of every non-empty cell (null otherwise), computed once per distinct
    value; without ``blind``, :func:`linli.core.pii.blind_index_many` (key prepared once)."""
    distinct = values.cast(pl.String).drop_nulls().unique()
    texts = distinct.filter(distinct != "").to_list()
    if blind is None:
        from linli.core.pii import (
            blind_index_many,  # needs settings; only when the caller gives none
        )

        hashes = blind_index_many(texts, field=field_name)
    else:
        hashes = [blind(v, field_name) for v in texts]
    return values.cast(pl.String).replace_strict(texts, hashes, default=None, return_dtype=pl.String)


def registry_keys(people: pl.DataFrame, *, blind: BlindIndex | None = None) -> pl.DataFrame:
    """Registry keys from plaintext person rows (the demo's registry, fixtures, benchmarks).

    Reads person_id, name, id_number, birth_date, sex, phone and either ``building_key`` or
    ``compound`` + ``building_no``, plus unit and room; IDs and phones become blind indexes.
    """
    frame = people
    if "compound" in frame.columns and "building_no" in frame.columns:
        pairs = frame.select(pl.col("compound").cast(pl.String), pl.col("building_no").cast(pl.String))
        keys = map_distinct(
            pairs.select(pl.concat_str("compound", pl.lit("\x00"), "building_no").alias("k"))["k"],
            lambda k: building_key(*k.split("\x00")) if k else None, pl.String())
        frame = frame.with_columns(keys.alias("building_key"))
    id_bidx = blind_series(frame["id_number"], PII_ID_NUMBER, blind)
    phone_bidx = blind_series(frame["phone"], PII_PHONE, blind)
    return frame.with_columns(
        id_bidx.alias("id_bidx"), phone_bidx.alias("phone_bidx"), id_hint(pl.col("id_number")).alias("id_hint"),
        pl.col("unit").cast(pl.String), pl.col("room").cast(pl.String),
    ).select([c for c in REGISTRY_SCHEMA if c in frame.columns or c in ("id_bidx", "phone_bidx", "id_hint")])



def pinyin_similarity(a: str, b: str) -> float:
    """Jaro–Winkler similarity of two names' pinyin (reported as evidence, 0–1)."""
    return float(JaroWinkler.normalized_similarity(name_match_keys(a)[0], name_match_keys(b)[0]))


