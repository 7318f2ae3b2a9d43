"""Accuracy of the fusion matcher against the demo exports' ground truth (no database).

    .venv/bin/python -m benchmarks.eval_fusion [--residents 74000] [--seed 2026] [--show 10]

Draws the six departmental exports of the demo street (``linli.demo.exports``), normalises
them with source definitions read off the exports' own layouts, matches every row against
the registry's keys (blind indexes computed here with a throwaway key) and compares the
decisions with the truth. Items are the export rows plus the registry persons, so a row
linked to the wrong existing person counts as a wrong pair.

Prints pairwise precision / recall / F1 of "same person" overall and for rows whose ID is
wrong or missing, and the share of rows sent to review. Goals (issue 3): F1 ≥ 0.995 overall,
recall ≥ 0.98 on wrong/missing IDs, < 1 % of rows in review. A review counts as "not linked".
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from benchmarks.harness import Result, report
from linli.fusion.mapping import SourceDefinition, parse_source_definition
from linli.fusion.match import Matcher, PairwiseScores, pairwise_from_decisions, registry_keys
from linli.fusion.normalise import normalise_frame

# The exports' internal value names (see linli.demo.exports._Layout) → registry fields.
_LAYOUT_FIELDS = {"@name": "name", "@id": "id_number", "@birth": "birth_date", "@sex": "sex",
                  "@phone": "phone", "@address": "address"}
_BLIND_KEY = b"linli-eval-fusion"


def blind(value: str, field: str) -> str:
    """A keyed blind index like :func:`linli.core.pii.blind_index`, without Django settings."""
    return hmac.new(_BLIND_KEY, f"{field}\x00{value}".encode(), hashlib.sha256).hexdigest()[:32]


def definitions() -> dict[str, SourceDefinition]:
    """One definition per demo export, read off the generator's column layouts."""
    from linli.demo.exports import LAYOUTS

    out = {}
    for code, layout in LAYOUTS.items():
        columns = {header: _LAYOUT_FIELDS[value] for header, value in layout.columns if value in _LAYOUT_FIELDS}
        out[code] = parse_source_definition({
            "code": code, "department": layout.department, "format": layout.format, "columns": columns,
        })
    return out


@dataclass
class Workload:
    """Normalised rows of all exports with their truth, and the registry keys."""

    records: pl.DataFrame
    truth: pl.DataFrame
    registry: pl.DataFrame
    registry_truth: dict[int, str]
    decrypt_id: Callable[[int], str | None]
    raw_rows: int
    seconds: dict[str, float]


def build_workload(*, residents: int, seed: int) -> Workload:
    """Generate, normalise and key the demo exports (timings of each step included)."""
    from linli.demo.exports import generate_exports

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    exports = generate_exports(seed=seed, residents=residents)
    seconds["generate"] = time.perf_counter() - started
    lap = time.perf_counter()
    defs = definitions()
    frames = []
    for code, file in exports.files.items():
        for sheet, raw in file.frames.items():
            normalised = normalise_frame(raw, defs[code])
            frames.append(normalised.with_columns(
                pl.lit(code).alias("source"), pl.lit(sheet or None, dtype=pl.String).alias("sheet")))
    records = pl.concat(frames, how="diagonal_relaxed")
    seconds["normalise"] = time.perf_counter() - lap
    truth = records.select("source", "sheet", "row_number").join(
        exports.truth.select("source", "sheet", "row_number", "entity", "person_id", "id_status", "duplicate"),
        on=["source", "sheet", "row_number"], how="left", nulls_equal=True,
    )
    if truth["entity"].null_count():
        raise SystemExit(f"{truth['entity'].null_count()} rows have no truth: the exports changed shape")
    lap = time.perf_counter()
    people = exports.registry_frame()
    registry = registry_keys(people, blind=blind)
    seconds["registry_keys"] = time.perf_counter() - lap
    plain = dict(zip(people["person_id"].to_list(), people["id_number"].to_list(), strict=True))
    return Workload(
        records=records, truth=truth, registry=registry,
        registry_truth={pid: f"p{pid}" for pid in people["person_id"].to_list()},
        decrypt_id=lambda pid: plain.get(pid) or None, raw_rows=exports.rows, seconds=seconds,
    )


def wrong_id_mask(truth: pl.DataFrame) -> list[bool]:
    from linli.demo.export_errors import ID_WRONG

    return truth["id_status"].is_in(list(ID_WRONG)).to_list()


@dataclass
class Evaluation:
    """The figures of one run."""

    overall: PairwiseScores
    wrong_id: PairwiseScores
    review_share: float
    outcomes: dict[str, int]
    hows: dict[str, int]


def evaluate(decisions: pl.DataFrame, work: Workload) -> Evaluation:
    truth = work.truth["entity"].to_list()
    overall = pairwise_from_decisions(decisions, truth, registry_truth=work.registry_truth)
    focus = wrong_id_mask(work.truth)
    wrong = pairwise_from_decisions(decisions, truth, registry_truth=work.registry_truth, focus=focus)
    counts = decisions["outcome"].value_counts()
    outcomes = dict(zip(counts["outcome"].to_list(), counts["count"].to_list(), strict=True))
    hows_frame = decisions["how"].value_counts()
    hows = dict(zip(hows_frame["how"].to_list(), hows_frame["count"].to_list(), strict=True))
    return Evaluation(overall, wrong, outcomes.get("review", 0) / max(decisions.height, 1), outcomes, hows)


def show_errors(decisions: pl.DataFrame, work: Workload, limit: int) -> None:
    """Print a few wrong links and missed links with their evidence, for tuning."""
    frame = pl.concat([work.records.select("source", "name", "id_number", "birth_date", "sex", "phone",
                                           "address_norm"), work.truth.select("entity", "id_status"),
                       decisions], how="horizontal")
    frame = frame.with_columns(
        pl.when(pl.col("outcome") == "review").then(pl.lit(None)).otherwise(pl.col("person_id")).alias("linked"))
    wrong_link = frame.filter(pl.col("linked").is_not_null() & (pl.concat_str(pl.lit("p"), "linked") != pl.col("entity")))
    in_registry = pl.col("entity").str.starts_with("p")
    missed = frame.filter(in_registry & pl.col("linked").is_null())
    for title, part in (("wrong links", wrong_link), ("missed links / reviews", missed)):
        print(f"\n{title}: {part.height}")
        with pl.Config(tbl_cols=20, tbl_width_chars=240, fmt_str_lengths=36, tbl_rows=limit):
            print(part.head(limit))


def print_evaluation(ev: Evaluation) -> None:
    for label, scores in (("overall", ev.overall), ("wrong or missing ID", ev.wrong_id)):
        print(f"{label:<22} precision {scores.precision:.5f}  recall {scores.recall:.5f}  F1 {scores.f1:.5f}  "
              f"(true pairs {scores.true_pairs:,}, predicted {scores.predicted_pairs:,}, "
              f"correct {scores.true_positives:,})")
    print(f"review share           {ev.review_share:.4%}   outcomes {ev.outcomes}   how {ev.hows}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=74_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show", type=int, default=0, help="print this many wrong and missed links")
    parser.add_argument("--estimate", action="store_true",
                        help="weights estimated from the batch by EM (hand weights as priors)")
    args = parser.parse_args(argv)

    work = build_workload(residents=args.residents, seed=args.seed)
    print(f"demo street: {args.residents:,} residents, seed {args.seed}; {work.records.height:,} export rows, "
          f"{work.registry.height:,} registry persons; " + ", ".join(f"{k} {v:.1f}s" for k, v in work.seconds.items()))
    matcher = Matcher(work.registry, blind=blind, decrypt_id=work.decrypt_id, estimate=args.estimate)
    started = time.perf_counter()
    decisions = matcher.match(work.records)
    elapsed = time.perf_counter() - started
    print(f"matched in {elapsed:.2f}s ({work.records.height / elapsed:,.0f} rows/s); stages "
          + ", ".join(f"{k} {v:.2f}s" for k, v in matcher.stats.timings.items())
          + f"; candidate pairs {matcher.stats.candidate_pairs:,}, record pairs {matcher.stats.record_pairs:,}, "
          f"decrypted {matcher.stats.decrypted:,}")
    if matcher.stats.estimate is not None:
        est = matcher.stats.estimate
        print(f"EM: match share {est.match_share:.4f} after {est.iterations} iterations; thresholds same "
              f"{est.thresholds.same:.2f}, review {est.thresholds.review:.2f}; weights {est.weights}")
    ev = evaluate(decisions, work)
    print_evaluation(ev)
    if args.show:
        show_errors(decisions, work, args.show)
    n = work.records.height
    results: list[Any] = [
        Result("fusion eval: F1 overall", n, "F1", ev.overall.f1, None, goal="≥ 0.995",
               goal_met=ev.overall.f1 >= 0.995,
               extra={"precision": ev.overall.precision, "recall": ev.overall.recall}),
        Result("fusion eval: recall, wrong/missing ID", n, "recall", ev.wrong_id.recall, None, goal="≥ 0.98",
               goal_met=ev.wrong_id.recall >= 0.98,
               extra={"precision": ev.wrong_id.precision, "f1": ev.wrong_id.f1}),
        Result("fusion eval: review share", n, "% rows", ev.review_share * 100, None, higher_is_better=False,
               goal="< 1 %", goal_met=ev.review_share < 0.01),
    ]
    print()
    report(results, name="fusion-eval")


if __name__ == "__main__":
    main()
