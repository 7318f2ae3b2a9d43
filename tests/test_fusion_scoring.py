"""The pairwise scorer of the independent fusion evaluation (benchmarks/fusion_scoring.py)."""

from __future__ import annotations

from benchmarks.fusion_scoring import evaluate


def test_pairs_are_counted_overall_across_files_and_per_error_class():
    truth = {("a.csv", "", 2): "P1", ("b.csv", "", 2): "P1", ("b.csv", "", 3): "P2",
             ("c.csv", "", 2): "P2", ("c.csv", "", 3): "P3"}
    # P1 found; P2's second row unlinked (missed pair); P3 wrongly joined to P2's first row.
    fused = {("a.csv", "", 2): 1, ("b.csv", "", 2): 1, ("b.csv", "", 3): 2, ("c.csv", "", 2): None,
             ("c.csv", "", 3): 2}
    result = evaluate(truth, fused, {("c.csv", "", 2): {"id_missing"}, ("c.csv", "", 3): {"hn_twin"}})
    assert (result.overall.true_pairs, result.overall.predicted_pairs, result.overall.right_pairs) == (2, 2, 1)
    assert result.overall.precision == 0.5
    assert result.overall.recall == 0.5
    assert result.rows_unlinked == 1
    assert result.by_class["id_missing"].true_pairs == 1
    assert result.by_class["id_missing"].recall == 0
    assert result.by_class["hn_twin"].predicted_pairs == 1
    assert result.by_class["hn_twin"].precision == 0


def test_a_perfect_run_scores_one_and_singletons_make_no_pairs():
    truth = {("a.csv", "", 2): "P1", ("a.csv", "", 3): "P1", ("a.csv", "", 4): "P2"}
    result = evaluate(truth, {("a.csv", "", 2): 7, ("a.csv", "", 3): 7, ("a.csv", "", 4): 8}, {})
    assert result.overall.f1 == 1.0
    assert result.cross_file.true_pairs == 0
