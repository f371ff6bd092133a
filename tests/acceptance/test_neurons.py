"""The paper's claims about neurons (slow). A claim about a trained setting is checked at the paper's training
budget (10,000 steps of 1,024 examples: the shipped ``*_paper`` sweeps) where the shipped sweep of ``tms reproduce
privileged`` / ``computation`` trains less (3,000 steps); claims that already hold there are checked there."""

import functools

import numpy as np
import pytest

from tms.analysis.neurons import abs_census, neuron_frame
from tms.experiments.neurons import density_params, privileged_table
from tms.experiments.registry import shipped_spec
from tms.runs.pipeline import run_chunks
from tms.runs.results import Results

pytestmark = pytest.mark.slow

NOT_MATCHED = ("not reproduced at the paper's 10,000-step budget (docs/privileged.md gives the numbers); strict: "
               "a pass means the docs need updating")


@functools.cache
def trained(name):
    """``(params with a leading density axis, densities)`` of shipped sweep ``name``, trained in memory."""
    spec = shipped_spec(name)
    return density_params(Results(spec.static, spec.grid, run_chunks(spec, progress=False)))


def test_dense_privileged_neurons_are_monosemantic_on_the_important_features():
    """Density 1, n = 10, m = 5, at the paper's budget: at least 4 of 5 neurons monosemantic, each on one of the 5
    most important features (at the 3,000 steps of ``privileged`` none is: docs/privileged.md)."""
    p, dens = trained("privileged_paper")
    assert dens[0] == 1.0
    neurons = neuron_frame(p["W"][0])
    assert ((neurons.label == "monosemantic") & (neurons.top_feature < 5)).sum() >= 4


def test_sparse_privileged_neurons_are_polysemantic_and_carry_more_than_m_features():
    """At the lowest density of the figure (0.01, 3,000 steps): most neurons polysemantic, more than m = 5 features
    represented."""
    (hidden, dens), (output, _) = trained("privileged"), trained("privileged_relu_output")
    table = privileged_table(hidden["W"], output["W"], dens)
    low = table.iloc[-1]
    assert low.density == 0.01
    assert low.monosemantic_fraction < 0.5
    assert low.features_represented > 5


def test_privileged_neurons_at_density_0_001():
    """The claim as stated, at density 0.001 (``privileged_paper``, the paper's budget): most of the 5 neurons
    polysemantic and more than m = 5 features represented (‖W_i‖ > 0.5)."""
    p, dens = trained("privileged_paper")
    assert dens[-1] == 0.001
    W = p["W"][-1]
    neurons = neuron_frame(W)
    assert (neurons.label == "polysemantic").sum() >= 3
    assert (np.linalg.norm(W, axis=0) > 0.5).sum() > 5


def test_abs_baseline_computes_each_feature_with_a_pair():
    p, _ = trained("computation_baseline")
    _, features = abs_census(p["W1"][0], p["W2"][0])
    assert features.pair.all() and features.computed.all()


def test_abs_dense_model_gives_one_feature_per_neuron():
    """Density 1, n = 100, m = 40, the notebooks' initialisation (``init_scale``; with the lab's default init 38 of
    40 neurons were monosemantic, docs/privileged.md)."""
    p, dens = trained("computation_sweep_paper")
    assert dens[0] == 1.0
    dense, _ = abs_census(p["W1"][0], p["W2"][0])
    live = dense[dense.label != "dead"]
    assert len(live) == 40 and (live.label == "monosemantic").all()


def test_abs_sparse_model_computes_more_than_half_m_features_at_density_0_01():
    """Density 0.01 (the sweep's third-lowest): more than m/2 = 20 features computed (measured 24; seeds 1 and 2
    gave 25 and 26)."""
    p, dens = trained("computation_sweep_paper")
    assert dens[4] == 0.01
    _, sparse = abs_census(p["W1"][4], p["W2"][4])
    assert sparse.computed.sum() > shipped_spec("computation_sweep_paper").static.n_hidden / 2


@pytest.mark.xfail(strict=True, reason=NOT_MATCHED + "; measured 7 features computed at density 0.001 (seeds 1, 2: "
                                                      "10, 6; an independent PyTorch run: 8)")
def test_abs_sparse_model_computes_more_than_half_m_features_at_density_0_001():
    p, dens = trained("computation_sweep_paper")
    assert dens[-1] == 0.001
    _, sparse = abs_census(p["W1"][-1], p["W2"][-1])
    assert sparse.computed.sum() > shipped_spec("computation_sweep_paper").static.n_hidden / 2


@pytest.mark.xfail(strict=True, reason=NOT_MATCHED + "; measured no asymmetric neuron at n = 20, m = 10, density 0.5 "
                                                      "(10 monosemantic neurons in 5 (+x, -x) pairs)")
def test_asymmetric_superposition_is_found_at_n20_m10_density_0_5():
    p, dens = trained("computation_asymmetric_paper")
    assert dens[0] == 0.5
    neurons, _ = abs_census(p["W1"][0], p["W2"][0])
    assert (neurons.label == "asymmetric").any()


def test_asymmetric_superposition_is_found_at_n20_m10_below_density_0_5():
    """The same model at densities 0.2, 0.1, 0.05, 0.02: the census labels the motif (a strong and a weak feature
    of opposite signs, reciprocal output weights) in the lowest-loss model of at least one of them."""
    p, dens = trained("computation_asymmetric_paper")
    assert list(dens[1:]) == [0.2, 0.1, 0.05, 0.02]
    found = []
    for W1, W2 in zip(p["W1"][1:], p["W2"][1:]):
        neurons, _ = abs_census(W1, W2)
        motif = neurons[neurons.label == "asymmetric"]
        assert (motif.motif_weak >= 0).all() and (motif.motif_strong != motif.motif_weak).all()
        found.append(len(motif))
    assert sum(found) > 0, found
