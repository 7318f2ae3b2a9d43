"""Winners of existing persons' fields: an import's values against the registry's.

Within one import every value of a field has the same precedence (the source's), so a
(person, field) stated by one row — nearly all of them — is settled by a handful of column
expressions; the few stated by several rows of the file are walked in row order, exactly as
one value after another would be (each may take over from the one before).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from linli.fusion.workflow import CONFLICT_FIELDS, WinReason

ENTRY_SCHEMA: Final = {"pos": pl.Int64, "person": pl.Int64, "field": pl.String, "value": pl.String,
                       "plain": pl.String, "masked": pl.String, "precedence": pl.Int64, "won": pl.Boolean,
                       "reason": pl.String}
STATED_SCHEMA: Final = {"pos": pl.Int64, "field": pl.String, "value": pl.String, "masked": pl.String}
CHANGE_SCHEMA: Final = {"person": pl.Int64, "field": pl.String, "plain": pl.String}
# A conflict: the row, the incoming value, what it was compared with, and whether that was the
# registry's own value (``unsure``: a conflict unless this source said it before).
CONFLICT_SCHEMA: Final = {"pos": pl.Int64, "person": pl.Int64, "field": pl.String, "value": pl.String,
                          "masked": pl.String, "cur_value": pl.String, "cur_masked": pl.String,
                          "cur_source": pl.Int64, "unsure": pl.Boolean, "in_file": pl.Boolean}


@dataclass
class Settled:
    entries: pl.DataFrame  # provenance rows to write
    stated: pl.DataFrame  # values kept on their records (they agree, with no more authority)
    changes: pl.DataFrame  # registry values that change: (person, field) → plain
    conflicts: pl.DataFrame
    unwin: dict[int, str] = field(default_factory=dict)  # provenance id → why it no longer wins


def settle(obs: pl.DataFrame, winners: pl.DataFrame, *, source_id: int | None, now_us: int) -> Settled:
    """``obs``: pos, person, field, value, plain, masked, p (this source's precedence);
    ``winners``: person, field, w, q, wt, wprov, ws, wmasked (baseline: q 0, no wprov/ws)."""
    joined = obs.join(winners, on=["person", "field"], how="left").with_columns(
        pl.col("w").fill_null(""), pl.col("wmasked").fill_null(""), pl.col("q").fill_null(0),
        pl.col("wt").fill_null(0), worder=pl.col("wprov").fill_null(-1),
        n=pl.len().over("person", "field"),
    )
    single = joined.filter(pl.col("n") == 1)
    # Several rows against a winner older than this import: set-based; a winner stamped at
    # or after it (an import replayed with an earlier date) one value after another.
    regular = (pl.col("n") > 1) & (pl.col("wt") < now_us)
    parts = [_settle_single(single, source_id=source_id, now_us=now_us),
             _settle_run(joined.filter(regular), source_id=source_id),
             _settle_several(joined.filter((pl.col("n") > 1) & ~regular).sort("person", "field", "pos"),
                             source_id=source_id, now_us=now_us)]
    unwin: dict[int, str] = {}
    for part in parts:
        unwin.update(part.unwin)
    return Settled(
        entries=pl.concat([p.entries for p in parts]), stated=pl.concat([p.stated for p in parts]),
        changes=pl.concat([p.changes for p in parts]), conflicts=pl.concat([p.conflicts for p in parts]),
        unwin=unwin,
    )


def _settle_single(frame: pl.DataFrame, *, source_id: int | None, now_us: int) -> Settled:
    v, w, p, q = pl.col("value"), pl.col("w"), pl.col("p"), pl.col("q")
    # The registry's winner keeps its place against (precedence, time, order) of the row.
    beats = (q > p) | ((q == p) & ((pl.col("wt") > now_us) | ((pl.col("wt") == now_us)
                                                                & (pl.col("worder") > pl.col("pos")))))
    same_source = pl.col("ws").is_not_null() & (pl.col("ws") == (source_id if source_id is not None else -1))
    flagged = frame.with_columns(
        conflict=pl.col("field").is_in(sorted(CONFLICT_FIELDS)) & (w != "") & (v != "") & (v != w) & ~same_source,
        stated=(v == w) & (p <= q), agreed=(v == w) & (p > q), takes=(v != w) & ~beats,
    )
    conflicts = flagged.filter("conflict").select(
        "pos", "person", "field", "value", "masked", pl.col("w").alias("cur_value"),
        pl.col("wmasked").alias("cur_masked"), pl.col("ws").alias("cur_source"),
        pl.col("ws").is_null().alias("unsure"), pl.lit(value=False).alias("in_file"))
    stated = flagged.filter("stated").select("pos", "field", "value", "masked")
    entries = flagged.filter(~pl.col("stated")).with_columns(
        won=pl.col("agreed") | pl.col("takes"),
        reason=pl.when(pl.col("agreed")).then(pl.lit(WinReason.AGREED))
        .when(pl.col("takes") & (p > q)).then(pl.lit(WinReason.AUTHORITATIVE))
        .when(pl.col("takes")).then(pl.lit(WinReason.RECENCY))
        .when(p < q).then(pl.lit(WinReason.OUTRANKED)).otherwise(pl.lit(WinReason.SUPERSEDED)),
        # What the registry's winner becomes when this row displaces it.
        unseated=pl.when(pl.col("agreed")).then(pl.lit(WinReason.AGREED))
        .when(q < p).then(pl.lit(WinReason.OUTRANKED)).otherwise(pl.lit(WinReason.SUPERSEDED)),
    )
    displaced = entries.filter(pl.col("won") & pl.col("wprov").is_not_null())
    unwin = dict(zip(displaced["wprov"].to_list(), displaced["unseated"].to_list(), strict=True))
    changes = entries.filter("takes").select("person", "field", "plain")
    return Settled(
        entries=entries.select("pos", "person", "field", "value", "plain", "masked", pl.col("p").alias("precedence"),
                               "won", "reason").cast(ENTRY_SCHEMA),  # type: ignore[arg-type]
        stated=stated.cast(STATED_SCHEMA), changes=changes.cast(CHANGE_SCHEMA),  # type: ignore[arg-type]
        conflicts=conflicts.cast(CONFLICT_SCHEMA), unwin=unwin,  # type: ignore[arg-type]
    )


def _settle_run(frame: pl.DataFrame, *, source_id: int | None) -> Settled:
    """Several rows of the file state one (person, field) whose winner predates the import.

    All carry this source's precedence ``p``. If the winner's ``q`` is higher, it stays and
    every differing value loses. Otherwise each row is compared with the value before it —
    the winner's until a row differs (or, with ``p > q``, at once) — and each differing
    value takes over: the last one wins, earlier ones are superseded.
    """
    v, w, p, q = pl.col("value"), pl.col("w"), pl.col("p"), pl.col("q")
    ordered = frame.sort("person", "field", "pos")
    # One integer per (person, field) run: cheaper window keys than the two columns.
    starts = (pl.col("person") != pl.col("person").shift(1)) | (pl.col("field") != pl.col("field").shift(1))
    ordered = ordered.with_columns(gid=starts.fill_null(value=True).cum_sum())
    group = "gid"
    ordered = ordered.with_columns(
        k=pl.int_range(pl.len()).over(group), prev=v.shift(1).over(group),
        earlier_diff=(v != w).cast(pl.Int32).cum_sum().shift(1, fill_value=0).over(group),
    )
    keeps = q > p
    still_w = keeps | (pl.col("k") == 0) | ((p == q) & (pl.col("earlier_diff") == 0))
    cur_value = pl.when(still_w).then(w).otherwise(pl.col("prev"))
    cur_prec = pl.when(still_w).then(q).otherwise(p)
    same_source = pl.col("ws").is_not_null() & (pl.col("ws") == (source_id if source_id is not None else -1))
    flagged = ordered.with_columns(
        still_w=still_w, cur_value=cur_value, cur_prec=cur_prec, keeps=keeps,
        stated=(v == cur_value) & (p <= cur_prec),
    ).with_columns(
        conflict=pl.col("still_w") & pl.col("field").is_in(sorted(CONFLICT_FIELDS)) & (w != "") & (v != "")
        & (v != w) & ~same_source,
        in_file=(pl.col("still_w") & pl.col("stated")).cast(pl.Int32).cum_sum().shift(1, fill_value=0).over(group) > 0,
    )
    conflicts = flagged.filter("conflict").select(
        "pos", "person", "field", "value", "masked", pl.col("w").alias("cur_value"),
        pl.col("wmasked").alias("cur_masked"), pl.col("ws").alias("cur_source"),
        pl.col("ws").is_null().alias("unsure"), "in_file")
    stated = flagged.filter("stated").select("pos", "field", "value", "masked")
    entries = flagged.filter(~pl.col("stated")).with_columns(
        last=pl.col("pos") == pl.col("pos").max().over(group), first=pl.col("pos") == pl.col("pos").min().over(group),
        takes=~pl.col("keeps") & (v != pl.col("cur_value")),
    )
    agreed = v == pl.col("cur_value")
    entries = entries.with_columns(
        won=~pl.col("keeps") & pl.col("last"),
        reason=pl.when(pl.col("keeps")).then(pl.lit(WinReason.OUTRANKED))
        .when(~pl.col("last")).then(pl.lit(WinReason.SUPERSEDED))
        .when(agreed).then(pl.lit(WinReason.AGREED))
        .when(p > pl.col("cur_prec")).then(pl.lit(WinReason.AUTHORITATIVE)).otherwise(pl.lit(WinReason.RECENCY)),
        unseated=pl.when(agreed).then(pl.lit(WinReason.AGREED))
        .when(q < p).then(pl.lit(WinReason.OUTRANKED)).otherwise(pl.lit(WinReason.SUPERSEDED)),
    )
    displaced = entries.filter(~pl.col("keeps") & pl.col("first") & pl.col("wprov").is_not_null())
    unwin = dict(zip(displaced["wprov"].to_list(), displaced["unseated"].to_list(), strict=True))
    changed = entries.with_columns(any_take=pl.col("takes").any().over(group)).filter(
        pl.col("last") & pl.col("any_take"))
    return Settled(
        entries=entries.select("pos", "person", "field", "value", "plain", "masked", pl.col("p").alias("precedence"),
                               "won", "reason").cast(ENTRY_SCHEMA),  # type: ignore[arg-type]
        stated=stated.cast(STATED_SCHEMA),  # type: ignore[arg-type]
        changes=changed.select("person", "field", "plain").cast(CHANGE_SCHEMA),  # type: ignore[arg-type]
        conflicts=conflicts.cast(CONFLICT_SCHEMA), unwin=unwin,  # type: ignore[arg-type]
    )


def _loser(winner_prec: int, loser_prec: int, *, same_value: bool) -> str:
    if same_value:
        return WinReason.AGREED
    return WinReason.OUTRANKED if loser_prec < winner_prec else WinReason.SUPERSEDED


def _settle_several(frame: pl.DataFrame, *, source_id: int | None, now_us: int) -> Settled:
    """(person, field) pairs stated by several rows: one value after another, in row order."""
    entries: list[dict[str, Any]] = []
    stated: list[tuple[int, str, str, str]] = []
    changes: list[tuple[int, str, str]] = []
    conflicts: list[dict[str, Any]] = []
    unwin: dict[int, str] = {}
    conflict_fields = CONFLICT_FIELDS
    key: tuple[int, str] | None = None
    cur: dict[str, Any] = {}
    held_entry: dict[str, Any] | None = None
    said_w = False
    changed: str | None = None

    def close() -> None:
        if key is not None and changed is not None:
            changes.append((key[0], key[1], changed))

    for row in frame.iter_rows(named=True):
        pair = (row["person"], row["field"])
        if pair != key:
            close()
            key, changed, held_entry, said_w = pair, None, None, False
            # ``entry`` None: the current winner is the registry's (``W``).
            cur = {"value": row["w"], "prec": row["q"], "at": row["wt"], "order": row["worder"],
                   "source": row["ws"], "masked": row["wmasked"], "entry": None, "prov": row["wprov"]}
        value, prec, pos = row["value"], row["p"], row["pos"]
        if (row["field"] in conflict_fields and cur["value"] != "" and value != "" and cur["value"] != value
                and cur["source"] != source_id):
            conflicts.append({"pos": pos, "person": key[0], "field": key[1], "value": value, "masked": row["masked"],
                              "cur_value": cur["value"], "cur_masked": cur["masked"], "cur_source": cur["source"],
                              "unsure": cur["source"] is None, "in_file": said_w})
        if value == cur["value"] and prec <= cur["prec"]:
            stated.append((pos, key[1], value, row["masked"]))
            if held_entry is None and cur["entry"] is None:
                said_w = True
            continue
        entry = {"pos": pos, "person": key[0], "field": key[1], "value": value, "plain": row["plain"],
                 "masked": row["masked"], "precedence": prec, "won": False, "reason": ""}
        if value == cur["value"] or (prec, now_us, pos) >= (cur["prec"], cur["at"], cur["order"]):
            same = value == cur["value"]
            entry["won"] = True
            entry["reason"] = (WinReason.AGREED if same else WinReason.AUTHORITATIVE if prec > cur["prec"]
                               else WinReason.RECENCY)
            why = _loser(prec, cur["prec"], same_value=same)
            if cur["entry"] is not None:
                cur["entry"]["won"], cur["entry"]["reason"] = False, why
            elif cur["prov"] is not None:
                unwin[cur["prov"]] = why
            if not same:
                changed = row["plain"]
            cur = {"value": value, "prec": prec, "at": now_us, "order": pos, "source": source_id,
                   "masked": row["masked"], "entry": entry, "prov": None}
            held_entry = entry
        else:
            entry["reason"] = _loser(cur["prec"], prec, same_value=False)
        entries.append(entry)
    close()
    return Settled(
        entries=pl.DataFrame(entries, schema=ENTRY_SCHEMA), stated=pl.DataFrame(stated, schema=STATED_SCHEMA, orient="row"),
        changes=pl.DataFrame(changes, schema=CHANGE_SCHEMA, orient="row"),
        conflicts=pl.DataFrame(conflicts, schema=CONFLICT_SCHEMA), unwin=unwin,
    )
