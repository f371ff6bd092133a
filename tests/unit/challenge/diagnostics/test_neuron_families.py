"""Families by the published scheme and the zero-ablation 4-neuron protocol, on hand-built cases."""

import jax
import numpy as np
import pytest

from tms.challenge import data as D
from tms.challenge import model as M
from tms.challenge.diagnostics import neuron_families as F
from tms.challenge.diagnostics import neurons as N
from tms.challenge.diagnostics.grid import run_grid

Y = np.arange(D.N_VALUES)


def _map(cols, sign, rows=slice(None)):
    """(N,) contribution map: |sign| on the y columns ``cols`` of the rows ``rows``, 0 elsewhere."""
    g = np.zeros((D.N_VALUES, D.N_VALUES))
    g[rows, cols] = sign
    return g.ravel()


def test_family_names_read_colour_and_position():
    C = np.stack([_map(Y > 80, 2.0), _map(Y < 30, -1.0), _map(Y >= 0, 0.8, rows=slice(0, 40)),
                  _map(Y > 70, -3.0, rows=slice(50, 60)), _map(Y < 50, 0.4)], 1)
    names = F.family_names(C)
    assert list(names) == ["red-right", "blue-left", "red-all", "blue-right", ""]  # last: max 0.4 <= 0.5


def test_uncentred_signed_clusters_keep_opposite_voters_apart():
    # "−1 on the left" and "+1 on the right" are the same map once centred (the old defect); signed maps differ
    left, right = Y < 56, Y >= 56
    rng = np.random.default_rng(0)
    C = np.stack([_map(left, -a) for a in rng.uniform(1, 2, 5)] + [_map(right, a) for a in rng.uniform(1, 2, 5)], 1)
    centred = C - C.mean(0)
    cos = centred[:, 0] @ centred[:, 5] / np.linalg.norm(centred[:, 0]) / np.linalg.norm(centred[:, 5])
    assert cos > 0.999
    tab = F.family_table(C)
    assert list(tab["family"]) == ["blue-left"] * 5 + ["red-right"] * 5
    assert len(set(tab["cluster"][:5])) == 1 and set(tab["cluster"][:5]).isdisjoint(tab["cluster"][5:])
    assert (tab["family"] == tab["cluster_family"]).all()


def _four_neuron_model():
    """A small model whose logit difference is exactly the sum of four planted neurons' contributions (the
    four that vary most over the inputs, weights ±1/s.d.): the unembedding reads only coordinate 0, which
    nothing but the planted neurons' W_out writes."""
    cfg = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=32)
    p = {k: np.array(v) for k, v in M.init_params(cfg, jax.random.PRNGKey(7)).items()}
    for k in ("W_E", "W_pos"):
        p[k][..., 0] = 0.0
    p["W_O"][..., 0] = 0.0
    p["W_out"][:, 0] = 0.0
    p["b_out"][0] = 0.0
    sd = run_grid(p).post.std(0)
    planted = sorted(int(n) for n in np.argsort(-sd)[:4])
    p["W_out"][planted, 0] = np.array([1.0, -1.0, 1.0, -1.0]) / sd[planted]
    p["W_U"][:] = 0.0
    p["W_U"][0, 1] = 1.0
    return p, list(planted)


def test_zero_ablation_of_exactly_four_neurons_is_100_percent():
    p, planted = _four_neuron_model()
    run = run_grid(p)
    C = N.neuron_contributions(p, run.post)
    np.testing.assert_allclose(C[:, planted].sum(1), run.logit_diff, atol=1e-4)
    assert F.zero_ablation_agreement(C, planted, run.pred) == 1.0
    assert 0.2 < run.pred.mean() < 0.8
    assert all(F.zero_ablation_agreement(C, [m for m in planted if m != n], run.pred) < 0.99 for n in planted)
    # one neuron per family: each planted neuron in its own family, beside unplanted members
    fam = np.array(["red-left", "red-all", "blue-left", "blue-right"] * 8)
    fam[planted] = ["red-left", "red-all", "blue-left", "blue-right"]
    fs = F.best_family_set(C, run.pred, fam, top=32)
    assert fs.agreement == 1.0 and sorted(fs.neurons) == planted
    assert len(set(fs.families)) == 4 and all(fam[n] == f for n, f in zip(fs.neurons, fs.families))


def test_best_family_set_takes_at_most_one_neuron_per_family():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=D.N_PAIRS), rng.normal(size=D.N_PAIRS)
    target = (a + b > 0).astype(np.uint8)
    C = np.stack([a, 1.01 * a, b, 0.1 * rng.normal(size=D.N_PAIRS)], 1)  # neuron 1: a near-copy of neuron 0
    fam = np.array(["red-left", "red-left", "blue-right", "red-all"])
    fs = F.best_family_set(C, target, fam, k=2)
    assert set(fs.neurons) in ({0, 2}, {1, 2}) and fs.agreement == 1.0
    fs3 = F.best_family_set(C, target, fam, k=3)
    assert len(set(fam[list(fs3.neurons)])) == 3
    only = F.best_family_set(C, target, fam, only=("red-left", "red-all"))
    assert fs.agreement > only.agreement
    with pytest.raises(ValueError, match="families"):
        F.best_family_set(C, target, fam, only=("blue-left", "red-all"))


def test_top_per_family_takes_the_largest_rms_neuron_of_each_family():
    rng = np.random.default_rng(2)
    C = rng.normal(size=(D.N_PAIRS, 6)) * np.array([1, 3, 2, 5, 1, 4])
    names = np.array(["red-right", "red-right", "blue-left", "blue-left", "", "red-all"])
    assert F.top_per_family(C, names, ("red-right", "blue-left", "red-all")) == (1, 3, 5)
    with pytest.raises(ValueError, match="blue-right"):
        F.top_per_family(C, names, ("blue-right",))
