"""Clusters of a batch's records: union-find anchored on registry persons and valid IDs.

A cluster carries at most one registry person and at most one valid ID; two clusters that
carry different ones never merge. Records linked to the same person start as one cluster
(those with a different valid ID than the person's first one stay apart), then record ×
record edges are applied strongest first. Only the clusters that edges touch are walked in
Python; everything else is worked out with Polars.
"""

from __future__ import annotations

import json
from typing import Any, Final

import polars as pl

LEVELS: Final = ("name", "birth", "sex", "address", "phone", "id")


class _Clusters:
    """Union-find over the roots of the starting clusters (created on first touch).

    A root is always the smallest record index of its cluster, so the outcome does not
    depend on which side of an edge comes first.
    """

    def __init__(self, person: dict[int, int], ident: dict[int, str]) -> None:
        self.parent: dict[int, int] = {}
        self.person = person
        self.ident = ident

    def find(self, x: int) -> int:
        parent = self.parent
        while (up := parent.get(x, x)) != x:
            grand = parent.get(up, up)
            parent[x] = grand
            x = grand
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


def _starting_clusters(decisions: pl.DataFrame, valid_ids: pl.Series) -> pl.DataFrame:
    """``ri, start`` (root of the record's starting cluster), ``person``, ``ident`` (the
    root's anchors). A person's linked records join the first of them unless they carry a
    valid ID other than the first valid ID among them."""
    rows = pl.DataFrame({
        "ri": pl.Series(range(decisions.height), dtype=pl.Int64),
        "linked": decisions["outcome"] == "same",
        "person": decisions["person_id"],
        "ident": valid_ids,
        "valid": valid_ids,
        "candidate": decisions["person_id"],
    })
    rows = rows.with_columns(pl.col("linked").fill_null(value=False))
    first_ident = pl.col("ident").drop_nulls().first().over("person", order_by="ri")
    by_person = rows.filter(pl.col("linked")).with_columns(
        first=pl.col("ri").min().over("person"), first_ident=first_ident)
    joins = pl.col("ident").is_null() | (pl.col("ident") == pl.col("first_ident"))
    by_person = by_person.select(
        "ri", pl.when(joins).then(pl.col("first")).otherwise(pl.col("ri")).alias("start"),
        pl.when(joins).then(pl.coalesce("first_ident", "ident")).otherwise(pl.col("ident")).alias("start_ident"))
    rows = rows.join(by_person, on="ri", how="left", maintain_order="left")
    return rows.with_columns(
        start=pl.col("start").fill_null(pl.col("ri")),
        person=pl.when(pl.col("linked")).then(pl.col("person")),
        ident=pl.when(pl.col("linked")).then(pl.col("start_ident")).otherwise(pl.col("ident")),
    ).drop("start_ident")


def settle_clusters(decisions: pl.DataFrame, valid_ids: pl.Series, edges: pl.DataFrame, *,
                    same: float) -> pl.DataFrame:
    """Final decisions of a batch (columns of ``matcher.DECISION_SCHEMA``).

    ``decisions``: per record (by position) ``outcome``, ``person_id``, ``how``, ``score`` and
    the comparison levels against its registry candidate; ``valid_ids``: the record's ID
    when valid; ``edges``: record pairs ``ri, rj, score`` and levels, strongest first, at
    least ``review``. An edge ≥ ``same`` merges clusters; a weaker one sends a lone new
    record to review against the other record (the strongest such edge is its evidence).
    """
    start = _starting_clusters(decisions, valid_ids)
    # Only the clusters an edge touches are walked: their roots' anchors go to Python, the
    # rest keep theirs in the frame (a district file has a million records).
    ends = pl.concat([edges.select(pl.col("ri").alias("x")), edges.select(pl.col("rj").alias("x"))])
    touched = start.join(ends.unique(), left_on="ri", right_on="x", how="semi").select(pl.col("start").alias("ri"))
    roots = start.filter(pl.col("ri") == pl.col("start")).join(touched.unique(), on="ri", how="semi")
    anchors = roots.filter(pl.col("person").is_not_null())
    idents = roots.filter(pl.col("ident").is_not_null())
    clusters = _Clusters(dict(zip(anchors["ri"].to_list(), anchors["person"].to_list(), strict=True)),
                         dict(zip(idents["ri"].to_list(), idents["ident"].to_list(), strict=True)))
    start_of = start["start"].to_list()
    linked = start["linked"].to_list()
    best_review: dict[int, tuple[float, int, tuple[Any, ...]]] = {}
    for a, b, score, *levels in edges.select("ri", "rj", "score", *LEVELS).iter_rows():
        if score >= same:
            clusters.union(start_of[a], start_of[b])
        else:
            for x, y in ((a, b), (b, a)):
                if not linked[x] and (x not in best_review or best_review[x][0] < score):
                    best_review[x] = (score, y, tuple(levels))
    moved = {r: clusters.find(r) for r in clusters.parent}
    final_person = {r: p for r, p in clusters.person.items() if r not in clusters.parent}
    frame = start.with_columns(
        root=pl.col("start").replace_strict(list(moved), list(moved.values()), default=pl.col("start"))
        if moved else pl.col("start"))
    own = start.filter(pl.col("ri") == pl.col("start")).select(pl.col("ri").alias("root"),
                                                                 pl.col("person").alias("root_person"))
    frame = frame.join(own, on="root", how="left", maintain_order="left").with_columns(
        size=pl.len().over("root"),
        anchor=pl.col("root").replace_strict(list(final_person), list(final_person.values()),
                                            default=pl.col("root_person"), return_dtype=pl.Int64),
    ).drop("root_person")
    reviewed = pl.DataFrame({
        "ri": list(best_review), "edge_score": [e[0] for e in best_review.values()],
        "edge_evidence": [json.dumps(dict(zip(LEVELS, e[2], strict=True)) | {"record_index": e[1]},
                                     ensure_ascii=False) for e in best_review.values()],
    }, schema={"ri": pl.Int64, "edge_score": pl.Float64, "edge_evidence": pl.String})
    frame = pl.concat([frame, decisions.select(
        pl.col("outcome").fill_null("new").alias("base"), "how", "score",
        pl.struct(*LEVELS).struct.json_encode().alias("evidence"))], how="horizontal").join(
        reviewed, on="ri", how="left", maintain_order="left")
    base, anchor, root = pl.col("base"), pl.col("anchor"), pl.col("root")
    joined = ~pl.col("linked") & anchor.is_not_null()
    batch_review = ~pl.col("linked") & anchor.is_null() & (base != "review") & (pl.col("size") == 1) & pl.col(
        "edge_score").is_not_null()
    review = ~pl.col("linked") & anchor.is_null() & ((base == "review") | batch_review)
    new_key = pl.concat_str(pl.lit("new:"), root.cast(pl.String))
    return frame.select(
        pl.col("ri").alias("record_index"),
        pl.when(pl.col("linked") | joined).then(anchor).alias("person_id"),
        pl.when(pl.col("linked") | joined).then(anchor.cast(pl.String)).otherwise(new_key).alias("person_key"),
        pl.when(pl.col("linked") | joined).then(pl.lit("same")).when(review).then(pl.lit("review"))
        .otherwise(pl.lit("new")).alias("outcome"),
        pl.when(pl.col("linked")).then(pl.col("how")).when(joined).then(pl.lit("batch"))
        .when(review).then(pl.col("how").fill_null("batch"))
        .when(pl.col("size") == 1).then(pl.lit("new"))
        .when(pl.col("valid").is_not_null()).then(pl.lit("id_exact"))
        .otherwise(pl.lit("batch")).alias("how"),
        pl.when(pl.col("linked")).then(pl.col("score")).when(joined).then(pl.col("score").fill_null(float(same)))
        .when(batch_review).then(pl.col("edge_score")).when(review).then(pl.col("score"))
        .otherwise(pl.col("score").fill_null(0.0)).alias("score"),
        pl.when(review & (base == "review")).then(pl.col("candidate")).alias("candidate_id"),
        pl.when(batch_review).then(pl.col("edge_evidence")).otherwise(pl.col("evidence")).alias("evidence"),
    )
