"""Pairwise precision / recall / F1 of a matcher's decisions against a ground truth."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import polars as pl


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


