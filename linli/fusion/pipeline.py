"""The import pipeline: read → normalise → match → merge plan → persist.

Reading, normalising and matching touch no registry row (the registry's keys are loaded
once into Polars); :func:`linli.fusion.plan.build_plan` decides every write in memory, and
:func:`linli.fusion.persist.persist_plan` applies it with bulk paths inside the caller's
single transaction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any

import polars as pl
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment
from linli.core import pii
from linli.core.bulk import array_literal
from linli.fusion import persist
from linli.fusion.choices import (
    MatchOutcome,
)
from linli.fusion.mapping import (
    SourceDefinition,
    column_header,
    parse_source_definition,
    skipped_rows,
)
from linli.fusion.match import Matcher
from linli.fusion.models import Source
from linli.fusion.normalise import building_key, normalise_frame
from linli.fusion.readers import ROW_COLUMN, SHEET_COLUMN, ReadResult, neutralise_cell, read_export
from linli.fusion.workflow import (
    FUSED_FIELDS,
    UNAPPLIED_FIELDS,
)
from linli.registry.choices import HukouStatus
from linli.registry.models import Building, Person, Room
from linli.registry.text import PII_ID_NUMBER, PII_PHONE

Progress = Callable[[int], None]
CHUNK = 5000  # ids per query on SQLite (its variable limit); PostgreSQL takes arrays


def chunk_size() -> int:
    return 200_000 if connection.vendor == "postgresql" else CHUNK


def among(column: str, values: Sequence[Any], *, sql_type: str = "bigint") -> Q:
    """``column IN values`` for long lists: on PostgreSQL one array parameter
    (``= ANY``-style ``unnest``), not one placeholder per value (psycopg's client-side
    binding of thousands of placeholders costs more than the query)."""
    if connection.vendor == "postgresql":
        # One text literal: psycopg dumps a list element by element (seconds for a million).
        return Q(**{f"{column}__in": RawSQL(f"SELECT unnest(%s::{sql_type}[])", [array_literal(values)])})  # noqa: S611 -- type from code
    return Q(**{f"{column}__in": list(values)})
# Rejected rows listed in a job's counts (page and API); the file holds them all.
REJECTED_LISTED = 1000


@dataclass(frozen=True)
class RejectedRow:
    """A row (``rejected``) or a single value (``dropped``) that was not taken, and why."""

    row_number: int
    sheet: str
    column: str
    reason: str
    rejected: bool = True


@dataclass
class ImportReport:
    """What an import did (or, dry run, would do)."""

    source: str
    file_name: str
    dry_run: bool
    job_id: int | None = None
    rows_read: int = 0
    skipped: int = 0  # rows the definition's ``skip_rows`` left out
    # Rows the definition's ``past_rows`` mark a past record: linked to their person (or to a
    # person this file creates) or, found nowhere, only recorded. They assert nothing.
    past_linked: int = 0
    past_unlinked: int = 0
    unchanged: int = 0
    matched: dict[str, int] = field(default_factory=dict)
    new_persons: int = 0
    updated_persons: int = 0
    updated_fields: int = 0
    conflicts: int = 0
    tasks_created: int = 0
    review: int = 0
    # Persons an earlier import created that this one's persons turned out to be (re-link pass).
    relinked: int = 0
    rejected: int = 0
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    encoding: str = ""
    sheets: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read, "skipped": self.skipped, "unchanged": self.unchanged, "matched": dict(self.matched),
            "past": self.past_linked + self.past_unlinked, "past_linked": self.past_linked,
            "past_unlinked": self.past_unlinked,
            "matched_total": sum(self.matched.values()), "new_persons": self.new_persons,
            "updated_persons": self.updated_persons, "updated_fields": self.updated_fields,
            "conflicts": self.conflicts, "tasks_created": self.tasks_created, "review": self.review,
            "relinked": self.relinked, "rejected": self.rejected,
            "dropped_values": sum(1 for r in self.rejected_rows if not r.rejected),
            "encoding": self.encoding, "sheets": list(self.sheets),
            # Row numbers, columns and reasons only (no values): shown for a dry run as well.
            # Up to REJECTED_LISTED of each kind (refused rows, dropped values), so a file with
            # thousands of dropped values still lists its few refused rows.
            "rejected_rows": [
                {"row": r.row_number, "sheet": r.sheet, "column": r.column, "reason": r.reason,
                 "rejected": r.rejected}
                for r in [*[r for r in self.rejected_rows if r.rejected][:REJECTED_LISTED],
                          *[r for r in self.rejected_rows if not r.rejected][:REJECTED_LISTED]]
            ],
            "rejected_rows_total": len(self.rejected_rows),
        }


# --- stage 1: read ---------------------------------------------------------------------


def definition_of(source: Source) -> SourceDefinition:
    """The parsed :class:`linli.fusion.mapping.SourceDefinition` of a stored source."""
    return parse_source_definition(source.definition)


def stage_read(definition: Any, file_path: Path, *, max_bytes: int | None = None, head: int | None = None) -> ReadResult:
    """The whole file (the job), or with ``head`` its first rows (the web request's preview);
    the rows the definition's ``skip_rows`` leave out are dropped here (and counted), the rows
    its ``past_rows`` mark are flagged (``ReadResult.past``)."""
    read = read_export(
        file_path, fmt=getattr(definition, "format", "auto") or "auto",
        encoding=getattr(definition, "encoding", "auto") or "auto",
        sheets=getattr(definition, "sheets", None), key_columns=list(getattr(definition, "key_columns", [])),
        mapped_columns=[column_header(c) for c in definition.columns], max_bytes=max_bytes, head=head,
    )
    rules = tuple(getattr(definition, "skip_rows", ()) or ())
    if rules:
        skip = skipped_rows(read.frame, rules, SHEET_COLUMN)
        count = int(skip.sum())
        if count:
            read = replace(read, frame=read.frame.filter(~skip), skipped=count)
    past_rules = tuple(getattr(definition, "past_rows", ()) or ())
    if past_rules:
        past = skipped_rows(read.frame, past_rules, SHEET_COLUMN).alias("past")
        if past.any():
            read = replace(read, past=past)
    return read


# --- stage 2: normalise ----------------------------------------------------------------


@dataclass
class Normalised:
    """The normalised frame, aligned row by row with the raw rows and their hashes."""

    frame: pl.DataFrame
    raw: list[dict[str, str]]
    hashes: list[str]
    sheets: list[str]
    # The raw rows as columns (null: empty cell): set by :func:`stage_normalise`.
    raw_columns: pl.DataFrame | None = None
    # Per row, a past record (``past_rows``); None: no row is.
    past: pl.Series | None = None


def raw_frame(norm: Normalised) -> pl.DataFrame:
    """The raw rows as one String column per export column (first-seen order), nulls for
    the cells a row left empty."""
    if norm.raw_columns is not None:
        return norm.raw_columns
    raws = norm.raw
    columns = list(dict.fromkeys(chain.from_iterable(raws)))
    return pl.DataFrame({name: pl.Series([r.get(name) for r in raws], dtype=pl.String, strict=False)
                         for name in columns}, height=len(raws))


def raw_row(frame: pl.DataFrame, index: int) -> dict[str, str]:
    """One raw row back as ``{column: text}`` (empty cells left out)."""
    return {k: v for k, v in frame.row(index, named=True).items() if v is not None and v != ""}


def _pii_columns(definition: Any) -> dict[str, str]:
    bound = {"id_number": PII_ID_NUMBER, "phone": PII_PHONE}
    return {column_header(col): bound[cmap.field] for col, cmap in definition.columns.items() if cmap.field in bound}


def stage_normalise(read: ReadResult, definition: Any) -> Normalised:
    from linli.fusion.readers import raw_columns

    columns, hashes = raw_columns(read)
    frame = normalise_frame(read.frame.rename({ROW_COLUMN: "row_number"}), definition)
    return Normalised(frame=frame, raw=[], hashes=hashes, sheets=read.frame[SHEET_COLUMN].to_list(),
                      raw_columns=columns, past=read.past)


# --- stage 3: match --------------------------------------------------------------------


def _in_grids(grids: Sequence[int] | None, column: str = "grid_id") -> Q:
    """Persons (rooms) an import filed under an area may touch: its grids' (and, for
    persons, those not placed in any grid yet). ``None``: the whole registry."""
    if grids is None:
        return Q()
    return Q(**{f"{column}__in": list(grids)}) | Q(**{f"{column}__isnull": True})


def query_frame(sql: str, params: Sequence[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A query's rows as a frame: on PostgreSQL through ``COPY … TO STDOUT`` read by Polars'
    CSV reader (half a million rows in well under a second), elsewhere one fetch."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return pl.DataFrame(cursor.fetchall(), schema=schema, orient="row")
    data = bytearray()
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY ({sql}) TO STDOUT (FORMAT csv, NULL '\\N')", params) as copy:
        for block in copy:
            data += block
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(bytes(data), has_header=False, new_columns=list(schema), schema=schema, null_values="\\N",
                       empty_string_is_null=False)


def registry_keys(grids: Sequence[int] | None = None) -> pl.DataFrame:
    """The registry's match keys, loaded once per import (never a query per row).

    ``id_enc`` (the ID number ciphertext) rides along so that the few candidates whose ID
    must be compared in plain text are decrypted in memory, not fetched one query each.
    One cursor fetch into Polars (no ORM row objects); a building's key is read once per
    building.
    """
    columns = {
        "person_id": pl.Int64(), "name": pl.String(), "name_pinyin": pl.String(), "initials": pl.String(),
        "id_bidx": pl.String(), "birth_date": pl.Date(), "sex": pl.String(), "phone_bidx": pl.String(),
        "compound": pl.String(), "building_name": pl.String(), "unit": pl.Int64(), "room": pl.String(),
        "id_enc": pl.String(),
    }
    query = Person.objects.filter(_in_grids(grids)).values_list(
        "id", "name", "name_pinyin", "name_initials", "id_number_bidx", "birth_date", "sex", "phone_bidx",
        "building__compound", "building__name", "room__unit__number", "room__number", "id_number_enc",
    ).query
    frame = query_frame(*query.sql_with_params(), columns)
    buildings = frame.filter(pl.col("building_name").is_not_null() & (pl.col("building_name") != "")).select(
        pl.col("compound").fill_null(""), "building_name").unique()
    keys = [building_key(c, b) or None for c, b in buildings.iter_rows()]
    buildings = buildings.with_columns(pl.Series("building_key", keys, dtype=pl.String))
    room = pl.col("room")
    keyed = frame.with_columns(pl.col("compound").fill_null("")).join(
        buildings, on=["compound", "building_name"], how="left", maintain_order="left",
    ).select(
        "person_id", "name", "name_pinyin", "initials",
        *(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in ("id_bidx",)),
        "birth_date", pl.when(pl.col("sex") != "").then(pl.col("sex")).alias("sex"),
        pl.when(pl.col("phone_bidx") != "").then(pl.col("phone_bidx")).alias("phone_bidx"),
        "building_key", pl.col("unit").cast(pl.String),
        pl.when(room.is_not_null() & (room != "")).then(
            pl.when(room.str.strip_chars_start("0") == "").then(pl.lit("0")).otherwise(room.str.strip_chars_start("0")))
        .alias("room"),
        pl.when(pl.col("id_enc") != "").then(pl.col("id_enc")).alias("id_enc"),
    )
    return with_unplaced_addresses(keyed, grids)


def with_unplaced_addresses(keys: pl.DataFrame, grids: Sequence[int] | None = None) -> pl.DataFrame:
    """Persons no room places yet are matched on the address an import kept for them (the
    winning ``address`` provenance, issue 17 cause 5): building key, unit and room parsed
    from it, as a row's would be."""
    from linli.fusion.models import FieldProvenance
    from linli.fusion.normalise import normalise_address

    unplaced = Person.objects.filter(_in_grids(grids), room__isnull=True).values("id")
    found = FieldProvenance.objects.filter(person_id__in=unplaced, field="address", won=True).values_list(
        "person_id", "value")
    parsed: dict[int, tuple[str | None, str | None, str | None]] = {}
    for person_id, value in found.iterator(chunk_size=20000):
        address = normalise_address(value)
        if address.building_key:
            parsed[person_id] = (address.building_key, address.unit or None, address.room or None)
    if not parsed:
        return keys
    extra = pl.DataFrame({
        "person_id": pl.Series(list(parsed), dtype=pl.Int64),
        "_bk": pl.Series([v[0] for v in parsed.values()], dtype=pl.String),
        "_un": pl.Series([v[1] for v in parsed.values()], dtype=pl.String),
        "_rm": pl.Series([v[2] for v in parsed.values()], dtype=pl.String),
    })
    placed = pl.col("building_key").is_not_null()
    return keys.join(extra, on="person_id", how="left", maintain_order="left").with_columns(
        pl.when(placed).then(pl.col("building_key")).otherwise(pl.col("_bk")).alias("building_key"),
        pl.when(placed).then(pl.col("unit")).otherwise(pl.col("_un")).alias("unit"),
        pl.when(placed).then(pl.col("room")).otherwise(pl.col("_rm")).alias("room"),
    ).drop("_bk", "_un", "_rm")


@dataclass(frozen=True)
class Decision:
    """The matcher's decision for one row, in the shape the merge needs."""

    outcome: str
    how: str
    score: float
    person_id: int | None  # an existing person (same/review candidate)
    cluster: str  # new-person cluster key (rows of one new person share it)
    evidence: dict[str, Any]


def stage_match(
    frame: pl.DataFrame, keys: pl.DataFrame,
    *, id_plain: Callable[[pl.DataFrame], Callable[[int], str | None]] | None = None,
) -> list[Decision]:
    """Run :class:`linli.fusion.match.Matcher` over the normalised frame (row by row aligned);
    ``id_plain`` makes the candidates' plain-ID lookup from the keys (default: in memory)."""
    decrypt = (id_plain or decrypt_ids_of)(keys)
    decided = Matcher(keys, decrypt_id=decrypt).match(frame).sort("record_index")
    review = pl.col("outcome") == MatchOutcome.REVIEW
    columns = decided.select(
        "outcome", pl.col("how").fill_null(""), pl.col("score").fill_null(0.0).cast(pl.Float64),
        pl.when(pl.col("outcome") == MatchOutcome.SAME).then(pl.col("person_id")).when(review)
        .then(pl.col("candidate_id")).alias("existing"),
        pl.col("person_key").cast(pl.String), pl.when(review).then(pl.col("evidence")).alias("evidence"),
    ).get_columns()
    return [
        Decision(outcome=outcome, how=how, score=score, person_id=existing, cluster=key,
                 evidence=json.loads(evidence) if evidence else {})
        for outcome, how, score, existing, key, evidence in zip(*(c.to_list() for c in columns), strict=True)
    ]


def decrypt_id_of(person_id: int) -> str | None:
    """Plain ID number of one candidate blocking found (to tell an ID typo from another person)."""
    token = Person.objects.filter(pk=person_id).values_list("id_number_enc", flat=True).first()
    return pii.decrypt(token, field=PII_ID_NUMBER) if token else None


class _CandidateIds:
    """The matcher's ``decrypt_id`` over the ciphertexts loaded with the keys: no query per
    candidate, only the candidates the matcher asks for decrypted (in memory), looked up
    by a join — not through a dict of every person's ciphertext (~200 MB for a district)."""

    def __init__(self, keys: pl.DataFrame) -> None:
        self.tokens = keys.select("person_id", "id_enc").drop_nulls()

    def __call__(self, person_id: int) -> str | None:
        return self.many([person_id])[0]

    def many(self, person_ids: Sequence[int]) -> list[str | None]:
        wanted = pl.DataFrame({"person_id": pl.Series(list(person_ids), dtype=pl.Int64)}).join(
            self.tokens, on="person_id", how="left", maintain_order="left")
        return [pii.decrypt(token, field=PII_ID_NUMBER) if token else None for token in wanted["id_enc"].to_list()]


def decrypt_ids_of(keys: pl.DataFrame) -> Callable[[int], str | None]:
    """The matcher's ``decrypt_id`` for the keys loaded by :func:`registry_keys`."""
    return _CandidateIds(keys)


# --- row-by-row observations (re-fusing stored records) ------------------------------


@dataclass
class Obs:
    """One field value from one row, with its stored forms."""

    field: str
    value: str  # comparison key (blind index for PII)
    plain: Any  # what goes into the registry column
    enc: str = ""  # PII ciphertext, sealed only when a provenance row is written
    masked: str = ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def observations_of(row: dict[str, Any], rooms: dict[tuple[str, str, str], tuple[int, int, int]]) -> list[Obs]:
    """The fused-field values one normalised row states (empty cells state nothing)."""
    found: list[Obs] = []
    if row.get("name"):
        found.append(Obs("name", row["name"], row["name"]))
    if row.get("id_number") and row.get("id_valid"):
        bidx, masked = persist.id_number_keys(row["id_number"])
        found.append(Obs("id_number", bidx, row["id_number"], "", masked))
    hukou = hukou_status(row.get("hukou"))
    if hukou:
        found.append(Obs("hukou", hukou, hukou))
    found.extend(Obs(name, _text(row[name]), row[name]) for name in ("birth_date", "sex", "ethnicity", "deceased_on")
                 if row.get(name) is not None and row.get(name) != "")
    if row.get("phone"):
        bidx, masked = persist.phone_keys(row["phone"])
        found.append(Obs("phone", bidx, row["phone"], "", masked))
    deceased = row.get("is_deceased")
    if deceased is None and row.get("deceased_on") is not None:
        deceased = True
    if deceased is not None:
        found.append(Obs("is_deceased", _text(bool(deceased)), bool(deceased)))
    if row.get("disability_grade") is not None:
        found.append(Obs("disability_grade", _text(row["disability_grade"]), int(row["disability_grade"])))
    place = rooms.get((row.get("building_key") or "", row.get("unit") or "", row.get("room") or ""))
    if place is None and row.get("building_key") and row.get("room"):
        place = rooms.get((row["building_key"], "", row["room"]))
    if place is not None:
        found.append(Obs("residence", f"room:{place[0]}", place, masked=row.get("address_norm") or ""))
    elif row.get("address_norm"):
        norm = str(row["address_norm"])[:300]
        found.append(Obs("address", norm, norm, masked=norm))
    return found


_HUKOU_VALUES = frozenset(HukouStatus.values)  # the enum's ``values`` is rebuilt on every access


def hukou_status(value: Any) -> str:
    """Departments' wording (户籍/本地/流动/暂住/外籍 …) → :class:`HukouStatus`, or ''."""
    text = str(value or "").strip()
    if not text:
        return ""
    if text in _HUKOU_VALUES:
        return text
    if any(w in text for w in ("境外", "外籍", "外国", "港澳台")):
        return HukouStatus.FOREIGN
    if any(w in text for w in ("流动", "外来", "暂住", "非本地", "外地")):
        return HukouStatus.MIGRANT
    if any(w in text for w in ("户籍", "本地", "常住", "本市", "本区")):
        return HukouStatus.LOCAL
    return ""


def room_index(grids: Sequence[int] | None = None, *,
               building_keys: Iterable[str] | None = None) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    """(building key, unit, room) → (room id, building id, grid id); also keyed without unit
    when the room number is unique in its building. ``grids``: only rooms in those grids;
    ``building_keys``: only rooms of the buildings with those keys (re-fusing a few stored
    rows — a review decision — reads their buildings' rooms, not the district's)."""
    index: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    no_unit: dict[tuple[str, str, str], int] = defaultdict(int)
    cache: dict[tuple[str, str], str] = {}
    rooms = Room.objects.all() if grids is None else Room.objects.filter(building__grid_id__in=list(grids))
    if building_keys is not None:
        wanted = set(building_keys) - {""}
        if not wanted:
            return index
        # The key is computed in Python (see ``building_key``): over the buildings, a few
        # thousand rows, not their rooms.
        buildings = Building.objects.all() if grids is None else Building.objects.filter(grid_id__in=list(grids))
        ids = [pk for pk, compound, name in buildings.values_list("pk", "compound", "name")
               if building_key(compound or "", name) in wanted]
        rooms = rooms.filter(building_id__in=ids)
    for pk, bid, grid, compound, bname, unit, number in rooms.values_list(
        "id", "building_id", "building__grid_id", "building__compound", "building__name", "unit__number", "number",
    ).iterator(chunk_size=20000):
        key = (compound or "", bname)
        if key not in cache:
            cache[key] = building_key(*key)
        bkey = cache[key]
        if not bkey:
            continue
        room = str(number).lstrip("0") or "0"
        index[(bkey, str(unit), room)] = (pk, bid, grid)
        no_unit[(bkey, "", room)] += 1
        index.setdefault((bkey, "", room), (pk, bid, grid))
    for loose, count in no_unit.items():
        if count > 1:
            index.pop(loose, None)
    return index


def apply_value(values: persist.PersonValues, obs_field: str, plain: Any) -> None:
    """Set one fused field on the registry columns of a person."""
    if obs_field == "residence":
        values.room_id, values.building_id, values.grid_id = plain
    elif obs_field in UNAPPLIED_FIELDS:
        return  # the disabled tag's (see persist_plan); an address only kept as evidence
    elif obs_field == "is_deceased":
        values.is_deceased = bool(plain)
    elif hasattr(values, obs_field):
        setattr(values, obs_field, plain)


def grid_assignees() -> dict[int, int]:
    """Grid id → the responsible grid worker: the primary (A角), else a backup (B角)."""
    chosen: dict[int, tuple[bool, str, int]] = {}
    for area_id, user_id, kind, username in AreaAssignment.objects.filter(
        user__role=Role.GRID_WORKER, user__is_active=True,
        kind__in=[AssignmentKind.PRIMARY, AssignmentKind.BACKUP],
    ).values_list("area_id", "user_id", "kind", "user__username"):
        rank = (kind != AssignmentKind.PRIMARY, username, user_id)
        if area_id not in chosen or rank < chosen[area_id]:
            chosen[area_id] = rank
    return {area: rank[2] for area, rank in chosen.items()}


# --- the rejected-rows file ------------------------------------------------------------


def write_rejected_file(report: ImportReport, raw_by_row: dict[tuple[str, int], dict[str, str]], path: Path) -> Path:
    """The rejected rows (and dropped values) as a CSV (UTF-8 with BOM, opens in Excel).

    It holds the rows' values as sent (ID numbers, phones): readable by the service's own
    user only (0600, folder 0700); staff get it through the audited download service.
    """
    import csv
    import os

    columns: list[str] = []
    for row in raw_by_row.values():
        for c in row:
            if c not in columns:
                columns.append(c)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode on O_CREAT: set it anyway
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([_("行号"), _("工作表"), _("处理"), _("列"), _("原因"), *columns])
        for item in report.rejected_rows:
            raw = raw_by_row.get((item.sheet, item.row_number), {})
            writer.writerow([item.row_number, item.sheet, _("整行拒收") if item.rejected else _("该值未采用"),
                             item.column, item.reason, *(neutralise_cell(raw.get(c, "")) for c in columns)])
    return path


def vendor() -> str:
    return connection.vendor


__all__ = ["FUSED_FIELDS", "ImportReport", "RejectedRow"]
