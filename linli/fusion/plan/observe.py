"""The fused-field values of an import's rows as one long frame (row × field), and the
registry state they are compared with, loaded in bulk (``COPY … TO STDOUT`` on PostgreSQL).

The row-by-row :func:`linli.fusion.pipeline.observations_of` states the same values one row
at a time (review decisions and splits re-fuse a handful of stored rows with it).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import polars as pl
from django.db import connection

from linli.core import pii
from linli.fusion.models import FieldProvenance
from linli.fusion.pipeline import CHUNK, hukou_status
from linli.registry.models import Person
from linli.registry.text import PII_ID_NUMBER, PII_PHONE

# The order in which a row states its fields (that of ``observations_of``).
FIELD_ORDER: Final[tuple[str, ...]] = (
    "name", "id_number", "hukou", "birth_date", "sex", "ethnicity", "deceased_on", "phone", "is_deceased",
    "disability_grade", "residence", "address",
)
OBS_SCHEMA: Final[dict[str, Any]] = {"pos": pl.Int64, "field": pl.String, "value": pl.String, "plain": pl.String,
                     "masked": pl.String}


def column(frame: pl.DataFrame, name: str, dtype: Any = pl.String) -> pl.Expr:
    """A column of the normalised frame, or nulls when the source does not map that field."""
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype)


# Fields a source may not map: null columns then, so every expression has the frame's length.
OPTIONAL_COLUMNS: Final = {
    "name": pl.String, "id_number": pl.String, "id_valid": pl.Boolean, "phone": pl.String, "is_deceased": pl.Boolean,
    "deceased_on": pl.Date, "birth_date": pl.Date, "building_key": pl.String, "unit": pl.String, "room": pl.String,
    "address_norm": pl.String, "valid_from": pl.Date, "valid_to": pl.Date, "disability_grade": pl.Int64,
}


def with_optional(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.with_columns([pl.lit(None, dtype).alias(name) for name, dtype in OPTIONAL_COLUMNS.items()
                              if name not in rows.columns])


def _filled(frame: pl.DataFrame, name: str) -> pl.Expr:
    expr = column(frame, name)
    return expr.is_not_null() & (expr.cast(pl.String) != "")


def _pii_part(rows: pl.DataFrame, name: str, keep: pl.Expr, bound: str) -> pl.DataFrame:
    """Blind index and mask per *distinct* value (an HMAC per value, not per row)."""
    part = rows.filter(keep).select("pos", pl.col(name).alias("plain"))
    distinct = part["plain"].unique().to_list()
    mask = pii.mask_id_number if name == "id_number" else pii.mask_phone
    keys = pl.DataFrame({"plain": pl.Series(distinct, dtype=pl.String),
                         "value": pl.Series(pii.blind_index_many(distinct, field=bound), dtype=pl.String),
                         "masked": pl.Series([mask(v) for v in distinct], dtype=pl.String)})
    return part.join(keys, on="plain", how="left").select(
        "pos", pl.lit(name).alias("field"), "value", "plain", "masked")


def _plain_part(rows: pl.DataFrame, name: str, value: pl.Expr, keep: pl.Expr) -> pl.DataFrame:
    return rows.filter(keep).select(
        "pos", pl.lit(name).alias("field"), value.alias("value"), value.alias("plain"), pl.lit("").alias("masked"))


def rooms_frame(rooms: Mapping[tuple[str, str, str], tuple[int, int, int]]) -> pl.DataFrame:
    keys = list(rooms)
    return pl.DataFrame({
        "bk": pl.Series([k[0] for k in keys], dtype=pl.String), "un": pl.Series([k[1] for k in keys], dtype=pl.String),
        "rm": pl.Series([k[2] for k in keys], dtype=pl.String),
        "room_id": pl.Series([v[0] for v in rooms.values()], dtype=pl.Int64),
    })


def observation_frame(rows: pl.DataFrame, rooms: Mapping[tuple[str, str, str], tuple[int, int, int]]) -> pl.DataFrame:
    """``pos, field, value, plain, masked``: every value the rows state, as
    ``observations_of`` would (``value`` the comparison key — a blind index for PII;
    ``plain`` the registry value as text; ``masked`` what staff see)."""
    rows = with_optional(rows)
    parts = [_plain_part(rows, "name", column(rows, "name"), _filled(rows, "name"))]
    id_ok = _filled(rows, "id_number") & column(rows, "id_valid", pl.Boolean).fill_null(value=False)
    parts.append(_pii_part(rows, "id_number", id_ok, PII_ID_NUMBER))
    if "hukou" in rows.columns:
        distinct = rows["hukou"].drop_nulls().unique().to_list()
        statuses = {v: hukou_status(v) for v in distinct}
        hukou = pl.col("hukou").replace_strict(statuses, default=None, return_dtype=pl.String)
        parts.append(_plain_part(rows, "hukou", hukou, hukou.is_not_null() & (hukou != "")))
    for name in ("birth_date", "sex", "ethnicity", "deceased_on"):
        if name in rows.columns:
            text = pl.col(name).cast(pl.String)
            parts.append(_plain_part(rows, name, text, text.is_not_null() & (text != "")))
    parts.append(_pii_part(rows, "phone", _filled(rows, "phone"), PII_PHONE))
    deceased = column(rows, "is_deceased", pl.Boolean).cast(pl.Boolean)
    deceased = pl.when(deceased.is_null() & column(rows, "deceased_on", pl.Date).is_not_null()).then(
        pl.lit(value=True)).otherwise(deceased)
    deceased_text = pl.when(deceased).then(pl.lit("1")).when(deceased.not_()).then(pl.lit("0"))
    parts.append(_plain_part(rows, "is_deceased", deceased_text, deceased.is_not_null()))
    if "disability_grade" in rows.columns:
        grade = pl.col("disability_grade").cast(pl.String)
        parts.append(_plain_part(rows, "disability_grade", grade, pl.col("disability_grade").is_not_null()))
    parts.extend(_residence_part(rows, rooms))
    return pl.concat([p.cast(OBS_SCHEMA) for p in parts if p.height], how="vertical") if any(  # type: ignore[arg-type]
        p.height for p in parts) else pl.DataFrame(schema=OBS_SCHEMA)


def _residence_part(rows: pl.DataFrame,
                    rooms: Mapping[tuple[str, str, str], tuple[int, int, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The room a row's address resolves to: (building, unit, room), else (building, room)
    when that room number is unique in its building; and, for an address that finds no
    room, the normalised address itself (field ``address``)."""
    known = rooms_frame(rooms)
    keyed = rows.select(
        "pos", column(rows, "building_key").fill_null("").alias("bk"), column(rows, "unit").fill_null("").alias("un"),
        column(rows, "room").fill_null("").alias("rm"), column(rows, "address_norm").fill_null("").alias("masked"),
    ).filter(pl.col("bk") != "")
    exact = keyed.join(known, on=["bk", "un", "rm"], how="left")
    loose = known.filter(pl.col("un") == "").select("bk", "rm", pl.col("room_id").alias("loose_id"))
    resolved = exact.join(loose, on=["bk", "rm"], how="left").with_columns(
        pl.coalesce(pl.col("room_id"), pl.when(pl.col("rm") != "").then(pl.col("loose_id"))).alias("room_id"),
    ).filter(pl.col("room_id").is_not_null())
    text = pl.concat_str(pl.lit("room:"), pl.col("room_id").cast(pl.String))
    residence = resolved.select("pos", pl.lit("residence").alias("field"), text.alias("value"),
                                pl.col("room_id").cast(pl.String).alias("plain"), "masked")
    norm = column(rows, "address_norm").str.slice(0, 300)
    unplaced = rows.select("pos", norm.alias("value")).filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
    unplaced = unplaced.join(resolved.select("pos"), on="pos", how="anti")
    address = unplaced.select("pos", pl.lit("address").alias("field"), "value", pl.col("value").alias("plain"),
                              pl.col("value").alias("masked"))
    return residence, address


# --- registry state --------------------------------------------------------------------


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(value: datetime) -> int:
    """Microseconds since the epoch, exactly (how the frames compare times)."""
    return (value - _EPOCH) // timedelta(microseconds=1)


def _copy_out(query: str, schema: Mapping[str, Any]) -> pl.DataFrame:
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
        for data in copy:
            buffer.write(data)
    if not buffer.getbuffer().nbytes:
        return pl.DataFrame(schema=dict(schema))
    buffer.seek(0)
    return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=dict(schema))


def _id_array(ids: Sequence[int]) -> str:
    # Integers only (from the matcher), inlined: COPY takes no parameters.
    return "ANY('{" + ",".join(str(int(i)) for i in ids) + "}'::bigint[])"


PERSON_SCHEMA: Final = {
    "person": pl.Int64, "name": pl.String, "id_number_bidx": pl.String, "birth_date": pl.String, "sex": pl.String,
    "phone_bidx": pl.String, "hukou": pl.String, "ethnicity": pl.String, "room_id": pl.Int64,
    "is_deceased": pl.Int64, "deceased_on": pl.String, "updated_us": pl.Int64, "id_number_masked": pl.String,
    "phone_masked": pl.String, "grid_id": pl.Int64,
}
WINNER_SCHEMA: Final = {
    "person": pl.Int64, "field": pl.String, "w": pl.String, "q": pl.Int64, "wt": pl.Int64, "wprov": pl.Int64,
    "ws": pl.Int64, "wmasked": pl.String,
}


def load_persons(ids: Sequence[int]) -> pl.DataFrame:
    """The registry columns the merge compares with (dates as ISO text)."""
    if not ids:
        return pl.DataFrame(schema=PERSON_SCHEMA)
    if connection.vendor == "postgresql":
        table = Person._meta.db_table
        columns = ("id, name, id_number_bidx, birth_date, sex, phone_bidx, hukou, ethnicity, room_id, is_deceased::int, "
                   "deceased_on, (extract(epoch from updated_at) * 1000000)::bigint, id_number_masked, phone_masked, grid_id")
        query = f"SELECT {columns} FROM {table} WHERE id = {_id_array(ids)}"  # noqa: S608 -- table from model meta, integer ids
        return _copy_out(query, PERSON_SCHEMA)
    rows: list[tuple[Any, ...]] = []
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        rows.extend(
            (r[0], r[1], r[2], r[3].isoformat() if r[3] else None, r[4], r[5], r[6], r[7], r[8], int(r[9]),
             r[10].isoformat() if r[10] else None, epoch_us(r[11]), r[12], r[13], r[14])
            for r in Person.objects.filter(pk__in=ordered[start:start + CHUNK]).values_list(
                "id", "name", "id_number_bidx", "birth_date", "sex", "phone_bidx", "hukou", "ethnicity", "room_id",
                "is_deceased", "deceased_on", "updated_at", "id_number_masked", "phone_masked", "grid_id"))
    return pl.DataFrame(rows, schema=PERSON_SCHEMA, orient="row")


def load_winners(ids: Sequence[int]) -> pl.DataFrame:
    """The current winning provenance row of every (person, field) of ``ids``."""
    if not ids:
        return pl.DataFrame(schema=WINNER_SCHEMA)
    if connection.vendor == "postgresql":
        table = FieldProvenance._meta.db_table
        columns = ("person_id, field, value, precedence, (extract(epoch from observed_at) * 1000000)::bigint, id, "
                   "source_id, value_masked")
        query = f"SELECT {columns} FROM {table} WHERE won AND person_id = {_id_array(ids)}"  # noqa: S608 -- as above
        found = _copy_out(query, WINNER_SCHEMA)
    else:
        rows: list[tuple[Any, ...]] = []
        ordered = sorted(ids)
        for start in range(0, len(ordered), CHUNK):
            rows.extend(
                (r[0], r[1], r[2], r[3], epoch_us(r[4]), r[5], r[6], r[7])
                for r in FieldProvenance.objects.filter(person_id__in=ordered[start:start + CHUNK], won=True)
                .values_list("person_id", "field", "value", "precedence", "observed_at", "id", "source_id",
                             "value_masked"))
        found = pl.DataFrame(rows, schema=WINNER_SCHEMA, orient="row")
    # One winner per (person, field); should there be two, the later row counts (as before).
    return found.sort("wprov").unique(["person", "field"], keep="last")


def baseline_frame(persons: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """``person, field, w, wmasked, wt`` for ``pairs`` (person, field): the registry's own
    value of a field no source has stated yet (``disability_grade`` has none: it lives on
    the tag)."""
    def text(name: str) -> pl.Expr:
        return pl.col(name).fill_null("")

    values = {
        "name": text("name"), "id_number": text("id_number_bidx"), "phone": text("phone_bidx"),
        "residence": pl.when(pl.col("room_id").is_not_null()).then(
            pl.concat_str(pl.lit("room:"), pl.col("room_id").cast(pl.String))).otherwise(pl.lit("")),
        "is_deceased": pl.when(pl.col("is_deceased") == 1).then(pl.lit("1")).otherwise(pl.lit("")),
        "birth_date": text("birth_date"), "deceased_on": text("deceased_on"), "sex": text("sex"),
        "hukou": text("hukou"), "ethnicity": text("ethnicity"),
    }
    masked = {"id_number": text("id_number_masked"), "phone": text("phone_masked")}
    value = pl.lit("")  # disability_grade, and any field without a registry column
    for name, expr in values.items():
        value = pl.when(pl.col("field") == name).then(expr).otherwise(value)
    shown = pl.lit("")
    for name, expr in masked.items():
        shown = pl.when(pl.col("field") == name).then(expr).otherwise(shown)
    return pairs.join(persons, on="person", how="inner").select(
        "person", "field", value.alias("w"), shown.alias("wmasked"), pl.col("updated_us").alias("wt"))
