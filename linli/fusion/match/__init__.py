"""Record linkage of normalised export rows against the registry, and inside one batch.

:mod:`.matcher` holds :class:`Matcher` (how records are linked, see its module docstring),
:mod:`.keys` the match keys (names read per character, blind indexes, registry keys from
plaintext rows), :mod:`.compare` the comparison levels and weights, :mod:`.clusters` the
anchored union-find of a batch and :mod:`.evaluate` pairwise precision / recall / F1.
"""

from linli.fusion.match.compare import Thresholds, Weights
from linli.fusion.match.evaluate import PairwiseScores, pairwise_from_decisions, pairwise_scores
from linli.fusion.match.keys import (
    PII_ID_NUMBER,
    PII_PHONE,
    RECORD_COLUMNS,
    REGISTRY_SCHEMA,
    BlindIndex,
    DecryptId,
    id_hint,
    name_match_keys,
    pinyin_similarity,
    registry_keys,
)
from linli.fusion.match.matcher import (
    DECISION_SCHEMA,
    MatchDecision,
    Matcher,
    MatchStats,
    decisions_as_objects,
)

__all__ = [
    "DECISION_SCHEMA",
    "PII_ID_NUMBER",
    "PII_PHONE",
    "RECORD_COLUMNS",
    "REGISTRY_SCHEMA",
    "BlindIndex",
    "DecryptId",
    "MatchDecision",
    "MatchStats",
    "Matcher",
    "PairwiseScores",
    "Thresholds",
    "Weights",
    "decisions_as_objects",
    "id_hint",
    "name_match_keys",
    "pairwise_from_decisions",
    "pairwise_scores",
    "pinyin_similarity",
    "registry_keys",
]
