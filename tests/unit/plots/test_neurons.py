"""The neuron figures on hand-built weights, and the privileged experiment's table."""

import numpy as np

from tms.experiments.neurons import privileged_table
from tms.plots.neurons import abs_units_figure, asymmetric_figure, monosemantic_figure, neuron_bars_figure


def test_privileged_table_counts_hand_built_models():
    mono = np.eye(2, 3)  # two neurons on features 0 and 1; feature 2 unused
    poly = np.array([[0.7, 0.7, 0.0], [0.0, 0.0, 0.0]])  # one polysemantic neuron, one dead
    table = privileged_table(np.stack([mono, poly]), np.stack([mono, mono]), (1.0, 0.1))
    assert table.monosemantic_fraction.tolist() == [1.0, 0.0]
    assert table.features_represented.tolist() == [2, 2]  # column norms 1, 1, 0 and 0.7, 0.7, 0
    assert table.relu_output_represented.tolist() == [2, 2]
    np.testing.assert_allclose(table.features_per_neuron, [1.0, 2.0])
    assert table.top5_monosemantic.tolist() == [2, 0]


def test_neuron_figures_draw():
    rng = np.random.default_rng(0)
    Ws = rng.normal(size=(3, 5, 10))
    fig = neuron_bars_figure(Ws, (1.0, 0.1, 0.01))
    assert len(fig.axes) == 4  # three panels and the colour bar
    table = privileged_table(Ws, Ws, (1.0, 0.1, 0.01))
    assert len(monosemantic_figure(table).axes) == 2
    assert len(abs_units_figure(rng.normal(size=(2, 4, 6)), (1.0, 0.1), 0.8 ** np.arange(6)).axes) == 3
    W1, W2 = np.array([[2.0, -0.5], [1.0, 0.0]]), np.array([[0.5, 0.0], [2.0, -2.0]])
    assert len(asymmetric_figure(W1, W2, 0, 0, 1, 1).axes[0].patches) == 8
