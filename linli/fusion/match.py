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
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Final

import polars as pl
from pypinyin import Style, lazy_pinyin
from rapidfuzz.distance import OSA, JaroWinkler

from linli.fusion.normalise import building_key, map_distinct, normalise_name

REGISTRY_SCHEMA: Final[dict[str, pl.DataType]] = {
    "person_id": pl.Int64(), "id_bidx": pl.String(), "name": pl.String(), "name_pinyin": pl.String(),
    "initials": pl.String(), "birth_date": pl.Date(), "sex": pl.String(), "phone_bidx": pl.String(),
    "building_key": pl.String(), "unit": pl.String(), "room": pl.String(), "id_hint": pl.String(),
}
RECORD_COLUMNS: Final = ("name", "id_number", "id_valid", "birth_date", "sex", "phone", "building_key", "unit", "room")

# Field names bound into the blind index (same strings as linli.registry.text).
PII_ID_NUMBER: Final = "person.id_number"
PII_PHONE: Final = "person.phone"

BlindIndex = Callable[[str, str], str]
DecryptId = Callable[[int], "str | None"]


@dataclass(frozen=True)
class Weights:
    """Log-odds-like weights per comparison level; a pair's score is their sum."""

    name: Mapping[str, float] = field(default_factory=lambda: {
        "exact": 7.0, "homophone": 5.0, "fuzzy": 1.0, "missing": 0.0, "different": -8.0})
    birth: Mapping[str, float] = field(default_factory=lambda: {
        "exact": 6.0, "swapped": 2.0, "one_digit": 2.0, "missing": 0.0, "different": -7.0})
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


_LEVELS: Final = ("name", "birth", "sex", "address", "phone", "id")

DECISION_SCHEMA: Final[dict[str, pl.DataType]] = {
    "record_index": pl.Int64(), "person_id": pl.Int64(), "person_key": pl.String(), "outcome": pl.String(),
    "how": pl.String(), "score": pl.Float64(), "candidate_id": pl.Int64(), "evidence": pl.String(),
}

# --- name keys ---------------------------------------------------------------------------------

# 模糊音: the confusions of southern speakers and pinyin input (zh/z, ch/c, sh/s, -ng/-n, l/n, h/f).
_FUZZY_INITIALS: Final = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("h", "f"))


@lru_cache(maxsize=65536)
def _char_pinyin(char: str) -> str:
    syllable = lazy_pinyin(char, style=Style.NORMAL, errors="default")[0].lower()
    return "".join(c for c in syllable if c.isalnum())


@lru_cache(maxsize=65536)
def _fuzzy_syllable(syllable: str) -> str:
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long):]
            break
    return syllable.removesuffix("g") if syllable.endswith("ng") else syllable


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


def _name_struct(name: str | None) -> dict[str, str | None]:
    if not name:
        return {"py": None, "fz": None, "sur": None}
    py, fz, sur = name_match_keys(name)
    return {"py": py or None, "fz": fz or None, "sur": sur or None}


_NAME_KEYS_DTYPE: Final = pl.Struct({"py": pl.String, "fz": pl.String, "sur": pl.String})


def _with_name_keys(frame: pl.DataFrame) -> pl.DataFrame:
    keys = map_distinct(frame["name"], _name_struct, _NAME_KEYS_DTYPE).struct.unnest()
    return frame.with_columns(keys["py"].alias("_py"), keys["fz"].alias("_fz"), keys["sur"].alias("_sur"))


def _birth_columns(birth: pl.Expr) -> list[pl.Expr]:
    return [birth.alias("_birth"), birth.dt.year().alias("_year"), birth.dt.strftime("%Y%m%d").alias("_bstr")]


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
    birth = (
        pl.when(l("l__birth").is_null() | r("r__birth").is_null()).then(pl.lit("missing"))
        .when(l("l__birth") == r("r__birth")).then(pl.lit("exact"))
        .when(swapped).then(pl.lit("swapped"))
        .when(hamming == 1).then(pl.lit("one_digit"))
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
    return pairs.with_columns(columns)


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


def _score(pairs: pl.DataFrame, weights: Weights) -> pl.DataFrame:
    parts = []
    for column in ("name", "birth", "sex", "address", "phone", "id"):
        table: Mapping[str, float] = getattr(weights, column)
        parts.append(pl.col(column).replace_strict(dict(table), default=0.0, return_dtype=pl.Float64))
    return pairs.with_columns(pl.sum_horizontal(parts).alias("score"))


# --- union-find with anchors ---------------------------------------------------------------------


class _Clusters:
    """Union-find over record indexes; a component carries at most one registry person and
    at most one valid ID, and two components that carry different ones never merge.
    """

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.person: dict[int, int] = {}
        self.ident: dict[int, str] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        pa, pb = self.person.get(ra), self.person.get(rb)
        ia, ib = self.ident.get(ra), self.ident.get(rb)
        if (pa is not None and pb is not None and pa != pb) or (ia is not None and ib is not None and ia != ib):
            return False
        if rb < ra:
            ra, rb = rb, ra
            pa, pb, ia, ib = pb, pa, ib, ia
        self.parent[rb] = ra
        if pa is None and pb is not None:
            self.person[ra] = pb
        if ia is None and ib is not None:
            self.ident[ra] = ib
        return True


# --- the matcher ---------------------------------------------------------------------------------


def id_hint(id_number: pl.Expr) -> pl.Expr:
    """First 4 + last 4 characters of an ID: what ``Person.id_number_masked`` shows in clear."""
    return pl.when(id_number.str.len_chars() == 18).then(
        pl.concat_str(id_number.str.slice(0, 4), id_number.str.slice(14, 4)))


def _default_blind(value: str, field_name: str) -> str:
    from linli.core.pii import blind_index  # needs settings; only when the caller gives none

    return blind_index(value, field=field_name)


@dataclass
class MatchStats:
    """Counts of the last run, for reports and benchmarks."""

    records: int = 0
    id_exact: int = 0
    candidate_pairs: int = 0
    record_pairs: int = 0
    decrypted: int = 0
    timings: dict[str, float] = field(default_factory=dict)


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
    ) -> None:
        self.blind = blind or _default_blind
        self.decrypt_id = decrypt_id
        self.weights = weights or Weights()
        self.thresholds = thresholds or Thresholds()
        self.max_block = max_block
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
        reg = reg.with_columns(map_distinct(reg["name"], normalise_name, pl.String()).alias("name"))
        reg = reg.with_columns(pl.col("id_hint").replace("", None).alias("_hint"))
        reg = _with_name_keys(reg).with_columns(
            *_birth_columns(pl.col("birth_date")), pl.col("phone_bidx").alias("_phone"),
        )
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
            pl.col("room").cast(pl.String),
        )
        frame = _with_name_keys(frame)
        from_id = pl.col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
        frame = frame.with_columns(_birth_columns(pl.coalesce("birth_date", from_id)))
        blind = self.blind
        id_bidx = map_distinct(
            frame.select(pl.when(pl.col("id_valid")).then(pl.col("id_number")).alias("v"))["v"],
            lambda v: blind(v, PII_ID_NUMBER) if v else None, pl.String())
        phone_bidx = map_distinct(frame["phone"], lambda v: blind(v, PII_PHONE) if v else None, pl.String())
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

    def _block(self, left: pl.DataFrame, right: pl.DataFrame, right_key: str, *, self_join: bool) -> pl.DataFrame:
        pairs = []
        for keys in self._BLOCKS:
            cols = list(keys)
            lk = left.select("ri", *cols).drop_nulls()
            rk = right.select(right_key, *cols).drop_nulls()
            big = rk.group_by(cols).len().filter(pl.col("len") > self.max_block).select(cols)
            if big.height:
                rk = rk.join(big, on=cols, how="anti")
            joined = lk.join(rk, on=cols, how="inner").select("ri", right_key)
            if self_join:
                joined = joined.filter(pl.col("ri") != pl.col(right_key))
            pairs.append(joined)
        if not pairs:
            return pl.DataFrame(schema={"ri": pl.UInt32, right_key: pl.UInt32})
        return pl.concat(pairs).unique()

    # -- scoring -------------------------------------------------------------------------------

    _SIDE: Final = ("name", "_py", "_fz", "sex", "_birth", "_year", "_bstr", "building_key", "unit", "room", "_phone")

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
        levels: list[str] = []
        for both, record_id, person_id in zip(has_both.to_list(), pairs["l_id_number"].to_list(),
                                              pairs["person_id"].to_list(), strict=True):
            if not both:
                levels.append("missing")
                continue
            if person_id not in cache:
                cache[person_id] = decrypt(person_id)
                self.stats.decrypted += 1
            levels.append(_id_distance_level(record_id, cache[person_id]))
        return pl.Series("id", levels, dtype=pl.String)

    def _score_candidates(self, recs: pl.DataFrame, open_recs: pl.DataFrame) -> pl.DataFrame:
        reg = self.registry
        pairs = self._block(open_recs, reg, "ci", self_join=False)
        self.stats.candidate_pairs = pairs.height
        frame = self._pair_frame(pairs, recs, reg, "ci", ("id_number", "id_valid"))
        frame = frame.join(reg.select("ci", "person_id", pl.col("id_bidx").alias("r_id_bidx")), on="ci", how="left")
        frame = _levels(frame, record_record=False)
        frame = frame.with_columns(self._candidate_id_levels(frame))
        return _score(frame, self.weights)

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
        suspicious = (pl.col("name") == "different") & (pl.col("birth") == "different")
        id_decisions = id_frame.select(
            "ri", "person_id",
            pl.when(suspicious).then(pl.lit("review")).otherwise(pl.lit("same")).alias("outcome"),
            pl.lit("id_exact").alias("how"), "score", "name", "birth", "sex", "address", "phone", "id",
        )
        self.stats.id_exact = id_decisions.height
        settled = id_decisions.select("ri")

        # 2. Everybody else against candidates from blocking.
        open_recs = recs.join(settled, on="ri", how="anti")
        scored = self._score_candidates(recs, open_recs)
        t2 = time.perf_counter()
        ranked = scored.sort(["ri", "score", "person_id"], descending=[False, True, False]).with_columns(
            pl.col("score").shift(-1).over("ri").alias("runner_up"),
            pl.int_range(pl.len()).over("ri").alias("rank"),
        ).filter(pl.col("rank") == 0)
        close_runner = pl.col("runner_up").is_not_null() & (pl.col("runner_up") >= th.same) & (
            pl.col("score") - pl.col("runner_up") < th.margin)
        scored_decisions = ranked.select(
            "ri", "person_id",
            pl.when((pl.col("score") >= th.same) & ~close_runner).then(pl.lit("same"))
            .when(pl.col("score") >= th.review).then(pl.lit("review"))
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
        clusters = _Clusters(n)
        outcome = decisions["outcome"].to_list()
        person = decisions["person_id"].to_list()
        linked = [o == "same" for o in outcome]
        for ri in range(n):
            if linked[ri]:
                clusters.person[ri] = person[ri]
        valid_ids = recs.select(pl.when(pl.col("id_valid")).then(pl.col("id_number")))["id_number"].to_list()
        for ri, value in enumerate(valid_ids):
            if value is not None:
                clusters.ident.setdefault(clusters.find(ri), value)
        # Records linked to the same person are one cluster already.
        first_of_person: dict[int, int] = {}
        for ri in range(n):
            if linked[ri]:
                clusters.union(first_of_person.setdefault(person[ri], ri), ri)

        # Record × record pairs where at least one side is not linked.
        unlinked = recs.filter(~pl.Series(linked))
        right = recs.rename({"ri": "rj"})
        pairs = self._block(unlinked, right, "rj", self_join=True)
        # Same valid ID is a pair too, whatever the other keys say.
        id_pairs = unlinked.filter(pl.col("id_valid")).select("ri", "id_number").join(
            right.filter(pl.col("id_valid")).select("rj", "id_number"), on="id_number").filter(
            pl.col("ri") != pl.col("rj")).select("ri", "rj")
        pairs = pl.concat([pairs, id_pairs]).select(
            pl.min_horizontal("ri", "rj").alias("ri"), pl.max_horizontal("ri", "rj").alias("rj")).unique()
        self.stats.record_pairs = pairs.height
        best_review: dict[int, tuple[float, int, dict[str, Any]]] = {}
        if pairs.height:
            frame = self._pair_frame(pairs, recs, right, "rj", ("id_number", "id_valid"))
            frame = _levels(frame, record_record=True)
            unknown = frame["id"] == "?"
            if unknown.any():
                fixed = [
                    _id_distance_level(a, b) if lvl == "?" else lvl
                    for lvl, a, b in zip(frame["id"].to_list(), frame["l_id_number"].to_list(),
                                         frame["r_id_number"].to_list(), strict=True)
                ]
                frame = frame.with_columns(pl.Series("id", fixed, dtype=pl.String))
            frame = _score(frame, weights).filter(pl.col("score") >= th.review).sort("score", descending=True)
            for a, b, score, *levels in frame.select("ri", "rj", "score", *_LEVELS).iter_rows():
                if score >= th.same:
                    clusters.union(a, b)
                else:
                    for x, y in ((a, b), (b, a)):
                        if not linked[x] and (x not in best_review or best_review[x][0] < score):
                            best_review[x] = (score, y, dict(zip(_LEVELS, levels, strict=True)))

        # Cluster keys and final outcomes.
        roots = [clusters.find(ri) for ri in range(n)]
        how = decisions["how"].to_list()
        score_list = decisions["score"].to_list()
        keys: list[str] = []
        person_out: list[int | None] = []
        outcome_out: list[str] = []
        how_out: list[str] = []
        score_out: list[float] = []
        candidate_out: list[int | None] = []
        sizes: dict[int, int] = {}
        for root in roots:
            sizes[root] = sizes.get(root, 0) + 1
        for ri in range(n):
            root = roots[ri]
            anchor = clusters.person.get(root)
            base_outcome = outcome[ri] or "new"
            if linked[ri]:
                keys.append(str(anchor))
                person_out.append(anchor)
                outcome_out.append("same")
                how_out.append(how[ri])
                score_out.append(score_list[ri])
                candidate_out.append(None)
            elif anchor is not None:  # joined a linked record of this batch
                keys.append(str(anchor))
                person_out.append(anchor)
                outcome_out.append("same")
                how_out.append("batch")
                score_out.append(score_list[ri] if score_list[ri] is not None else float(th.same))
                candidate_out.append(None)
            elif base_outcome == "review" or (sizes[root] == 1 and ri in best_review):
                keys.append(f"new:{root}")
                person_out.append(None)
                outcome_out.append("review")
                how_out.append(how[ri] or "batch")
                cand = person[ri] if base_outcome == "review" else None
                score_out.append(score_list[ri] if base_outcome == "review" else best_review[ri][0])
                candidate_out.append(cand)
            else:
                keys.append(f"new:{root}")
                person_out.append(None)
                outcome_out.append("new")
                how_out.append("new" if sizes[root] == 1 else ("id_exact" if valid_ids[ri] else "batch"))
                score_out.append(score_list[ri] if score_list[ri] is not None else 0.0)
                candidate_out.append(None)
        evidence = decisions.select(pl.struct(*_LEVELS).struct.json_encode().alias("evidence"))["evidence"]
        batch_reviews = {ri: edge for ri, edge in best_review.items() if outcome_out[ri] == "review"
                         and (outcome[ri] or "new") != "review"}
        if batch_reviews:
            # A review against another row of this batch: its evidence names that row.
            texts = evidence.to_list()
            for ri, (_edge_score, other, edge_levels) in batch_reviews.items():
                texts[ri] = json.dumps(edge_levels | {"record_index": other}, ensure_ascii=False)
            evidence = pl.Series("evidence", texts, dtype=pl.String)
        return pl.DataFrame({
            "record_index": pl.Series(range(n), dtype=pl.Int64),
            "person_id": pl.Series(person_out, dtype=pl.Int64),
            "person_key": pl.Series(keys, dtype=pl.String),
            "outcome": pl.Series(outcome_out, dtype=pl.String),
            "how": pl.Series(how_out, dtype=pl.String),
            "score": pl.Series(score_out, dtype=pl.Float64),
            "candidate_id": pl.Series(candidate_out, dtype=pl.Int64),
            "evidence": evidence,
        })


def registry_keys(people: pl.DataFrame, *, blind: BlindIndex | None = None) -> pl.DataFrame:
    """Registry keys from plaintext person rows (the demo's registry, fixtures, benchmarks).

    Reads person_id, name, id_number, birth_date, sex, phone and either ``building_key`` or
    ``compound`` + ``building_no``, plus unit and room; IDs and phones become blind indexes.
    """
    blind = blind or _default_blind
    frame = people
    if "compound" in frame.columns and "building_no" in frame.columns:
        pairs = frame.select(pl.col("compound").cast(pl.String), pl.col("building_no").cast(pl.String))
        keys = map_distinct(
            pairs.select(pl.concat_str("compound", pl.lit("\x00"), "building_no").alias("k"))["k"],
            lambda k: building_key(*k.split("\x00")) if k else None, pl.String())
        frame = frame.with_columns(keys.alias("building_key"))
    id_bidx = map_distinct(frame["id_number"].cast(pl.String),
                           lambda v: blind(v, PII_ID_NUMBER) if v else None, pl.String())
    phone_bidx = map_distinct(frame["phone"].cast(pl.String), lambda v: blind(v, PII_PHONE) if v else None,
                              pl.String())
    return frame.with_columns(
        id_bidx.alias("id_bidx"), phone_bidx.alias("phone_bidx"), id_hint(pl.col("id_number")).alias("id_hint"),
        pl.col("unit").cast(pl.String), pl.col("room").cast(pl.String),
    ).select([c for c in REGISTRY_SCHEMA if c in frame.columns or c in ("id_bidx", "phone_bidx", "id_hint")])


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


def pinyin_similarity(a: str, b: str) -> float:
    """Jaro–Winkler similarity of two names' pinyin (reported as evidence, 0–1)."""
    return float(JaroWinkler.normalized_similarity(name_match_keys(a)[0], name_match_keys(b)[0]))


# --- evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairwiseScores:
    """Pairwise precision / recall / F1 of "same person" over a set of items."""

    true_positives: int
    predicted_pairs: int
    true_pairs: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self) | {"precision": self.precision, "recall": self.recall, "f1": self.f1}


def _pairs_in(counts: pl.Series, outside: pl.Series | None) -> int:
    total = int((counts * (counts - 1) // 2).sum())
    if outside is None:
        return total
    return total - int((outside * (outside - 1) // 2).sum())


def pairwise_scores(predicted: Iterable[Hashable], truth: Iterable[Hashable],
                    focus: Iterable[bool] | None = None) -> PairwiseScores:
    """Pairwise scores of two labellings of the same items.

    With ``focus``, only pairs with at least one focused item count (e.g. records whose ID
    is wrong or missing).
    """
    frame = pl.DataFrame({
        "p": [str(v) for v in predicted], "t": [str(v) for v in truth],
    })
    frame = frame.with_columns(pl.Series("f", list(focus), dtype=pl.Boolean) if focus is not None
                               else pl.lit(value=True).alias("f"))

    def count(keys: list[str]) -> int:
        grouped = frame.group_by(keys).agg(pl.len().alias("n"), (~pl.col("f")).sum().alias("o"))
        return _pairs_in(grouped["n"].cast(pl.Int64), grouped["o"].cast(pl.Int64) if focus is not None else None)

    return PairwiseScores(true_positives=count(["p", "t"]), predicted_pairs=count(["p"]), true_pairs=count(["t"]))


def pairwise_from_decisions(
    decisions: pl.DataFrame,
    truth: Mapping[int, Hashable] | pl.Series | Sequence[Hashable],
    *,
    registry_truth: Mapping[int, Hashable] | None = None,
    focus: Iterable[bool] | None = None,
    review_as: str = "apart",
) -> PairwiseScores:
    """Precision/recall/F1 of the decisions' "same person" pairs against the truth.

    ``truth`` gives each record's true person key (by record index). With ``registry_truth``
    (person id → true key) the registry persons the records point to join the items, so a
    record linked to the wrong existing person counts as a wrong pair too. ``review_as``:
    ``"apart"`` counts a review as not linked (its own item); ``"candidate"`` as linked to
    the suggested person.
    """
    n = decisions.height
    truth_list = list(truth.to_list() if isinstance(truth, pl.Series) else
                      (truth[i] for i in range(n)) if isinstance(truth, Mapping) else truth)
    predicted: list[str] = []
    for ri, key, outcome, candidate in decisions.select(
            "record_index", "person_key", "outcome", "candidate_id").iter_rows():
        if outcome == "review":
            predicted.append(f"p{candidate}" if review_as == "candidate" and candidate is not None else f"r{ri}")
        elif key.startswith("new:"):
            predicted.append(key)
        else:
            predicted.append(f"p{key}")
    focus_list = list(focus) if focus is not None else None
    items_truth: list[Hashable] = list(truth_list)
    if registry_truth is not None:
        for person_id, key in registry_truth.items():
            predicted.append(f"p{person_id}")
            items_truth.append(key)
        if focus_list is not None:
            focus_list.extend([False] * len(registry_truth))
    return pairwise_scores(predicted, items_truth, focus_list)

