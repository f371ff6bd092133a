"""Accuracy tables and error distances on planted errors and on the original model's shipped labels."""

import numpy as np
import pytest

from tms.challenge import data as D
from tms.challenge.diagnostics import accuracy as A


def test_accuracy_table_counts_planted_errors():
    truth = D.label_grid().ravel()
    tr, te = D.split()
    pred = truth.copy()
    pred[tr[:7]] ^= 1
    pred[te[:3]] ^= 1
    t = A.accuracy_table(pred, original=truth).set_index("set")
    assert list(t["errors"]) == [7, 3, 10]
    np.testing.assert_allclose(t.loc["train", "accuracy"], 1 - 7 / 6384)
    np.testing.assert_allclose(t.loc["full", "agreement_original"], 1 - 10 / 12769)
    assert np.isnan(A.accuracy_table(truth)["agreement_original"]).all()


def test_accuracy_table_of_the_original_model():
    ref = D.load_reference()  # package data: always present
    t = A.accuracy_table(ref["model_labels"]).set_index("set")
    np.testing.assert_allclose(t["accuracy"], [0.9970, 0.9757, 0.9864], atol=5e-5)
    assert t.loc["full", "errors"] == 174


def test_accuracy_table_rejects_bad_labels():
    with pytest.raises(ValueError, match="pred"):
        A.accuracy_table(np.zeros(10))
    with pytest.raises(ValueError, match="only 0 and 1"):
        A.accuracy_table(np.full((113, 113), 2))




def test_boundary_distances_of_known_points():
    truth = D.label_grid().ravel()
    f = A.error_distances(truth).set_index(["x", "y"])
    # 20² = 200·√4 (curve a), 60² = 600·√36 (curve b), 60 + 73 = 133 (line c)
    np.testing.assert_allclose(f.loc[(20, 4), "d_a"], 0.0, atol=0.05)
    np.testing.assert_allclose(f.loc[(36, 60), "d_b"], 0.0, atol=0.05)
    np.testing.assert_allclose(f.loc[(60, 73), "d_c"], 0.0, atol=0.05)
    np.testing.assert_allclose(f.loc[(0, 0), "d_c"], 133 / np.sqrt(2), rtol=1e-3)
    assert not f["error"].any()
    # d_label: the nearest input with the other true label, by brute force on a few points
    pairs, lab = D.all_pairs(), truth
    for x, y in [(0, 0), (50, 50), (100, 10), (30, 100)]:
        other = pairs[lab != lab[x * 113 + y]]
        np.testing.assert_allclose(f.loc[(x, y), "d_label"], np.sqrt(((other - [x, y]) ** 2).sum(1)).min())


def test_error_summary_separates_planted_errors():
    truth = D.label_grid().ravel()
    f0 = A.error_distances(truth)
    near = np.flatnonzero(f0["d_min"] < 0.5)[:40]
    pred = truth.copy()
    pred[near] ^= 1
    s = A.error_distance_summary(A.error_distances(pred)).set_index("group")
    assert s.loc["errors", "n"] == 40
    np.testing.assert_allclose(s.loc["errors", "frac_d_min_le_1"], 1.0)
    np.testing.assert_allclose(s.loc["all", "frac_d_min_le_1"], (f0["d_min"] <= 1).mean())
