"""Fit the "no matching item" decision of the one-sentence search on the development set.

    .venv/bin/python -m benchmarks.fit_no_match [--max-false-no-match 0.02]

Reads the ``dev`` lines of ``benchmarks/data/one_sentence_eval.jsonl`` (never ``heldout``
or the independent set): lines with an expected item are "answerable", lines with
``"expect": []`` are not. For each it computes the features of
``linli.catalogue.search_index.decision.Features`` on the seed catalogue, fits an
L2-regularised logistic regression (Newton's method, both classes weighted equally), and
picks the highest threshold that turns away at most ``--max-false-no-match`` (2 %) of the
answerable lines. It prints the coefficients to paste into ``decision.py`` and the
trade-off table; it changes no file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from benchmarks.eval_one_sentence import load_cases
from linli.catalogue.data.items import seed_item_docs
from linli.catalogue.search_index import OneSentenceIndex, decision

L2 = 1.0


def feature_rows(index: OneSentenceIndex) -> tuple[np.ndarray, np.ndarray, list[str]]:
    xs, ys, queries = [], [], []
    for case in load_cases():
        if case.split != "dev":
            continue
        features = index.answer_features(case.query)
        if features is None:  # nothing ranked at all: answered "no match" whatever the model says
            continue
        xs.append(features.vector())
        ys.append(0.0 if case.no_match else 1.0)
        queries.append(case.query)
    return np.array(xs), np.array(ys), queries


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights (intercept first) of a class-balanced, L2-regularised logistic regression."""
    design = np.hstack([np.ones((len(x), 1)), x])
    weights = np.where(y == 1, 0.5 / y.sum(), 0.5 / (len(y) - y.sum())) * len(y)
    beta = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * L2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (weights * (y - p)) - penalty @ beta
        hessian = -(design.T * (weights * p * (1 - p))) @ design - penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return beta


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-false-no-match", type=float, default=0.02)
    args = parser.parse_args(argv)
    index = OneSentenceIndex(seed_item_docs())
    x, y, _queries = feature_rows(index)
    beta = fit(x, y)
    z = np.hstack([np.ones((len(x), 1)), x]) @ beta
    p = 1 / (1 + np.exp(-z))
    answerable, unanswerable = p[y == 1], p[y == 0]
    print(f"dev lines: {int(y.sum())} answerable, {int(len(y) - y.sum())} with no item "
          f"(features: {', '.join(decision.FEATURE_NAMES)})\n")
    print(f"{'threshold':>9} {'false no-match':>15} {'no-match caught':>16}")
    chosen = 0.0
    for threshold in np.arange(0.01, 0.96, 0.01):
        false_no_match = float((answerable < threshold).mean())
        caught = float((unanswerable < threshold).mean())
        if round(threshold * 100) % 5 == 0:
            print(f"{threshold:>9.2f} {false_no_match:>15.1%} {caught:>16.1%}")
        if false_no_match <= args.max_false_no_match:
            chosen = float(threshold)
    print(f"\nINTERCEPT = {beta[0]:.4f}")
    print(f"COEFFICIENTS = ({', '.join(f'{b:.4f}' for b in beta[1:])})")
    print(f"THRESHOLD = {chosen:.2f}  # at most {args.max_false_no_match:.0%} of answerable dev lines turned away")
    return 0


if __name__ == "__main__":
    sys.exit(main())
