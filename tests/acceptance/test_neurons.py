"""The paper's claims about neurons, at the settings ``tms reproduce privileged`` / ``computation`` train (slow)."""

import functools

import numpy as np
import pytest

from tms.analysis.neurons import abs_census, neuron_frame
from tms.experiments.neurons import SETTINGS, privileged_table, train_setting

pytestmark = pytest.mark.slow

NOT_MATCHED = ("not reproduced at the lab's 3,000-step budget (docs/privileged.md gives the numbers); strict: "
               "a pass means the docs need updating")


@functools.cache
def trained(name):
    return train_setting(SETTINGS[name])[0]


@pytest.mark.xfail(strict=True, reason=NOT_MATCHED + "; measured 0 of 5 monosemantic at density 1")
def test_dense_privileged_neurons_are_monosemantic_on_the_important_features():
    """Density 1, n = 10, m = 5: at least 4 of 5 neurons monosemantic, each on one of the 5 most important."""
    neurons = neuron_frame(trained("privileged").W[0])
    assert ((neurons.label == "monosemantic") & (neurons.top_feature < 5)).sum() >= 4


def test_sparse_privileged_neurons_are_polysemantic_and_carry_more_than_m_features():
    """At the lowest density shipped (0.01): most neurons polysemantic, more than m = 5 features represented."""
    table = privileged_table(trained("privileged").W, trained("privileged_relu_output").W,
                             SETTINGS["privileged"].densities)
    low = table.iloc[-1]
    assert low.density == 0.01
    assert low.monosemantic_fraction < 0.5
    assert low.features_represented > 5


def test_abs_baseline_computes_each_feature_with_a_pair():
    p = trained("abs_baseline")
    _, features = abs_census(p.W1[0], p.W2[0])
    assert features.pair.all() and features.computed.all()


@pytest.mark.xfail(strict=True, reason=NOT_MATCHED + "; measured 30 of 40 neurons monosemantic, 8 polysemantic")
def test_abs_dense_model_gives_one_feature_per_neuron():
    p = trained("abs_sweep")
    dense, _ = abs_census(p.W1[0], p.W2[0])
    live = dense[dense.label != "dead"]
    assert (live.label == "monosemantic").all()


@pytest.mark.xfail(strict=True, reason=NOT_MATCHED + "; measured 0 features computed at density 0.001")
def test_abs_sparse_model_computes_more_than_half_m_features():
    p = trained("abs_sweep")
    _, sparse = abs_census(p.W1[-1], p.W2[-1])
    assert sparse.computed.sum() > SETTINGS["abs_sweep"].m / 2


@pytest.mark.xfail(strict=True, reason=NOT_MATCHED + "; measured no asymmetric neuron at n = 20, m = 10")
def test_asymmetric_superposition_is_found_at_n20_m10():
    p = trained("abs_asymmetric")
    neurons, _ = abs_census(p.W1[0], p.W2[0])
    assert (neurons.label == "asymmetric").any()
    np.testing.assert_array_less(-1, neurons.loc[neurons.label == "asymmetric", "motif_weak"])
