"""EM-estimated weights (issue 17, cause 8; opt-in): the batch's model learns which levels
tell matches apart, keeps the priors where the batch says nothing, and ``Matcher(estimate=
True)`` runs on the same records as the hand model."""

from __future__ import annotations

import polars as pl

from linli.fusion.match import Matcher, Weights
from linli.fusion.match.em import estimate
from linli.fusion.tests.test_match import PEOPLE, blind, records


def _pairs(rows: list[tuple[str, str, str]], times: int) -> pl.DataFrame:
    frame = pl.DataFrame(rows * times, schema=["name", "birth", "address"], orient="row")
    return frame.with_columns(pl.lit("missing").alias(c) for c in ("sex", "phone", "id"))


def test_em_weights_follow_the_batch_and_keep_priors_elsewhere() -> None:
    # given candidate pairs: matches agree on name, birth and room; non-matches share only the name
    pairs = _pairs([("exact", "exact", "room")], 300).vstack(
        _pairs([("exact", "different", "different")], 700)
    )
    random_pairs = _pairs([("different", "different", "different")], 990).vstack(
        _pairs([("exact", "exact", "room")], 10)
    )
    # when estimated
    found = estimate(pairs, Weights(), random_pairs=random_pairs)
    # then an exact birth is strong evidence, a different one against; missing says nothing
    assert found.weights.birth["exact"] > 3.0
    assert found.weights.birth["different"] < 0.0
    assert found.weights.birth["missing"] == 0.0
    assert 0.0 < found.match_share < 1.0
    assert found.thresholds.same > found.thresholds.review


def test_an_empty_batch_keeps_the_hand_model() -> None:
    found = estimate(pl.DataFrame(schema=dict.fromkeys(("name", "birth"), pl.String)), Weights())
    assert found.weights == Weights()
    assert found.iterations == 0


def test_the_matcher_estimates_per_batch_and_links_an_exact_id() -> None:
    people = pl.DataFrame(
        PEOPLE,
        orient="row",
        schema=[
            "person_id",
            "name",
            "id_number",
            "birth_date",
            "sex",
            "phone",
            "compound",
            "building_no",
            "unit",
            "room",
        ],
    )
    from linli.fusion.match import registry_keys

    plain = dict(zip(people["person_id"], people["id_number"], strict=True))
    matcher = Matcher(
        registry_keys(people, blind=blind),
        blind=blind,
        decrypt_id=lambda pid: plain[pid] or None,
        estimate=True,
    )
    decided = matcher.match(
        records({"姓名": "王芳", "身份证号": PEOPLE[0][2]}, {"姓名": "李娜", "电话": "13600000007"})
    )
    assert decided["outcome"][0] == "same"
    assert decided["person_id"][0] == 1
    assert matcher.stats.estimate is not None
