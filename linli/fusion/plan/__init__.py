"""Stage 4 of an import: the merge plan — every write decided in memory, set-based.

The rows' values become one long frame (row × field, :mod:`.observe`); new persons take,
per field, the value of their last row; existing persons' values are settled against the
registry's winners loaded once as a frame (:mod:`.settle`). Records, provenance and tags
stay columnar (Polars) up to the bulk writes of :func:`linli.fusion.persist.persist_plan`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import polars as pl
from django.utils.translation import gettext as _

from linli.core import pii
from linli.fusion.choices import DEFAULT_PRECEDENCE, MatchOutcome, RecordStatus, TaskStatus
from linli.fusion.mapping import column_header
from linli.fusion.models import FieldProvenance, SourceRecord, VerificationTask
from linli.fusion.normalise import reason_message
from linli.fusion.normalise.frame import tag_hits
from linli.fusion.persist import PersonValues
from linli.fusion.pipeline import (
    Decision,
    ImportReport,
    Normalised,
    RejectedRow,
    among,
    chunk_size,
    grid_assignees,
    raw_frame,
    room_index,
)
from linli.fusion.plan.observe import (
    OPTIONAL_COLUMNS,
    baseline_frame,
    column,
    epoch_us,
    load_persons,
    load_winners,
    observation_frame,
    with_optional,
)
from linli.fusion.plan.settle import Settled, settle
from linli.fusion.workflow import (
    FOLLOWING_CLAIMS,
    PII_FIELDS,
    STATED_PII_KEY,
    STOPPING_CLAIMS,
    UNAPPLIED_FIELDS,
    WinReason,
    claim_is_held,
)
from linli.registry.choices import TagKind
from linli.registry.models import Person, Room
from linli.registry.text import PII_ID_NUMBER, PII_PHONE

PROVENANCE_SCHEMA: Final = {
    "pos": pl.Int64, "person": pl.Int64, "cluster": pl.String, "field": pl.String, "value": pl.String,
    "plain": pl.String, "masked": pl.String, "precedence": pl.Int64, "won": pl.Boolean, "reason": pl.String,
}
TAG_SCHEMA: Final = {"pos": pl.Int64, "person": pl.Int64, "cluster": pl.String, "kind": pl.String,
                     "valid_from": pl.Date, "valid_to": pl.Date, "note": pl.String, "benefit": pl.String}
_BOUND: Final = {"id_number": PII_ID_NUMBER, "phone": PII_PHONE}


@dataclass
class Plan:
    """Every write of one import, decided in memory. ``records`` (one row per fresh row,
    ``pos`` order) holds the columns of :class:`SourceRecord` in database form (JSON as text)
    plus ``cluster``; ``provenance`` the rows to write (``person`` or, for a new person, its
    ``cluster``; ``plain`` the value to seal for PII)."""

    records: pl.DataFrame
    provenance: pl.DataFrame
    tags: pl.DataFrame
    new_persons: dict[str, PersonValues] = field(default_factory=dict)
    unwin: dict[int, str] = field(default_factory=dict)  # provenance id → reason
    person_updates: dict[int, dict[str, Any]] = field(default_factory=dict)  # person → {field: plain}
    changed_fields: dict[int, set[str]] = field(default_factory=dict)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    new_ids: set[str] = field(default_factory=set)  # ID numbers (blind index) given to new persons


def plain_value(name: str, text: str) -> Any:
    """A fused value (as text in the frames) → the registry column's Python value;
    ``residence`` is ``(room, building, grid)`` (see :func:`apply_plain`)."""
    if name in ("birth_date", "deceased_on"):
        return date.fromisoformat(text)
    if name == "is_deceased":
        return text == "1"
    if name == "disability_grade":
        return int(float(text))
    return text


def apply_plain(values: PersonValues, name: str, text: str, rooms: dict[int, tuple[int, int]]) -> None:
    if name == "residence":
        room = int(text)
        values.room_id, (values.building_id, values.grid_id) = room, rooms[room]
    elif name in UNAPPLIED_FIELDS:
        return  # the disabled tag's; an address only kept as evidence
    elif name == "is_deceased":
        values.is_deceased = text == "1"
    elif hasattr(values, name):
        setattr(values, name, plain_value(name, text))


def room_places(room_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Room → (building, grid) for the rooms a plan writes."""
    found: dict[int, tuple[int, int]] = {}
    ordered = sorted(set(room_ids))
    for start in range(0, len(ordered), chunk_size()):
        for pk, building, grid in Room.objects.filter(among("pk", ordered[start:start + chunk_size()])).values_list(
                "id", "building_id", "building__grid_id"):
            found[pk] = (building, grid)
    return found


def _decision_frame(decisions: Sequence[Decision | None] | None, indices: Sequence[int]) -> pl.DataFrame:
    chosen = [decisions[i] if decisions is not None else None for i in indices]
    return pl.DataFrame({
        "outcome": pl.Series([d.outcome if d else None for d in chosen], dtype=pl.String),
        "how": pl.Series([d.how if d else "" for d in chosen], dtype=pl.String),
        "score": pl.Series([d.score if d else 0.0 for d in chosen], dtype=pl.Float64),
        "match_person": pl.Series([d.person_id if d else None for d in chosen], dtype=pl.Int64),
        "match_cluster": pl.Series([d.cluster if d else "" for d in chosen], dtype=pl.String),
    })


def _json_text(expr: pl.Expr) -> pl.Expr:
    return _json_string(expr)


def stated_json(stated: pl.DataFrame) -> pl.DataFrame:
    """``pos, stated``: per record the values it merely stated (``SourceRecord.stated``), as
    JSON text: a blind-index prefix for PII, with the mask where staff see one."""
    key = pl.when(pl.col("field").is_in(sorted(PII_FIELDS))).then(
        pl.col("value").str.slice(0, STATED_PII_KEY)).otherwise(pl.col("value"))
    piece = pl.concat_str(
        _json_text(pl.col("field")), pl.lit(":"),
        pl.when(pl.col("masked") != "").then(
            pl.concat_str(pl.lit("["), _json_text(key), pl.lit(","), _json_text(pl.col("masked")), pl.lit("]")),
        ).otherwise(_json_text(key)),
    )
    return stated.select("pos", piece.alias("piece")).group_by("pos").agg(pl.col("piece").str.join(",")).select(
        "pos", pl.concat_str(pl.lit("{"), pl.col("piece"), pl.lit("}")).alias("stated"))


def build_plan(
    *,
    source: Any,
    definition: Any,
    norm: Normalised,
    decisions: Sequence[Decision | None] | None,
    indices: Sequence[int],
    observed_at: datetime,
    report: ImportReport,
    grids: Sequence[int] | None = None,
    rooms: Mapping[tuple[str, str, str], tuple[int, int, int]] | None = None,
) -> Plan:
    """Decide every write: records, new persons, provenance, winners, reviews, tasks.
    ``grids``: the import's area (rooms outside it are not resolved); ``rooms``: its
    :func:`linli.fusion.pipeline.room_index`, when the caller plans several slices."""
    authoritative: dict[str, int] = dict(getattr(definition, "authoritative", {}) or {})
    if "address" in authoritative and "residence" not in authoritative:
        authoritative["residence"] = authoritative["address"]
    index_series = pl.Series("idx", list(indices), dtype=pl.Int64)
    wanted = [c for c in ("row_number", "errors", *OPTIONAL_COLUMNS, "hukou", "sex", "ethnicity") if c in norm.frame.columns]
    rows = norm.frame.select(wanted).with_row_index("idx").with_columns(pl.col("idx").cast(pl.Int64)).join(
        index_series.to_frame().with_row_index("pos").with_columns(pl.col("pos").cast(pl.Int64)), on="idx",
        how="inner").sort("pos")
    rows = with_optional(pl.concat([rows, _decision_frame(decisions, indices)], how="horizontal"))
    missing = (pl.when(~(column(rows, "name").is_not_null() & (column(rows, "name") != ""))).then(pl.lit("name"))
               # Some lists carry only name, sex and address: matched on those (or created), so a
               # row is refused only when it has nothing besides the name.
               .when((column(rows, "id_number").fill_null("") == "") & column(rows, "birth_date", pl.Date).is_null()
                     & (column(rows, "phone").fill_null("") == "")
                     & (column(rows, "address_norm").fill_null("") == "")).then(pl.lit("id_number"))
               .otherwise(pl.lit("")))
    # A past record (``past_rows``: 注销/迁出) is linked where it can be, never rejected.
    past = (norm.past.gather(pl.Series(list(indices), dtype=pl.Int64)) if norm.past is not None
            else pl.Series([False] * rows.height, dtype=pl.Boolean)).alias("past")
    rows = rows.with_columns(past).with_columns(
        missing=pl.when(pl.col("past")).then(pl.lit("")).otherwise(missing), n_errors=pl.col("errors").list.len())
    records = _records(rows, norm, indices, definition, report)

    live = rows.filter((pl.col("missing") == "") & ~pl.col("past"))
    reviews = live.filter(pl.col("outcome") == MatchOutcome.REVIEW)
    plan = Plan(records=records, provenance=pl.DataFrame(schema=PROVENANCE_SCHEMA),
                tags=pl.DataFrame(schema=TAG_SCHEMA))
    for pos, person, score in reviews.select("pos", "match_person", "score").iter_rows():
        decision = decisions[indices[pos]] if decisions is not None else None
        plan.reviews.append({"record_index": pos, "candidate": person, "score": score,
                             "evidence": decision.evidence if decision else {}})
    report.review += reviews.height

    same_rows = live.filter(pl.col("outcome") == MatchOutcome.SAME)
    persons = load_persons(same_rows["match_person"].drop_nulls().unique().to_list())
    same_rows = same_rows.join(persons.select("person"), left_on="match_person", right_on="person", how="semi")
    new_rows = live.filter(pl.col("outcome") == MatchOutcome.NEW)
    for how, count in same_rows.group_by("how").len().sort("how").iter_rows():
        report.matched[how] = report.matched.get(how, 0) + int(count)
    past_links = _past_links(rows.filter(pl.col("past")), new_rows, report)

    if rooms is None:
        rooms = room_index(grids)
    fused = pl.concat([same_rows.select("pos", pl.col("match_person").alias("person"), pl.lit(None, pl.String).alias(
        "cluster")), new_rows.select("pos", pl.lit(None, pl.Int64).alias("person"), pl.col("match_cluster").alias(
            "cluster"))])
    obs = observation_frame(live.join(fused.select("pos"), on="pos", how="semi"), rooms).join(fused, on="pos")
    obs = obs.with_columns(p=pl.col("field").replace_strict(authoritative, default=DEFAULT_PRECEDENCE,
                                                            return_dtype=pl.Int64))
    stated_parts: list[pl.DataFrame] = []
    new_prov = _plan_new_persons(plan, obs.filter(pl.col("cluster").is_not_null()), new_rows, stated_parts, report)
    same_prov = _plan_existing(plan, obs.filter(pl.col("person").is_not_null()), persons, stated_parts,
                               source=source, observed_at=observed_at, same_rows=same_rows, report=report)
    plan.provenance = pl.concat([new_prov, same_prov]).sort("pos")
    stated = pl.concat(stated_parts) if stated_parts else pl.DataFrame(
        schema={"pos": pl.Int64, "field": pl.String, "value": pl.String, "masked": pl.String})
    plan.records = plan.records.join(stated_json(stated), on="pos", how="left").with_columns(
        pl.col("stated").fill_null("{}"))
    person_of = fused.join(same_rows.select("pos", pl.col("match_person").alias("linked")), on="pos", how="left")
    plan.records = plan.records.join(person_of.select("pos", "linked", pl.col("cluster").alias("new_cluster")),
                                     on="pos", how="left").with_columns(
        person=pl.col("linked"), cluster=pl.col("new_cluster").fill_null("")).drop("linked", "new_cluster")
    if past_links is not None:
        plan.records = _link_past_records(plan.records, past_links)
    plan.tags = _plan_tags(definition, norm, indices, fused, rows, observed_at, source)
    # Added up: an import plans its persons a slice at a time (see :func:`plan_slices`).
    report.updated_persons += len(plan.changed_fields)
    report.updated_fields += sum(len(v) for v in plan.changed_fields.values())
    report.tasks_created += len(plan.tasks)
    report.rejected_rows.sort(key=lambda r: (r.sheet, r.row_number, not r.rejected))
    return plan


def _past_links(past_rows: pl.DataFrame, new_rows: pl.DataFrame, report: ImportReport) -> pl.DataFrame | None:
    """``pos, past_person, past_cluster``: the past records (``past_rows``) the matcher tied
    to a registered person, or to a person a current row of this file creates. The others
    stay unlinked: a past record never creates a person nor goes to review."""
    if past_rows.height == 0:
        return None
    same = past_rows.filter(pl.col("outcome") == MatchOutcome.SAME)
    known = load_persons(same["match_person"].drop_nulls().unique().to_list())["person"]
    clusters = new_rows["match_cluster"].unique()
    links = pl.concat([
        same.filter(pl.col("match_person").is_in(known.to_list())).select(
            "pos", pl.col("match_person").alias("past_person"), pl.lit(None, pl.String).alias("past_cluster")),
        past_rows.filter((pl.col("outcome") == MatchOutcome.NEW) & pl.col("match_cluster").is_in(clusters.to_list()))
        .select("pos", pl.lit(None, pl.Int64).alias("past_person"), pl.col("match_cluster").alias("past_cluster")),
    ])
    report.past_linked += links.height
    report.past_unlinked += past_rows.height - links.height
    return links


def _link_past_records(records: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Past records point at the person they were linked to; an unlinked one keeps no
    match decision (it is only recorded)."""
    unlinked = (pl.col("status") == RecordStatus.PAST) & pl.col("linked_pos").is_null()
    return records.join(links.with_columns(linked_pos=pl.col("pos")), on="pos", how="left").with_columns(
        person=pl.coalesce("person", "past_person"),
        cluster=pl.when(pl.col("past_cluster").is_not_null()).then(pl.col("past_cluster")).otherwise(
            pl.col("cluster")),
        outcome=pl.when(unlinked).then(pl.lit("")).otherwise(pl.col("outcome")),
        how=pl.when(unlinked).then(pl.lit("")).otherwise(pl.col("how")),
        score=pl.when(unlinked).then(pl.lit(0.0)).otherwise(pl.col("score")),
    ).drop("past_person", "past_cluster", "linked_pos")


# Rows planned (and written) at a time: a district file's plan whole takes gigabytes.
PLAN_SLICE_ROWS = 125_000


def plan_slices(decisions: Sequence[Decision | None], indices: Sequence[int], *,
                rows: int | None = None) -> list[list[int]]:
    """``indices`` split into slices of about ``rows`` (default :data:`PLAN_SLICE_ROWS`) that
    can be planned one after another: every row of one person — an existing one (``same``)
    or a new one (its cluster) — falls in the same slice, each slice in file order."""
    count = -(-len(indices) // (rows or PLAN_SLICE_ROWS))
    if count <= 1:
        return [list(indices)]
    parts: list[list[int]] = [[] for _ in range(count)]
    for index in indices:
        decision = decisions[index]
        if decision is None:
            key = index
        elif decision.outcome == MatchOutcome.SAME and decision.person_id is not None:
            key = decision.person_id
        else:
            key = zlib.crc32(decision.cluster.encode()) if decision.cluster else index
        parts[key % count].append(index)
    return [part for part in parts if part]


def _records(rows: pl.DataFrame, norm: Normalised, indices: Sequence[int], definition: Any,
             report: ImportReport) -> pl.DataFrame:
    """One record per fresh row: raw row (PII columns sealed, in batches), status, reasons."""
    status = (pl.when(pl.col("past")).then(pl.lit(RecordStatus.PAST))
              .when(pl.col("missing") != "").then(pl.lit(RecordStatus.REJECTED))
              .when(pl.col("outcome") == MatchOutcome.REVIEW).then(pl.lit(RecordStatus.REVIEW))
              .otherwise(pl.lit(RecordStatus.ACCEPTED)))
    live = pl.col("missing") == ""
    records = rows.select(
        "pos", pl.col("row_number").fill_null(0).cast(pl.Int64).alias("row_number"),
        pl.Series("sheet", [norm.sheets[i][:100] for i in indices], dtype=pl.String),
        _raw_json(norm, indices, definition),
        pl.Series("raw_hash", [norm.hashes[i] for i in indices], dtype=pl.String),
        pl.when(live).then(pl.col("outcome").fill_null("")).otherwise(pl.lit("")).alias("outcome"),
        pl.when(live).then(pl.col("how")).otherwise(pl.lit("")).alias("how"),
        pl.when(live).then(pl.col("score")).otherwise(pl.lit(0.0)).alias("score"),
        status.alias("status"), pl.lit("[]").alias("rejected_reasons"),
    )
    # A past record takes no value: nothing of it is listed as dropped.
    flagged = rows.filter(((pl.col("missing") != "") | (pl.col("n_errors") > 0)) & ~pl.col("past"))
    if flagged.height == 0:
        return records
    reasons: list[str] = []
    for pos, row_number, missing, errors in flagged.select("pos", "row_number", "missing", "errors").iter_rows():
        sheet = norm.sheets[indices[pos]]
        found = [(e["column"], reason_message(e["code"])) for e in (errors or [])]
        row_number = int(row_number or 0)
        if missing:
            column_name = next((c for c, m in definition.columns.items() if m.field == missing), missing)
            reason = next((r for c, r in found if c == column_name), _("缺少姓名") if missing == "name"
                          else _("身份证号、出生日期、电话、地址均缺失,无法识别人员"))
            listed = [{"column": column_name, "reason": reason},
                      *[{"column": c, "reason": r} for c, r in found if c != column_name]]
            report.rejected += 1
            report.rejected_rows.append(RejectedRow(row_number, sheet, column_name, reason))
        else:
            listed = [{"column": c, "reason": r} for c, r in found]
            report.rejected_rows.extend(RejectedRow(row_number, sheet, c, r, rejected=False) for c, r in found)
        reasons.append(json.dumps(listed, ensure_ascii=False))
    listed_frame = pl.DataFrame({"pos": flagged["pos"], "listed": pl.Series(reasons, dtype=pl.String)})
    return records.join(listed_frame, on="pos", how="left").with_columns(
        rejected_reasons=pl.coalesce("listed", "rejected_reasons")).drop("listed")


_JSON_FROM: Final = ["\\", '"', *(chr(c) for c in range(0x20))]
_JSON_TO: Final = ["\\\\", '\\"', *(json.dumps(chr(c))[1:-1] for c in range(0x20))]


def _json_string(expr: pl.Expr) -> pl.Expr:
    """A JSON string literal of any text (escaped as ``json.dumps`` escapes it)."""
    return pl.concat_str(pl.lit('"'), expr.str.replace_many(_JSON_FROM, _JSON_TO), pl.lit('"'))


def _raw_json(norm: Normalised, indices: Sequence[int], definition: Any) -> pl.Series:
    """The rows as they came (empty cells left out), PII columns under ``<column>_enc``
    (sealed per column in one batch), as JSON text assembled by Polars."""
    pii_columns = {column_header(c): _BOUND[m.field] for c, m in definition.columns.items() if m.field in _BOUND}
    source = raw_frame(norm)
    columns = source.columns
    frame = source.rename({name: f"c{at}" for at, name in enumerate(columns)})[list(indices)]
    cells: list[pl.Expr] = []
    sealed: list[pl.Series] = []
    for at, name in enumerate(columns):
        cell = pl.col(f"c{at}")
        if name in pii_columns:
            filled = frame[f"c{at}"].fill_null("")
            tokens = pl.Series(f"e{at}", [""] * frame.height, dtype=pl.String)
            where = (filled != "").arg_true()
            if len(where):
                tokens = tokens.scatter(where, pii.encrypt_many(filled.gather(where).to_list(), field=pii_columns[name]))
            sealed.append(tokens)
            continue
        cells.append(pl.when(cell.is_not_null() & (cell != "")).then(
            pl.concat_str(pl.lit(json.dumps(name, ensure_ascii=False) + ":"), _json_string(cell))))
    for tokens in sealed:  # a sealed column goes last, as ``dict.pop`` + insert put it
        name = columns[int(tokens.name[1:])]
        frame = frame.with_columns(tokens)
        cell = pl.col(tokens.name)
        cells.append(pl.when(cell != "").then(
            pl.concat_str(pl.lit(json.dumps(f"{name}_enc", ensure_ascii=False) + ":"), _json_string(cell))))
    if not cells:
        return pl.Series("raw", ["{}"] * frame.height, dtype=pl.String)
    return frame.select(pl.concat_str(pl.lit("{"), pl.concat_str(cells, separator=",", ignore_nulls=True),
                                      pl.lit("}")).alias("raw"))["raw"]


def _plan_new_persons(plan: Plan, obs: pl.DataFrame, new_rows: pl.DataFrame, stated_parts: list[pl.DataFrame],
                      report: ImportReport) -> pl.DataFrame:
    """New persons: per field, the last row's value wins (one source, one precedence); a
    field all rows agree on without authority is the registry's own (kept on the records)."""
    first = new_rows.group_by("match_cluster", maintain_order=True).agg(pl.col("name").first())
    for cluster, name in first.iter_rows():
        plan.new_persons[cluster] = PersonValues(name=name)
    report.new_persons += first.height
    if obs.height == 0:
        return pl.DataFrame(schema=PROVENANCE_SCHEMA)
    grouped = obs.with_columns(
        last=pl.col("pos").max().over("cluster", "field"), n=pl.len().over("cluster", "field"),
        distinct=pl.col("value").n_unique().over("cluster", "field"),
    ).with_columns(winner_value=pl.col("value").filter(pl.col("pos") == pl.col("last")).first().over("cluster", "field"))
    winners = grouped.filter(pl.col("pos") == pl.col("last"))
    id_winners = winners.filter(pl.col("field") == "id_number").sort("pos")
    owned = sorted(_id_owners(id_winners["value"].to_list()))
    # An ID number registered already, or stated by an earlier new person of this plan (two
    # strangers, one of them mistyped), is not given again: the unique key would refuse the
    # whole import.
    refused = id_winners.filter(pl.col("value").is_in(owned) | ~pl.col("value").is_first_distinct())["cluster"]
    taken_id = (pl.col("field") == "id_number") & pl.col("cluster").is_in(refused.to_list())
    grouped = grouped.with_columns(taken=taken_id)
    given = winners.filter(~taken_id)
    rooms = room_places([int(v) for v in winners.filter(pl.col("field") == "residence")["plain"].to_list()])
    for cluster, name, plain in given.select("cluster", "field", "plain").iter_rows():
        apply_plain(plan.new_persons[cluster], name, plain, rooms)
    plan.new_ids.update(given.filter(pl.col("field") == "id_number")["value"].to_list())
    # An unplaced address always gets its provenance row: the next import matches on it
    # (``registry_keys``) and the place proposals list it.
    folded = (pl.col("distinct") == 1) & (pl.col("p") <= DEFAULT_PRECEDENCE) & ~pl.col("taken") & (
        pl.col("field") != "address")
    stated_parts.append(grouped.filter(folded).select("pos", "field", "value", "masked"))
    kept = grouped.filter(~folded)
    is_winner = pl.col("pos") == pl.col("last")
    return kept.select(
        "pos", pl.lit(None, pl.Int64).alias("person"), "cluster", "field", "value", "plain", "masked",
        pl.col("p").alias("precedence"), (is_winner & ~pl.col("taken")).alias("won"),
        pl.when(is_winner & pl.col("taken")).then(pl.lit(WinReason.ID_TAKEN))
        .when(is_winner & (pl.col("distinct") > 1)).then(pl.lit(WinReason.RECENCY))
        .when(is_winner & (pl.col("n") > 1)).then(pl.lit(WinReason.AGREED))
        .when(is_winner).then(pl.lit(WinReason.ONLY))
        .when(pl.col("value") == pl.col("winner_value")).then(pl.lit(WinReason.AGREED))
        .otherwise(pl.lit(WinReason.OUTRANKED)).alias("reason"),
    ).cast(PROVENANCE_SCHEMA)  # type: ignore[arg-type]


# The owner of an ID number a new person of the same plan takes (no person has this id).
_NEW_PERSON: Final = -1


def _id_owners(bidx: Sequence[str]) -> dict[str, int]:
    """ID numbers (blind indexes) already registered → their person."""
    owners: dict[str, int] = {}
    wanted = sorted(set(bidx))
    for start in range(0, len(wanted), chunk_size()):
        owners.update(Person.objects.filter(among("id_number_bidx", wanted[start:start + chunk_size()],
                                                  sql_type="text")).values_list("id_number_bidx", "id"))
    return owners


def _plan_existing(plan: Plan, obs: pl.DataFrame, persons: pl.DataFrame, stated_parts: list[pl.DataFrame], *,
                   source: Any, observed_at: datetime, same_rows: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """Matched persons: each value against the field's current winner (its provenance row,
    else the registry's own value); conflicts become tasks for the person's grid worker."""
    if obs.height == 0:
        return pl.DataFrame(schema=PROVENANCE_SCHEMA)
    # Persons are independent of each other: settled a slice of them at a time, so that the
    # registry's winners and the joined frames of a district file are never all in memory.
    slices = max(1, -(-obs.height // SETTLE_SLICE))
    parts: list[Settled] = []
    for at in range(slices):
        part = obs.filter(pl.col("person") % slices == at) if slices > 1 else obs
        parts.append(_settle_slice(part.select("pos", "person", "field", "value", "plain", "masked", "p"),
                                   persons.filter(pl.col("person") % slices == at) if slices > 1 else persons,
                                   source_id=source.pk, now_us=epoch_us(observed_at)))
        del part
    for part_settled in parts:
        stated_parts.append(part_settled.stated)
        plan.unwin.update(part_settled.unwin)
    entries = pl.concat([p.entries for p in parts])
    settled = Settled(entries=entries, stated=pl.DataFrame(), changes=pl.concat([p.changes for p in parts]),
                      conflicts=pl.concat([p.conflicts for p in parts]))
    del parts
    # An ID number registered to another person is never copied onto this one.
    winning_ids = entries.filter(pl.col("won") & (pl.col("field") == "id_number")).sort("pos")
    owners = _id_owners(winning_ids["value"].to_list())
    owners.update((value, _NEW_PERSON) for value in plan.new_ids if value not in owners)
    refused: set[tuple[int, str]] = set()
    for person, value in winning_ids.select("person", "value").iter_rows():
        if owners.setdefault(value, person) != person:  # the first person of this plan to win it keeps it
            refused.add((person, value))
    changes = settled.changes
    if refused:
        refused_frame = pl.DataFrame(list(refused), schema={"person": pl.Int64, "value": pl.String}, orient="row")
        hit = entries.join(refused_frame.with_columns(hit=pl.lit(value=True)), on=["person", "value"], how="left")
        hit = hit.with_columns(hit=pl.col("won") & (pl.col("field") == "id_number") & pl.col("hit").fill_null(
            value=False))
        entries = hit.with_columns(
            won=pl.col("won") & ~pl.col("hit"),
            reason=pl.when(pl.col("hit")).then(pl.lit(WinReason.ID_TAKEN)).otherwise(pl.col("reason")),
        ).drop("hit")
        changes = changes.filter(~((pl.col("field") == "id_number")
                                   & pl.col("person").is_in([p for p, _v in refused])))
    entries, changes, held_conflicts = _hold_stopping_claims(plan, entries, changes, settled.conflicts,
                                                             source=source)
    settled.conflicts = held_conflicts
    rooms = room_places([int(v) for v in changes.filter(pl.col("field") == "residence")["plain"].to_list()])
    for person, name, plain in changes.iter_rows():
        if name == "residence":
            room = int(plain)
            plan.person_updates.setdefault(person, {})[name] = (room, *rooms[room])
        elif name not in UNAPPLIED_FIELDS:
            plan.person_updates.setdefault(person, {})[name] = plain_value(name, plain)
        plan.changed_fields.setdefault(person, set()).add(name)
    _plan_tasks(plan, settled.conflicts, persons, source=source, same_rows=same_rows, report=report)
    return entries.select(
        "pos", "person", pl.lit(None, pl.String).alias("cluster"), "field", "value", "plain", "masked", "precedence",
        "won", "reason").cast(PROVENANCE_SCHEMA)  # type: ignore[arg-type]


def _hold_stopping_claims(plan: Plan, entries: pl.DataFrame, changes: pl.DataFrame, conflicts: pl.DataFrame, *,
                          source: Any) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A death that only this source claims is not applied: its provenance row loses as
    ``unverified`` (with the date of death), the registry's value keeps its place, and the
    claim becomes a verification task; when another source already claimed it, it stands."""
    claims = entries.filter(pl.any_horizontal(
        [(pl.col("field") == f) & (pl.col("value") == v) for f, v in STOPPING_CLAIMS.items()])
        & pl.col("won") & (pl.col("reason") != WinReason.AGREED))
    if claims.height == 0:
        return entries, changes, conflicts
    persons = sorted(set(claims["person"].to_list()))
    said = set(FieldProvenance.objects.filter(
        among("person_id", persons), field__in=list(STOPPING_CLAIMS),
        value__in=list(STOPPING_CLAIMS.values())).exclude(source_id=source.pk).values_list("person_id", "field"))
    held = {(p, f) for p, f in claims.select("person", "field").iter_rows()
            if claim_is_held(field=f, value=STOPPING_CLAIMS[f], agreed=False, other_sources_said=(p, f) in said)}
    if not held:
        return entries, changes, conflicts
    rows = [(p, g) for p, f in held for g in (f, *FOLLOWING_CLAIMS.get(f, ()))]
    held_frame = pl.DataFrame(rows, schema={"person": pl.Int64, "field": pl.String}, orient="row").with_columns(
        held=pl.lit(value=True))
    marked = entries.join(held_frame, on=["person", "field"], how="left").with_columns(
        held=pl.col("held").fill_null(value=False) & pl.col("won"))
    entries = marked.with_columns(
        won=pl.col("won") & ~pl.col("held"),
        reason=pl.when(pl.col("held")).then(pl.lit(WinReason.UNVERIFIED)).otherwise(pl.col("reason")),
    ).drop("held")
    changes = changes.join(held_frame.select("person", "field"), on=["person", "field"], how="anti")
    # The registry's provenance rows these claims would have unseated keep winning.
    kept = FieldProvenance.objects.filter(among("person_id", sorted({p for p, _g in rows})),
                                          field__in=sorted({g for _p, g in rows}), won=True)
    for prov_id, person_id, field_name in kept.values_list("pk", "person_id", "field"):
        if (person_id, field_name) in set(rows):
            plan.unwin.pop(prov_id, None)
    # Each held claim is a task, whether or not the registry had said anything.
    claim_rows = claims.join(pl.DataFrame(list(held), schema={"person": pl.Int64, "field": pl.String},
                                          orient="row"), on=["person", "field"], how="semi")
    present = set(conflicts.select("person", "field").iter_rows())
    extra = claim_rows.filter(~pl.Series([(p, f) in present for p, f in claim_rows.select("person", "field").iter_rows()],
                                         dtype=pl.Boolean)).select(
        "pos", "person", "field", "value", "masked", pl.lit("0").alias("cur_value"), pl.lit("").alias("cur_masked"),
        pl.lit(None, pl.Int64).alias("cur_source"), pl.lit(value=False).alias("unsure"),
        pl.lit(value=False).alias("in_file"))
    conflicts = conflicts.with_columns(
        unsure=pl.col("unsure") & ~pl.Series([(p, f) in held for p, f in conflicts.select("person", "field").iter_rows()],
                                             dtype=pl.Boolean))
    return entries, changes, pl.concat([conflicts, extra.cast(conflicts.schema)], how="vertical")


# Observations settled at a time (see ``_plan_existing``).
SETTLE_SLICE = 2_000_000


def _settle_slice(obs: pl.DataFrame, persons: pl.DataFrame, *, source_id: int | None, now_us: int) -> Settled:
    pairs = obs.select("person", "field").unique()
    winners = load_winners(persons["person"].to_list()).join(pairs, on=["person", "field"], how="semi")
    base = baseline_frame(persons, pairs.join(winners.select("person", "field"), on=["person", "field"], how="anti"))
    columns = ("person", "field", "w", "q", "wt", "wprov", "ws", "wmasked")
    current = pl.concat([
        winners.select(columns),
        base.with_columns(q=pl.lit(DEFAULT_PRECEDENCE, pl.Int64), wprov=pl.lit(None, pl.Int64),
                          ws=pl.lit(None, pl.Int64)).select(columns),
    ])
    del winners, base, pairs
    return settle(obs, current, source_id=source_id, now_us=now_us)


def _said_before(stated: dict[str, Any] | None, field_name: str, value: str) -> bool:
    """Whether this source's earlier row stated ``value`` (kept compactly on its record)."""
    if not stated or field_name not in stated:
        return False
    key = value[:STATED_PII_KEY] if field_name in PII_FIELDS else value
    held = stated[field_name]
    return str(held[0] if isinstance(held, list) else held) == key


def _stated_before(source: Any, person_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Per person, what this source's earlier rows stated without a provenance row — to
    tell a source correcting itself from a conflict between sources."""
    found: dict[int, dict[str, Any]] = {}
    if not person_ids or source.pk is None:
        return found
    ordered = sorted(person_ids)
    for start in range(0, len(ordered), chunk_size()):
        for person_id, stated in SourceRecord.objects.filter(
            among("person_id", ordered[start:start + chunk_size()]), source=source,
        ).exclude(stated={}).values_list("person_id", "stated"):
            found.setdefault(person_id, {}).update(stated or {})
    return found


def _plan_tasks(plan: Plan, conflicts: pl.DataFrame, persons: pl.DataFrame, *, source: Any,
                same_rows: pl.DataFrame, report: ImportReport) -> None:
    """Count the conflicts and open one verification task per (person, field) without an
    open one. A disagreement with the registry's own value is no conflict when this source
    said that value before (it is correcting itself)."""
    if conflicts.height == 0:
        return
    unsure = conflicts.filter(pl.col("unsure") & ~pl.col("in_file"))
    earlier = _stated_before(source, set(unsure["person"].to_list()))
    keep = [not (row["unsure"] and (row["in_file"] or _said_before(
        earlier.get(row["person"]), row["field"], row["cur_value"]))) for row in conflicts.iter_rows(named=True)]
    counted = conflicts.filter(pl.Series(keep, dtype=pl.Boolean)).sort("unsure", "pos")
    report.conflicts += counted.height
    grids = dict(zip(persons["person"].to_list(), persons["grid_id"].to_list(), strict=True))
    ids = sorted(set(counted["person"].to_list()))
    open_tasks: set[tuple[int, str]] = set()
    for start in range(0, len(ids), chunk_size()):
        open_tasks.update(VerificationTask.objects.filter(among("person_id", ids[start:start + chunk_size()]),
                                                          status=TaskStatus.OPEN).values_list("person_id", "field"))
    assignees = grid_assignees() if counted.height else {}
    row_numbers = dict(zip(same_rows["pos"].to_list(), same_rows["row_number"].to_list(), strict=True))
    for row in counted.iter_rows(named=True):
        key = (row["person"], row["field"])
        if key in open_tasks:
            continue
        open_tasks.add(key)
        grid_id = grids.get(row["person"])
        plan.tasks.append({
            "person": row["person"], "field": row["field"], "grid": grid_id,
            "assignee": assignees.get(grid_id) if grid_id else None,
            "evidence": _evidence(row, source, int(row_numbers.get(row["pos"]) or 0)),
        })


def _evidence(row: dict[str, Any], source: Any, row_number: int) -> dict[str, Any]:
    """What the task shows: the incoming value and what the registry holds — personal
    identifiers only masked (the blind index is never put in the evidence)."""
    name = row["field"]

    def shown(value: str, masked: str) -> str:
        return masked if name in PII_FIELDS or name == "residence" else value

    return {
        "field": name,
        "incoming": {"source": source.code, "department": source.department, "row": row_number,
                     "value": shown(row["value"], row["masked"])},
        "current": {"source_id": row["cur_source"], "value": "" if name in PII_FIELDS else row["cur_value"],
                    "masked": shown(row["cur_value"], row["cur_masked"])},
    }


def _plan_tags(definition: Any, norm: Normalised, indices: Sequence[int], fused: pl.DataFrame,
               rows: pl.DataFrame, observed_at: datetime, source: Any) -> pl.DataFrame:
    """Tags the fused rows carry by the source's rules (raw cell non-empty / among the values)."""
    rules = [r for r in (getattr(definition, "tags", []) or []) if str(r.kind) in TagKind.values]
    if not rules or fused.height == 0:
        return pl.DataFrame(schema=TAG_SCHEMA)
    positions = fused["pos"].to_list()
    parts: list[pl.DataFrame] = []
    extra = rows.select(
        "pos", column(rows, "valid_from", pl.Date).alias("valid_from"), column(rows, "valid_to", pl.Date).alias(
            "valid_to"), column(rows, "disability_grade", pl.Int64).alias("grade"))
    raw = raw_frame(norm)
    at_rows = pl.Series(list(indices), dtype=pl.Int64).gather(pl.Series(positions, dtype=pl.Int64))
    for order, rule in enumerate(rules):
        if rule.column not in raw.columns:
            continue
        hit = tag_hits(raw[rule.column].gather(at_rows), rule)
        hits = pl.Series(positions, dtype=pl.Int64).filter(hit).to_list()
        if not hits:
            continue
        kind = str(rule.kind)
        part = pl.DataFrame({"pos": pl.Series(hits, dtype=pl.Int64)}).join(fused, on="pos").join(extra, on="pos")
        note = pl.lit("")
        if kind == TagKind.DISABLED:
            note = pl.when(pl.col("grade").is_not_null()).then(
                pl.concat_str(pl.col("grade").cast(pl.Float64).cast(pl.Int64).cast(pl.String), pl.lit("级")),
            ).otherwise(pl.lit(""))
        parts.append(part.select(
            "pos", "person", "cluster", pl.lit(kind).alias("kind"),
            pl.col("valid_from").fill_null(observed_at.date()), "valid_to", note.alias("note"),
            pl.lit(rule.benefit).alias("benefit"), pl.lit(order).alias("order"),
        ))
    if not parts:
        return pl.DataFrame(schema=TAG_SCHEMA)
    return pl.concat(parts).sort("pos", "order").drop("order").cast(TAG_SCHEMA)  # type: ignore[arg-type]


__all__ = ["PLAN_SLICE_ROWS", "Plan", "build_plan", "plain_value", "plan_slices"]
