"""Fellegi–Sunter m/u probabilities estimated from one batch by expectation–maximisation
(issue 17, cause 8), with the hand weights as priors.

The candidate pairs blocking brings up are a mix of matches and non-matches. EM treats
"match" as a hidden class: each pair's posterior from the current m/u, then m (the level
frequencies among matches) and u (among non-matches) re-estimated from the posteriors, a
Dirichlet prior per field keeping both near the hand model when the batch says little
(a level the batch never shows keeps its prior). The weights returned are ``ln(m/u)`` per
level (``missing`` stays 0: an absent value says nothing), and the thresholds follow from
the posterior: link at ≥ 0.999, review from 0.5 — not cut-offs tuned to one generator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import polars as pl

from linli.fusion.match.compare import _LEVELS, Thresholds, Weights

# Posterior probabilities of the decisions (see module docstring).
LINK_POSTERIOR: Final = 0.999
REVIEW_POSTERIOR: Final = 0.5
_CLIP: Final = (-12.0, 16.0)


@dataclass(frozen=True)
class Estimate:
    """The batch's model: weights, the thresholds they imply, the share of matches among
    the candidate pairs and the iterations run."""

    weights: Weights
    thresholds: Thresholds
    match_share: float
    iterations: int


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def estimate(
    pairs: pl.DataFrame,
    prior: Weights,
    *,
    margin: float = 3.0,
    strength: float = 200.0,
    max_iterations: int = 30,
    tolerance: float = 1e-5,
    random_pairs: pl.DataFrame | None = None,
) -> Estimate:
    """EM over ``pairs`` (one row per candidate pair, a level column per field of
    :data:`linli.fusion.match.compare._LEVELS`). ``strength``: pseudo-counts of each field's
    prior (the hand weights read as ``ln(m/u)``). ``random_pairs``: levels of random pairs,
    whose frequencies fix u (else u is estimated from ``pairs`` too)."""
    fields = [f for f in _LEVELS if f in pairs.columns]
    if pairs.height == 0 or not fields:
        return Estimate(prior, Thresholds(), 0.0, 0)
    frame = pairs.select(fields)
    levels: dict[str, list[str]] = {
        f: sorted(set(frame[f].drop_nulls().to_list()) | set(getattr(prior, f))) for f in fields
    }
    # Priors: u from how often each level occurs (most candidate pairs are non-matches),
    # m ∝ u · e^w of the hand weight.
    u_prior: dict[str, dict[str, float]] = {}
    m_prior: dict[str, dict[str, float]] = {}
    base = (
        random_pairs.select(fields) if random_pairs is not None and random_pairs.height else frame
    )
    fixed_u = base is not frame
    for f in fields:
        counts = dict(base.group_by(f).len().iter_rows())
        total = sum(counts.values())
        u = {lv: (counts.get(lv, 0) + 1.0) / (total + len(levels[f])) for lv in levels[f]}
        table: Mapping[str, float] = getattr(prior, f)
        raw = {lv: u[lv] * math.exp(max(min(table.get(lv, 0.0), 12.0), -12.0)) for lv in levels[f]}
        norm = sum(raw.values())
        u_prior[f], m_prior[f] = u, {lv: v / norm for lv, v in raw.items()}
    m, u = {f: dict(m_prior[f]) for f in fields}, {f: dict(u_prior[f]) for f in fields}
    # Start from the hand model's verdicts: the share of pairs it would link.
    hand = sum(
        (
            pl.col(f).replace_strict(dict(getattr(prior, f)), default=0.0, return_dtype=pl.Float64)
            for f in fields
        ),
        pl.lit(0.0),
    )
    share = float(frame.select((hand >= Thresholds().same).mean()).item() or 0.0)
    share = min(max(share, 0.01), 0.99)
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 -- reported
        log_ratio = sum(
            (
                pl.col(f).replace_strict(
                    {lv: math.log(m[f][lv] / u[f][lv]) for lv in levels[f]},
                    default=0.0,
                    return_dtype=pl.Float64,
                )
                for f in fields
            ),
            pl.lit(_logit(share)),
        )
        post = frame.with_columns((1.0 / (1.0 + (-log_ratio).exp())).alias("_p"))
        new_share = min(max(float(post.select(pl.col("_p").mean()).item() or 0.0), 1e-4), 1 - 1e-4)
        for f in fields:
            sums = dict(
                post.group_by(f)
                .agg(pl.col("_p").sum().alias("p"), (1 - pl.col("_p")).sum().alias("q"))
                .select(f, pl.struct("p", "q"))
                .iter_rows()
            )
            p_total = sum(v["p"] for v in sums.values())
            q_total = sum(v["q"] for v in sums.values())
            for lv in levels[f]:
                got = sums.get(lv, {"p": 0.0, "q": 0.0})
                m[f][lv] = (got["p"] + strength * m_prior[f][lv]) / (p_total + strength)
                if not fixed_u:
                    u[f][lv] = (got["q"] + strength * u_prior[f][lv]) / (q_total + strength)
        done = abs(new_share - share) < tolerance
        share = new_share
        if done:
            break
    tables = {}
    for f in fields:
        tables[f] = {
            lv: 0.0
            if lv == "missing"
            else min(max(math.log(m[f][lv] / u[f][lv]), _CLIP[0]), _CLIP[1])
            for lv in levels[f]
        }
    weights = Weights(**{f: tables.get(f, dict(getattr(prior, f))) for f in _LEVELS})
    offset = _logit(share)
    thresholds = Thresholds(
        same=_logit(LINK_POSTERIOR) - offset,
        review=_logit(REVIEW_POSTERIOR) - offset,
        margin=margin,
    )
    return Estimate(weights, thresholds, share, iterations)
