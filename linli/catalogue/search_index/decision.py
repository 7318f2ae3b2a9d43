"""Does any item answer the query? A calibrated "no good match" decision. Pure.

The ranking always has a best item; whether it *answers* the query is a separate question.
"装烟雾报警器有补贴吗" shares 补贴 with forty items and is answered by none of them. The
decision reads a few features of the ranked query and combines them in a logistic model
whose coefficients were fitted on the development set (``benchmarks/fit_no_match.py`` on the
``dev`` lines of ``benchmarks/data/one_sentence_eval.jsonl``, matched and no-match alike):

- ``score`` — the best item's score;
- ``coverage`` — the share of the query's meaningful characters that the best item or the
  synonym table explains ("烟雾报警器" is explained by nothing);
- ``unexplained`` — how many meaningful characters are left over;
- ``specificity`` — how rare the rarest word shared with the best item is across the
  catalogue (sharing only 补贴 or 申请 with an item is weak evidence).

Five-fold cross-validation on the development set chose these four (score alone catches
about 73 % of the unanswerable lines at 2 % answerable ones turned away, the four about
80 %; margin and a life-event flag added nothing).

The threshold is set so that on the development set almost no answerable question is
turned away (a person told "no item" when one exists is worse off than one shown three
items): see ``THRESHOLD``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FEATURE_NAMES = ("log(1+score)", "coverage", "log(1+unexplained)", "specificity")


@dataclass(frozen=True)
class Features:
    """What the decision reads of one ranked query."""

    score: float
    coverage: float
    unexplained: int
    specificity: float

    def vector(self) -> tuple[float, ...]:
        return (math.log1p(max(self.score, 0.0)), self.coverage, math.log1p(self.unexplained), self.specificity)


# Fitted by benchmarks/fit_no_match.py (see its output in docs/benchmarks.md).
INTERCEPT = -12.6429
COEFFICIENTS: tuple[float, ...] = (4.7964, 1.7692, 0.3759, -0.2776)
# The highest threshold that turns away at most 2 % of the answerable dev lines.
THRESHOLD = 0.18


def confidence(features: Features) -> float:
    """Probability-like confidence that the best item answers the query."""
    z = INTERCEPT + sum(c * x for c, x in zip(COEFFICIENTS, features.vector(), strict=True))
    return 1.0 / (1.0 + math.exp(-z))
