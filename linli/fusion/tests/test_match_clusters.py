"""Batch clustering: the Polars-and-touched-roots version settles a batch exactly as a plain
union-find over every record does (the rule it replaced)."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.fusion.match.clusters import LEVELS, settle_clusters

SAME, REVIEW = 11.0, 7.0


def _plain_settle(outcome: list[str | None], person: list[int | None], how: list[str | None],
                  score: list[float | None], valid: list[str | None], edges: list[tuple[int, int, float]],
                  evidence: list[str]) -> list[tuple[Any, ...]]:
    """Every record its own node; linked records of a person joined in order; edges applied."""
    n = len(outcome)
    parent = list(range(n))
    anchor: dict[int, int | None] = {}
    ident: dict[int, str | None] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra == rb:
            return
        pa, pb, ia, ib = anchor.get(ra), anchor.get(rb), ident.get(ra), ident.get(rb)
        if (pa is not None and pb is not None and pa != pb) or (ia is not None and ib is not None and ia != ib):
            return
        if rb < ra:
            ra, rb, pa, pb, ia, ib = rb, ra, pb, pa, ib, ia
        parent[rb] = ra
        anchor[ra] = pa if pa is not None else pb
        ident[ra] = ia if ia is not None else ib

    linked = [o == "same" for o in outcome]
    for ri in range(n):
        if linked[ri]:
            anchor[ri] = person[ri]
        ident[ri] = valid[ri]
    first: dict[int | None, int] = {}
    for ri in range(n):
        if linked[ri]:
            union(first.setdefault(person[ri], ri), ri)
    best: dict[int, tuple[float, int]] = {}
    for a, b, s in edges:
        if s >= SAME:
            union(a, b)
        else:
            for x, y in ((a, b), (b, a)):
                if not linked[x] and (x not in best or best[x][0] < s):
                    best[x] = (s, y)
    roots = [find(ri) for ri in range(n)]
    out: list[tuple[Any, ...]] = []
    for ri in range(n):
        root, base = roots[ri], outcome[ri] or "new"
        size = roots.count(root)
        owner = anchor.get(root)
        if linked[ri]:
            out.append((str(owner), owner, "same", how[ri], score[ri], None, evidence[ri]))
        elif owner is not None:
            out.append((str(owner), owner, "same", "batch", score[ri] if score[ri] is not None else SAME, None, evidence[ri]))
        elif base == "review" or (size == 1 and ri in best):
            batch = base != "review"
            text = json.dumps(dict.fromkeys(LEVELS, "x") | {"record_index": best[ri][1]}, ensure_ascii=False) \
                if batch else evidence[ri]
            out.append((f"new:{root}", None, "review", how[ri] or "batch", best[ri][0] if batch else score[ri],
                        None if batch else person[ri], text))
        else:
            out.append((f"new:{root}", None, "new", "new" if size == 1 else ("id_exact" if valid[ri] else "batch"),
                        score[ri] if score[ri] is not None else 0.0, None, evidence[ri]))
    return out


@st.composite
def _batches(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 12))
    outcome = draw(st.lists(st.sampled_from(["same", "review", "new", None]), min_size=n, max_size=n))
    person = [draw(st.sampled_from([1, 2, 3])) if o is not None else None for o in outcome]
    how = [{"same": "id_exact", "review": "score", "new": "score"}.get(o) if o else None for o in outcome]
    score = [draw(st.sampled_from([12.0, 8.0, 3.0])) if o else None for o in outcome]
    valid = draw(st.lists(st.sampled_from([None, "A", "B"]), min_size=n, max_size=n))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=12))
    pairs = sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b})
    scored = [(a, b, draw(st.sampled_from([15.0, 12.0, 11.0, 9.0, 7.0]))) for a, b in pairs]
    scored.sort(key=lambda e: -e[2])
    return {"outcome": outcome, "person": person, "how": how, "score": score, "valid": valid, "edges": scored}


@settings(max_examples=300, deadline=None)
@given(_batches())
def test_settled_clusters_are_those_of_a_plain_union_find(batch):
    n = len(batch["outcome"])
    decisions = pl.DataFrame({
        "outcome": pl.Series(batch["outcome"], dtype=pl.String),
        "person_id": pl.Series(batch["person"], dtype=pl.Int64),
        "how": pl.Series(batch["how"], dtype=pl.String),
        "score": pl.Series(batch["score"], dtype=pl.Float64),
        **{level: pl.Series([level] * n, dtype=pl.String) for level in LEVELS},
    })
    evidence = decisions.select(pl.struct(*LEVELS).struct.json_encode().alias("e"))["e"].to_list()
    edges = pl.DataFrame({
        "ri": pl.Series([e[0] for e in batch["edges"]], dtype=pl.Int64),
        "rj": pl.Series([e[1] for e in batch["edges"]], dtype=pl.Int64),
        "score": pl.Series([e[2] for e in batch["edges"]], dtype=pl.Float64),
        **{level: pl.Series(["x"] * len(batch["edges"]), dtype=pl.String) for level in LEVELS},
    })
    got = settle_clusters(decisions, pl.Series(batch["valid"], dtype=pl.String), edges, same=SAME)
    rows = got.select("person_key", "person_id", "outcome", "how", "score", "candidate_id", "evidence").rows()
    assert rows == _plain_settle(batch["outcome"], batch["person"], batch["how"], batch["score"], batch["valid"],
                                 batch["edges"], evidence)
