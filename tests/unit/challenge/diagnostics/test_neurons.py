"""Neuron contributions, subset search and families on cases with known answers."""

import numpy as np
import pytest

from tms.challenge.diagnostics import neuron_families as F
from tms.challenge.diagnostics import neurons as N


def test_contributions_sum_to_logit_difference(small):
    params, run = small
    C = N.neuron_contributions(params, run.post)
    rest = N.direct_contribution(params, run.resid_mid)
    np.testing.assert_allclose(C.sum(1) + rest, run.logit_diff, atol=1e-4)


def test_subset_search_finds_planted_neurons():
    rng = np.random.default_rng(4)
    n, m = 3000, 60
    C = 0.05 * rng.normal(size=(n, m))
    planted = [7, 23, 41]
    C[:, planted] = rng.normal(size=(n, 3)) * [3.0, 2.0, 1.5]
    target = (C[:, planted].sum(1) > 0).astype(np.uint8)
    s = N.neuron_subset_search(C - C.mean(0), target, max_k=4)
    assert s.neurons[2] == planted
    t = s.table.set_index("k")
    assert (t["agreement_best_offset"] >= t["agreement"]).all()
    np.testing.assert_allclose(t.loc[3, "agreement"], ((C[:, planted].sum(1) > 0) == target).mean(), atol=0.01)
    assert t["agreement"].is_monotonic_increasing or np.all(np.diff(t["agreement"]) >= -1e-12)
    with pytest.raises(ValueError, match="max_k"):
        N.neuron_subset_search(C, target, max_k=0)


def test_best_cut_matches_brute_force():
    rng = np.random.default_rng(7)
    v = rng.integers(-5, 5, 80).astype(float)
    y = rng.random(80) < 0.4
    c = N._best_cut(v, y)
    brute = max(((v > t) == y).mean() for t in np.arange(-6, 6) + 0.5)
    np.testing.assert_allclose(((v > c) == y).mean(), brute)


def test_canonical_labels_depend_on_the_partition_only():
    labels = np.array([7, 3, 3, 9, 7, 3, 9, 1])  # sizes: 3 -> 3 items, 7 -> 2, 9 -> 2, 1 -> 1
    # 3 first (largest); 7 before 9 (equal size, smallest member 0 < 3); then 1
    np.testing.assert_array_equal(F.canonical_labels(labels), [1, 0, 0, 2, 1, 0, 2, 3])
    # any renaming of the ids gives the same numbers
    renamed = np.array([{7: 0, 3: 5, 9: 2, 1: 8}[v] for v in labels])
    np.testing.assert_array_equal(F.canonical_labels(renamed), F.canonical_labels(labels))
