"""Record linkage of normalised export rows against the registry, and inside one batch.

Pure and in memory: the registry's keys arrive once as a Polars frame (``RegistryKeys``,
columns in :data:`REGISTRY_SCHEMA`); the matcher never queries per row. Identifiers are
compared through the keyed blind index; the plaintext ID of a *candidate* is asked for
(``decrypt_id``) only to tell an ID typo from a different person.

1. A valid ID whose blind index is in the registry → that person (``id_exact``), unless the
   name and the birth date both disagree (someone else's ID copied in) → review.
2. Every other record (no ID, invalid ID, a valid ID nobody has) gets candidates from
   blocking keys — surname pinyin + birth date, phone, building + unit + room, name pinyin +
   birth year, name pinyin + building — and each pair is scored by adding per-field weights
   (a hand-set Fellegi–Sunter model, see :class:`Weights`). Best candidate ≥ ``same`` →
   that person (``score``, or ``id_fuzzy`` when the IDs differ by a typo); ≥ ``review`` or a
   close runner-up → review; else new.
3. Records left new are clustered among themselves with the same blocking and scoring (plus
   plaintext ID equality), so duplicates inside an export, or the same newcomer in two
   exports, become one new person. A cluster never joins two registry persons or two
   different valid IDs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from linli.fusion.match.clusters import settle_clusters
from linli.fusion.match.compare import (
    _LEVELS,
    Thresholds,
    Weights,
    _levels,
    _score,
    id_distance_levels,
)
from linli.fusion.match.keys import (
    PII_ID_NUMBER,
    PII_PHONE,
    RECORD_COLUMNS,
    REGISTRY_SCHEMA,
    BlindIndex,
    DecryptId,
    _birth_columns,
    _with_name_keys,
    blind_series,
    id_hint,
)
from linli.fusion.normalise.columns import normalised_names


@dataclass(frozen=True)
class MatchDecision:
    """One record's decision, as a plain object (the frame has the same columns)."""

    record_index: int
    person_key: str
    outcome: str
    how: str
    score: float
    person_id: int | None = None
    candidate_id: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)



DECISION_SCHEMA: Final[dict[str, pl.DataType]] = {
    "record_index": pl.Int64(), "person_id": pl.Int64(), "person_key": pl.String(), "outcome": pl.String(),
    "how": pl.String(), "score": pl.Float64(), "candidate_id": pl.Int64(), "evidence": pl.String(),
}


@dataclass
class MatchStats:
    """Counts of the last run, for reports and benchmarks."""

    records: int = 0
    id_exact: int = 0
    candidate_pairs: int = 0
    record_pairs: int = 0
    decrypted: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    estimate: Any = None  # the batch's em.Estimate when the matcher estimates its weights


# A pair whose only evidence is the name, the sex and the room (no ID, birth or phone on
# either side to agree or disagree): the same room, the same sex and a name graded alike.
_ROOM_RULE: Final = (
    (pl.col("address") == "room") & (pl.col("sex") == "same")
    & pl.col("name").is_in(["exact", "homophone", "fuzzy", "close"])
    & (pl.col("id") == "missing") & (pl.col("birth") == "missing") & (pl.col("phone") == "missing")
)

# A pair that agrees on nothing but the name (and sex) while the rows name different
# buildings, with no ID, birth or phone on either side: a namesake elsewhere, not a reason
# to hold the row for review — it makes (or joins) a new person. Only a positive sign sends
# a row to review.
_NAME_ELSEWHERE: Final = (
    (pl.col("address") == "different") & ~pl.col("name").is_in(["missing"])
    & (pl.col("id") == "missing") & (pl.col("birth") == "missing") & (pl.col("phone") == "missing")
)

# Records whose candidate pairs are built and scored at a time.
CHUNK_RECORDS: Final = 20_000


class Matcher:
    """Matches normalised records against registry keys loaded once.

    ``registry`` has the columns of :data:`REGISTRY_SCHEMA` (extra columns are ignored;
    ``name_pinyin``/``initials`` may be empty: the matcher reads names itself). ``blind``
    maps ``(value, field)`` to the keyed blind index (default: :func:`linli.core.pii.blind_index`);
    ``decrypt_id`` returns a candidate person's plaintext ID, or ``None``.
    """

    def __init__(
        self,
        registry: pl.DataFrame,
        *,
        blind: BlindIndex | None = None,
        decrypt_id: DecryptId | None = None,
        weights: Weights | None = None,
        thresholds: Thresholds | None = None,
        max_block: int = 50,
        estimate: bool = False,
    ) -> None:
        self.blind = blind
        self.decrypt_id = decrypt_id
        self.weights = weights or Weights()
        self.thresholds = thresholds or Thresholds()
        self.max_block = max_block
        # Fellegi–Sunter m/u estimated from each batch by EM, the weights as priors (opt-in).
        self.estimate_weights = estimate
        self._prior = (self.weights, self.thresholds)
        self.stats = MatchStats()
        self._decrypted: dict[int, str | None] = {}
        missing = [c for c in ("person_id", "name", "birth_date") if c not in registry.columns]
        if missing:
            raise ValueError(f"registry keys lack columns {missing}")
        reg = registry.select([
            (pl.col(c).cast(t) if c in registry.columns else pl.lit(None, dtype=t)).alias(c)
            for c, t in REGISTRY_SCHEMA.items()
        ])
        reg = reg.with_columns(pl.col(c).replace("", None) for c in ("id_bidx", "phone_bidx", "building_key",
                                                                      "unit", "room", "sex", "name"))
        reg = reg.with_columns(normalised_names(reg["name"]).alias("name"))
        reg = reg.with_columns(pl.col("id_hint").replace("", None).alias("_hint"))
        reg = _with_name_keys(reg).with_columns(
            *_birth_columns(pl.col("birth_date")), pl.col("phone_bidx").alias("_phone"),
        ).with_columns(pl.col("_bstr").str.slice(0, 6).alias("_ym"))
        self.registry = reg.with_row_index("ci")
        self._by_id = self.registry.filter(pl.col("id_bidx").is_not_null()).unique("id_bidx", keep="first")

    # -- preparing records ---------------------------------------------------------------------

    def _prepare(self, records: pl.DataFrame) -> pl.DataFrame:
        frame = records.select([
            (pl.col(c) if c in records.columns else pl.lit(None)).alias(c) for c in RECORD_COLUMNS
        ]).with_columns(
            pl.col("name").cast(pl.String), pl.col("id_number").cast(pl.String),
            pl.col("id_valid").cast(pl.Boolean).fill_null(value=False), pl.col("birth_date").cast(pl.Date),
            pl.col("sex").cast(pl.String), pl.col("phone").cast(pl.String),
            pl.col("building_key").cast(pl.String).replace("", None), pl.col("unit").cast(pl.String),
            pl.col("room").cast(pl.String), pl.col("birth_year_month").cast(pl.String).replace("", None),
        )
        frame = _with_name_keys(frame)
        from_id = pl.col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
        frame = frame.with_columns(*_birth_columns(pl.coalesce("birth_date", from_id)),
                                   (pl.col("birth_date").is_null() & ~pl.col("id_valid")).alias("_bsoft"))
        # A year and month (or a year) only (出生年月): partial birth evidence, and the year blocks.
        partial = pl.col("birth_year_month")
        frame = frame.with_columns(
            pl.when(pl.col("birth_date").is_null() & partial.is_not_null()).then(partial)
            .otherwise(pl.col("_bstr").str.slice(0, 6)).alias("_ym"),
            pl.coalesce(pl.when(pl.col("birth_date").is_not_null()).then(pl.col("_year")),
                        partial.str.slice(0, 4).cast(pl.Int32, strict=False), pl.col("_year")).alias("_year"),
        )
        id_bidx = blind_series(frame.select(pl.when(pl.col("id_valid")).then(pl.col("id_number")).alias("v"))["v"],
                               PII_ID_NUMBER, self.blind)
        phone_bidx = blind_series(frame["phone"], PII_PHONE, self.blind)
        frame = frame.with_columns(id_bidx.alias("id_bidx"), phone_bidx.alias("_phone"),
                                   id_hint(pl.col("id_number")).alias("_hint"))
        return frame.with_row_index("ri")

    # -- blocking ------------------------------------------------------------------------------

    # Surname + birth date catches given-name variants; phone and flat catch missing births;
    # name + ID hint (first 4 + last 4, what the registry shows masked) catches an ID typo
    # in the birth digits; name alone is the last resort for rows with little else.
    _BLOCKS: Final = (
        ("_sur", "_birth"), ("_phone",), ("building_key", "unit", "room"), ("_py", "_year"),
        ("_py", "building_key"), ("_py", "_hint"), ("_py",),
    )
    # Against the registry only, the birth date alone too: a name spelt another way (given
    # name and surname swapped, a first letter mistyped) and a flat mistyped meet on nothing
    # else. Inside a batch the rows of one newcomer share name keys or flat; this block
    # there would only add pairs to score.
    _REGISTRY_BLOCKS: Final = (*_BLOCKS, ("_birth",))

    def _right_blocks(self, right: pl.DataFrame, right_key: str, left: pl.DataFrame,
                      keys_list: tuple[tuple[str, ...], ...] = _BLOCKS) -> list[tuple[list[str], pl.DataFrame]]:
        """Per blocking key, the right side's (key, id) rows without its oversized blocks and
        only for keys some ``left`` record has — built once, then joined with one chunk of
        ``left`` after another."""
        blocks = []
        for keys in keys_list:
            cols = list(keys)
            rk = right.select(right_key, *cols).drop_nulls()
            big = rk.group_by(cols).len().filter(pl.col("len") > self.max_block).select(cols)
            if big.height:
                rk = rk.join(big, on=cols, how="anti")
            blocks.append((cols, rk.join(left.select(cols).drop_nulls().unique(), on=cols, how="semi")))
        return blocks

    def _block(self, left: pl.DataFrame, blocks: list[tuple[list[str], pl.DataFrame]], right_key: str, *,
               self_join: bool) -> pl.DataFrame:
        pairs = []
        for cols, rk in blocks:
            lk = left.select("ri", *cols).drop_nulls()
            joined = lk.join(rk, on=cols, how="inner").select("ri", right_key)
            if self_join:
                joined = joined.filter(pl.col("ri") != pl.col(right_key))
            pairs.append(joined)
        if not pairs:
            return pl.DataFrame(schema={"ri": pl.UInt32, right_key: pl.UInt32})
        return pl.concat(pairs).unique()

    # -- scoring -------------------------------------------------------------------------------

    _SIDE: Final = ("name", "_py", "_fz", "sex", "_birth", "_year", "_bstr", "_bsoft", "_ym", "building_key", "unit",
                    "room", "_phone")

    def _pair_frame(self, pairs: pl.DataFrame, left: pl.DataFrame, right: pl.DataFrame, right_key: str,
                    extra: Iterable[str]) -> pl.DataFrame:
        lcols = [*self._SIDE, *extra]
        lsel = left.select("ri", *[pl.col(c).alias(f"l_{c}") for c in lcols])
        rsel = right.select(pl.col(right_key), *[pl.col(c).alias(f"r_{c}") for c in lcols if c in right.columns])
        return pairs.join(lsel, on="ri", how="left").join(rsel, on=right_key, how="left")

    def _candidate_id_levels(self, pairs: pl.DataFrame) -> pl.Series:
        """``id`` level of record × registry pairs; decrypts candidates only where it decides."""
        has_both = pairs.select(pl.col("l_id_number").is_not_null() & pl.col("r_id_bidx").is_not_null())[
            "l_id_number"]
        if self.decrypt_id is None:
            return pairs.select(
                pl.when(~has_both).then(pl.lit("missing"))
                .when(pl.col("l_id_valid")).then(pl.lit("different"))
                .otherwise(pl.lit("missing")).alias("id"))["id"]
        decrypt, cache = self.decrypt_id, self._decrypted
        asked = pairs.filter(has_both)["person_id"].unique().to_list()
        missing = [person_id for person_id in asked if person_id not in cache]
        # A ``decrypt_id`` with a ``many`` method takes them in one call (no per-person lookup).
        many = getattr(decrypt, "many", None)
        plains = many(missing) if many is not None else [decrypt(person_id) for person_id in missing]
        cache.update(zip(missing, plains, strict=True))
        self.stats.decrypted += len(missing)
        both = pairs.filter(has_both)
        plain = both["person_id"].replace_strict(asked, [cache[p] for p in asked], return_dtype=pl.String)
        levels = pl.Series("id", ["missing"] * pairs.height, dtype=pl.String)
        if both.height:
            found = id_distance_levels(both["l_id_number"], plain)
            levels = levels.scatter(has_both.arg_true(), found)
        return levels

    def _score_candidates(self, recs: pl.DataFrame, open_recs: pl.DataFrame) -> pl.DataFrame:
        """Each open record's best candidate, with the runner-up's score — scored
        :data:`CHUNK_RECORDS` records at a time: the pairs of a district file whole (with
        both sides' columns) would take gigabytes."""
        best = [_score(frame, self.weights).with_columns(_ROOM_RULE.alias("_room_rule"))
                .sort(["ri", "_room_rule", "score", "person_id"], descending=[False, True, True, False])
                .with_columns(pl.col("score").shift(-1).over("ri").alias("runner_up"),
                              pl.col("_room_rule").sum().over("ri").alias("room_candidates"),
                              pl.int_range(pl.len()).over("ri").alias("rank"))
                .filter(pl.col("rank") == 0)
                for frame in self._candidate_levels(recs, open_recs)]
        return pl.concat(best, how="vertical_relaxed")

    def _candidate_levels(self, recs: pl.DataFrame, open_recs: pl.DataFrame) -> Iterator[pl.DataFrame]:
        """The comparison levels of the open records' candidate pairs, a chunk of records at
        a time."""
        reg = self.registry
        blocks = self._right_blocks(reg, "ci", open_recs, self._REGISTRY_BLOCKS)
        for start in range(0, max(open_recs.height, 1), CHUNK_RECORDS):
            pairs = self._block(open_recs.slice(start, CHUNK_RECORDS), blocks, "ci", self_join=False)
            self.stats.candidate_pairs += pairs.height
            frame = self._pair_frame(pairs, recs, reg, "ci", ("id_number", "id_valid"))
            frame = frame.join(reg.select("ci", "person_id", pl.col("id_bidx").alias("r_id_bidx")), on="ci",
                               how="left")
            frame = _levels(frame, record_record=False)
            yield frame.with_columns(self._candidate_id_levels(frame))

    def _random_levels(self, recs: pl.DataFrame, n: int = 50_000, seed: int = 17) -> pl.DataFrame:
        """Levels of random record × registry pairs: almost all non-matches, so their level
        frequencies estimate u (as Splink does), free of what blocking selects."""
        import numpy as np

        if not recs.height or not self.registry.height:
            return pl.DataFrame(schema=dict.fromkeys(_LEVELS, pl.String))
        rng = np.random.default_rng(seed)
        pairs = pl.DataFrame({"ri": pl.Series(rng.integers(0, recs.height, n), dtype=pl.UInt32),
                              "ci": pl.Series(rng.integers(0, self.registry.height, n), dtype=pl.UInt32)})
        frame = self._pair_frame(pairs, recs, self.registry, "ci", ("id_number", "id_valid"))
        frame = frame.join(self.registry.select("ci", "person_id", pl.col("id_bidx").alias("r_id_bidx")), on="ci",
                           how="left")
        frame = _levels(frame, record_record=False)
        # Random pairs' ID numbers differ (or one is missing): no decryption needed.
        missing = pl.col("l_id_number").is_null() | pl.col("r_id_bidx").is_null()
        return frame.with_columns(pl.when(missing).then(pl.lit("missing")).otherwise(pl.lit("different")).alias("id")
                                  ).select(*_LEVELS)

    def _estimate(self, recs: pl.DataFrame, open_recs: pl.DataFrame) -> None:
        """Weights and thresholds of this batch by EM (``estimate=True``; see :mod:`.em`)."""
        from linli.fusion.match.em import estimate

        levels = [frame.select(*_LEVELS) for frame in self._candidate_levels(recs, open_recs)]
        self.stats.candidate_pairs = 0  # counted again when scored
        found = estimate(pl.concat(levels) if levels else pl.DataFrame(schema=dict.fromkeys(_LEVELS, pl.String)),
                         self._prior[0], margin=self._prior[1].margin, random_pairs=self._random_levels(recs))
        self.weights, self.thresholds, self.stats.estimate = found.weights, found.thresholds, found

    # -- the run -------------------------------------------------------------------------------

    def match(self, records: pl.DataFrame) -> pl.DataFrame:
        """Decisions for ``records`` (one row each, ``record_index`` = row position), columns
        of :data:`DECISION_SCHEMA`; ``evidence`` is a JSON object of comparison levels.
        """
        import time

        t0 = time.perf_counter()
        self.stats = MatchStats(records=records.height)
        th = self.thresholds
        recs = self._prepare(records)
        n = recs.height
        t1 = time.perf_counter()

        # 1. Valid ID in the registry.
        by_id = recs.filter(pl.col("id_bidx").is_not_null()).select("ri", "id_bidx").join(
            self._by_id.select("id_bidx", "ci", "person_id"), on="id_bidx", how="inner")
        id_frame = self._pair_frame(by_id.select("ri", "ci"), recs, self.registry, "ci", ())
        id_frame = _levels(id_frame, record_record=False).with_columns(pl.lit("exact").alias("id"))
        id_frame = _score(id_frame.join(by_id.select("ri", "person_id"), on="ri"), self.weights)
        # Someone else's ID copied in: the name and the birth both disagree and the rest of the
        # evidence does not carry the pair over the link threshold (an exact ID with the same
        # flat links even when the name and birth were mistyped; with another flat it waits).
        suspicious = (pl.col("name") == "different") & (pl.col("birth") == "different") & (
            pl.col("score") < th.same)
        id_decisions = id_frame.select(
            "ri", "person_id",
            pl.when(suspicious).then(pl.lit("review")).otherwise(pl.lit("same")).alias("outcome"),
            pl.lit("id_exact").alias("how"), "score", "name", "birth", "sex", "address", "phone", "id",
        )
        self.stats.id_exact = id_decisions.height
        settled = id_decisions.select("ri")
        del id_frame, by_id  # the pairs with both sides' columns: hundreds of MB for a district file

        # 2. Everybody else against candidates from blocking.
        open_recs = recs.join(settled, on="ri", how="anti")
        if self.estimate_weights:
            self._estimate(recs, open_recs)
        ranked = self._score_candidates(recs, open_recs)
        t2 = time.perf_counter()
        close_runner = pl.col("runner_up").is_not_null() & (pl.col("runner_up") >= th.same) & (
            pl.col("score") - pl.col("runner_up") < th.margin)
        # Name + sex + room only (issue 17 cause 1): the one person of that room with a
        # graded-similar name and the same sex is the match; two or more go to review.
        room_only = pl.col("_room_rule")
        scored_decisions = ranked.select(
            "ri", "person_id",
            pl.when(room_only & (pl.col("room_candidates") == 1)).then(pl.lit("same"))
            .when(room_only).then(pl.lit("review"))
            .when((pl.col("score") >= th.same) & ~close_runner).then(pl.lit("same"))
            .when((pl.col("score") >= th.review) & ~_NAME_ELSEWHERE).then(pl.lit("review"))
            .otherwise(pl.lit("new")).alias("outcome"),
            pl.when(pl.col("id") == "typo").then(pl.lit("id_fuzzy")).otherwise(pl.lit("score")).alias("how"),
            "score", "name", "birth", "sex", "address", "phone", "id", "runner_up",
        )
        decisions = pl.concat([id_decisions, scored_decisions.drop("runner_up")], how="vertical_relaxed")
        decisions = recs.select("ri").join(decisions, on="ri", how="left").sort("ri")

        # 3. Cluster the rest inside the batch.
        t3 = time.perf_counter()
        out = self._cluster(recs, decisions, n)
        t4 = time.perf_counter()
        self.stats.timings = {"prepare": t1 - t0, "candidates": t2 - t1, "decide": t3 - t2, "cluster": t4 - t3}
        return out

    def _cluster(self, recs: pl.DataFrame, decisions: pl.DataFrame, n: int) -> pl.DataFrame:
        th, weights = self.thresholds, self.weights
        linked = (decisions["outcome"] == "same").fill_null(value=False)
        valid_ids = recs.select(pl.when(pl.col("id_valid")).then(pl.col("id_number")))["id_number"]

        # Record × record pairs where at least one side is not linked, a chunk of unlinked
        # records at a time (a pair both of whose records are unlinked may come up twice).
        unlinked = recs.filter(~linked)
        right = recs.rename({"ri": "rj"})
        right_ids = right.filter(pl.col("id_valid")).select("rj", "id_number")
        schema = {"ri": pl.Int64, "rj": pl.Int64, "score": pl.Float64} | dict.fromkeys(_LEVELS, pl.String)
        found = [pl.DataFrame(schema=schema)]
        blocks = self._right_blocks(right, "rj", unlinked) if unlinked.height else []
        for start in range(0, unlinked.height, CHUNK_RECORDS):
            chunk = unlinked.slice(start, CHUNK_RECORDS)
            pairs = self._block(chunk, blocks, "rj", self_join=True)
            # Same valid ID is a pair too, whatever the other keys say.
            id_pairs = chunk.filter(pl.col("id_valid")).select("ri", "id_number").join(
                right_ids, on="id_number").filter(pl.col("ri") != pl.col("rj")).select("ri", "rj")
            pairs = pl.concat([pairs, id_pairs]).select(
                pl.min_horizontal("ri", "rj").alias("ri"), pl.max_horizontal("ri", "rj").alias("rj")).unique()
            self.stats.record_pairs += pairs.height
            if not pairs.height:
                continue
            frame = self._pair_frame(pairs, recs, right, "rj", ("id_number", "id_valid"))
            frame = _levels(frame, record_record=True)
            unknown = frame["id"] == "?"
            if unknown.any():
                frame = frame.with_columns(frame["id"].scatter(unknown.arg_true(), id_distance_levels(
                    frame["l_id_number"].filter(unknown), frame["r_id_number"].filter(unknown))))
            found.append(_score(frame, weights).filter((pl.col("score") >= th.review) & ~_NAME_ELSEWHERE).select(
                pl.col("ri").cast(pl.Int64), pl.col("rj").cast(pl.Int64), "score", *_LEVELS))
        edges = pl.concat(found).unique(["ri", "rj"]).sort(["score", "ri", "rj"], descending=[True, False, False])
        return settle_clusters(decisions, valid_ids, edges, same=th.same)


def decisions_as_objects(frame: pl.DataFrame) -> list[MatchDecision]:
    """The decision frame as :class:`MatchDecision` objects (for small batches and tests)."""
    return [
        MatchDecision(
            record_index=row["record_index"], person_key=row["person_key"], outcome=row["outcome"],
            how=row["how"], score=row["score"], person_id=row["person_id"], candidate_id=row["candidate_id"],
            evidence=json.loads(row["evidence"]) if row["evidence"] else {},
        )
        for row in frame.iter_rows(named=True)
    ]


