"""The neuron census on hand-built weights: each label, and the edge cases (a zero neuron, two equal features on
one neuron, a negative weight)."""

import numpy as np
import pytest

from tms.analysis.neurons import (
    UnknownCensusKind,
    abs_census,
    feature_neurons,
    monosemantic_fraction,
    neuron_census,
    neuron_frame,
    neuron_shares,
)
from tms.errors import TmsError


def test_shares_of_hand_built_neurons():
    W = np.array([[3.0, 4.0, 0.0],    # shares 9/25, 16/25
                  [0.0, 0.0, 0.0],    # a zero neuron: no shares, no division by zero
                  [0.0, -2.0, 0.0]])  # a negative weight counts by its square
    np.testing.assert_allclose(neuron_shares(W), [[0.36, 0.64, 0], [0, 0, 0], [0, 1, 0]], atol=1e-12)


def test_labels_monosemantic_polysemantic_dead_and_negative():
    W = np.array([[1.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0],    # dead
                  [0.7, 0.7, 0.0, 0.0],    # two equal features: polysemantic, carries both
                  [0.0, 0.0, -2.0, 0.3],   # negative weight, share 4/4.09 = 0.978: monosemantic on feature 2
                  [0.0, 0.0, 0.0, 0.0]])
    f = neuron_frame(W)
    assert f.label.tolist() == ["monosemantic", "dead", "polysemantic", "monosemantic", "dead"]
    assert f.top_feature.tolist() == [0, -1, 0, 2, -1]  # ties go to the first feature
    assert f.features.tolist() == [(0,), (), (0, 1), (2,), ()]
    np.testing.assert_allclose(f.top_weight, [1.0, 0.0, 0.7, -2.0, 0.0])
    np.testing.assert_allclose(f.top_share, [1.0, 0.0, 0.5, 4 / 4.09, 0.0], rtol=1e-12)
    np.testing.assert_allclose(monosemantic_fraction(W), 2 / 5)
    # the threshold is a parameter: at 0.99 the neuron with 0.978 becomes polysemantic
    assert neuron_frame(W, mono_share=0.99).label[3] == "polysemantic"


def test_features_and_their_neurons():
    W = np.array([[1.0, 0.0, 0.0], [0.7, 0.7, 0.0], [0.0, 0.3, 0.0]])
    f = feature_neurons(W)
    assert f.neurons.tolist() == [(0, 1), (1, 2), ()]
    assert f.represented.tolist() == [True, True, False]  # column norms 1.22, 0.76, 0
    np.testing.assert_allclose(f.norm, [np.sqrt(1.49), np.sqrt(0.58), 0.0])


def test_bad_weights_are_named_errors():
    with pytest.raises(ValueError, match="W must be"):
        neuron_frame(np.ones(3))
    with pytest.raises(ValueError, match="mono_share must lie in"):
        neuron_frame(np.ones((2, 2)), mono_share=0.0)
    with pytest.raises(ValueError, match=r"W2 must be shape \(2, 3\)"):
        abs_census(np.ones((3, 2)), np.ones((3, 2)))


def test_abs_baseline_pairs_are_found():
    """n = 3, m = 6: each feature read by a +x and a −x neuron writing back with weight 1 computes |x|."""
    W1 = np.zeros((6, 3))
    W2 = np.zeros((3, 6))
    for i in range(3):
        W1[2 * i, i], W1[2 * i + 1, i] = 1.0, -1.0
        W2[i, 2 * i] = W2[i, 2 * i + 1] = 1.0
    neurons, features = abs_census(W1, W2)
    assert (neurons.label == "monosemantic").all()
    assert features.pair.all() and features.computed.all()
    assert features.pos_neuron.tolist() == [0, 2, 4] and features.neg_neuron.tolist() == [1, 3, 5]
    np.testing.assert_allclose(features.gain_pos, 1.0)
    np.testing.assert_allclose(features.gain_neg, 1.0)


def test_abs_half_computed_feature_is_not_a_pair():
    W1 = np.array([[1.0, 0.0], [0.0, 0.0]])
    W2 = np.array([[1.0, 0.0], [0.0, 0.0]])
    neurons, features = abs_census(W1, W2)
    assert features.pair.tolist() == [False, False] and features.computed.tolist() == [False, False]
    np.testing.assert_allclose(features.gain_pos, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(features.gain_neg, [0.0, 0.0], atol=1e-12)
    assert neurons.label.tolist() == ["monosemantic", "dead"]


def test_asymmetric_superposition_motif_with_its_inhibitor():
    """The paper's motif: neuron 0 reads [2, −½] and writes [½, 2]; neuron 1 reads +x_0 and writes −x to
    feature 1, cancelling the interference."""
    W1 = np.array([[2.0, -0.5], [1.0, 0.0]])
    W2 = np.array([[0.5, 0.0], [2.0, -2.0]])  # W2[i, j]: neuron j -> feature i
    neurons, features = abs_census(W1, W2)
    assert neurons.label.tolist() == ["asymmetric", "monosemantic"]
    assert neurons.loc[0, ["motif_strong", "motif_weak", "inhibitor"]].tolist() == [0, 1, 1]
    assert neurons.loc[1, ["motif_strong", "motif_weak", "inhibitor"]].tolist() == [-1, -1, -1]
    np.testing.assert_allclose(features.gain_neg, [0.0, 1.0], atol=1e-12)  # x_1 < 0: |−½| · 2 via neuron 0
    np.testing.assert_allclose(features.gain_pos, [1.0, 0.0], atol=1e-12)  # x_0 > 0: 2 · ½ (+ 1 · 0)
    assert features.computed.tolist() == [False, False]  # the motif computes one sign of each feature


def test_symmetric_or_same_sign_neurons_are_not_the_motif():
    W2 = np.array([[0.5, 0.0], [2.0, 0.0]])
    same_sign = abs_census(np.array([[2.0, 0.5], [0.0, 0.0]]), W2)[0]
    balanced = abs_census(np.array([[2.0, -1.5], [0.0, 0.0]]), W2)[0]  # |b|/|a| = 0.75 > asym
    wrong_out = abs_census(np.array([[2.0, -0.5], [0.0, 0.0]]), np.array([[2.0, 0.0], [0.5, 0.0]]))[0]
    tiny = abs_census(np.array([[2.0, -0.1], [0.0, 0.0]]), W2)[0]  # |b|/|a| = 0.05 < min_ratio
    for frame in (same_sign, balanced, wrong_out, tiny):
        assert frame.label[0] != "asymmetric" and frame.motif_strong[0] == -1
    assert balanced.label[0] == "polysemantic" and same_sign.label[0] == "monosemantic"


def test_census_by_kind_reads_each_kinds_parameters_and_names_a_kind_it_does_not_know():
    W1 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # (+x, -x) pairs on both features
    W2 = W1.T.copy() * np.array([1.0, -1.0, 1.0, -1.0])  # (n, m): every neuron writes back +1
    neurons, features = neuron_census({"W1": W1, "W2": W2, "b": np.zeros(2)}, "abs")
    assert features.pair.tolist() == [True, True] and (neurons.label == "monosemantic").all()
    W = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0]])
    for kind in ("relu_hidden", "relu_hidden_bias"):
        neurons, features = neuron_census({"W": W, "b": np.zeros(3)}, kind)
        assert neurons.label.tolist() == ["monosemantic", "polysemantic"]
        assert features.n_neurons.tolist() == [2, 1, 0]
    with pytest.raises(UnknownCensusKind, match=r"kind: the neuron census reads \('relu_hidden', .*'abs'\).* "
                                                r"got 'relu'"):
        neuron_census({"W": W, "b": np.zeros(3)}, "relu")
    with pytest.raises(TmsError, match=r"params: the census of this kind reads 'W1'"):
        neuron_census({"W": W}, "abs")
