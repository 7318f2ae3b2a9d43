"""Pairwise scores of a fusion run against a truth file (no Django, no linli imports).

Items are the rows of the exports, each labelled with a true person key; the run gives each
row the registry person it was fused into (or none: rejected, sent to review, skipped). Two
rows are a predicted pair when they went to one person, a true pair when they share a key.
Scores are pairwise precision, recall and F1, overall, across files, and for the rows of each
error class of the noise log (a pair counts for a class when either of its rows has it).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

Row = tuple[str, str, int]  # file name, sheet ("" for CSV), row number as in the file (header = 1)


@dataclass
class Scores:
    true_pairs: int = 0
    predicted_pairs: int = 0
    right_pairs: int = 0

    @property
    def precision(self) -> float:
        return self.right_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.right_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Evaluation:
    overall: Scores = field(default_factory=Scores)
    cross_file: Scores = field(default_factory=Scores)
    by_class: dict[str, Scores] = field(default_factory=lambda: defaultdict(Scores))
    rows: int = 0
    rows_unlinked: int = 0


def read_truth(path: Path) -> dict[Row, str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {(r["file"], r["sheet"], int(r["row_number"])): r["person_key"] for r in csv.DictReader(handle)}


def read_noise(path: Path) -> dict[Row, set[str]]:
    """Error classes per row; format variants and hard negatives count as classes too."""
    classes: dict[Row, set[str]] = defaultdict(set)
    with path.open(encoding="utf-8", newline="") as handle:
        for r in csv.DictReader(handle):
            classes[(r["file"], r["sheet"], int(r["row_number"]))].add(r["error_class"])
    return classes


def _pairs(groups: Mapping[object, list[Row]]) -> set[tuple[Row, Row]]:
    out: set[tuple[Row, Row]] = set()
    for rows in groups.values():
        for a, b in combinations(sorted(rows), 2):
            out.add((a, b))
    return out


def evaluate(truth: Mapping[Row, str], fused: Mapping[Row, int | None], noise: Mapping[Row, set[str]]) -> Evaluation:
    """``fused``: row → person id (None or missing = not linked to anyone)."""
    result = Evaluation(rows=len(truth))
    by_key: dict[object, list[Row]] = defaultdict(list)
    by_person: dict[object, list[Row]] = defaultdict(list)
    for row, key in truth.items():
        by_key[key].append(row)
        person = fused.get(row)
        if person is None:
            result.rows_unlinked += 1
        else:
            by_person[person].append(row)
    true_pairs, predicted = _pairs(by_key), _pairs(by_person)
    right = true_pairs & predicted

    def add(scores: Scores, pairs: Iterable[tuple[Row, Row]], kind: str) -> None:
        for _ in pairs:
            setattr(scores, kind, getattr(scores, kind) + 1)

    for kind, pairs in (("true_pairs", true_pairs), ("predicted_pairs", predicted), ("right_pairs", right)):
        add(result.overall, pairs, kind)
        add(result.cross_file, (p for p in pairs if p[0][0] != p[1][0]), kind)
        for a, b in pairs:
            for cls in noise.get(a, set()) | noise.get(b, set()):
                setattr(result.by_class[cls], kind, getattr(result.by_class[cls], kind) + 1)
    return result


def table(evaluation: Evaluation, *, min_pairs: int = 1) -> str:
    lines = ["| slice | true pairs | predicted | precision | recall | F1 |", "|---|---:|---:|---:|---:|---:|"]

    def line(name: str, s: Scores) -> None:
        lines.append(f"| {name} | {s.true_pairs:,} | {s.predicted_pairs:,} | {s.precision:.4f} | "
                     f"{s.recall:.4f} | {s.f1:.4f} |")

    line("all rows", evaluation.overall)
    line("across files", evaluation.cross_file)
    for cls, scores in sorted(evaluation.by_class.items(), key=lambda kv: -kv[1].true_pairs):
        if scores.true_pairs >= min_pairs or scores.predicted_pairs >= min_pairs:
            line(f"rows with `{cls}`", scores)
    return "\n".join(lines)
