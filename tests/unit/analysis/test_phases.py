"""Phases of one feature: hand-picked n=2, m=1 weights and the theory's configurations under rotation."""

import numpy as np
import pytest
from polytope_helpers import random_rotation

from tms import analysis as geo


def test_phase_codes_n2m1():
    W = np.array([[[1.0, -1.0]], [[0.0, 1.0]], [[1.0, 0.0]], [[0.2, 1.0]], [[1.0, 0.3]], [[0.51, -0.8]]])
    p = geo.phase(W)
    assert p.code.tolist() == [2, 1, 0, 1, 0, 2]
    np.testing.assert_allclose(p.norm, [1, 1, 0, 1, 0.3, 0.8], rtol=1e-12, atol=1e-12)
    # in one dimension Ŵ_x = ±1, so the superposition is W_1²
    np.testing.assert_allclose(p.superposition, [1, 0, 0, 0.04, 1.0, 0.51 ** 2], rtol=1e-12, atol=1e-12)
    frame = geo.phase_frame(W, axes=["cell"])
    assert frame["phase_name"].tolist() == ["superposition", "dedicated", "not_represented", "dedicated",
                                            "not_represented", "superposition"]
    assert geo.phase(W, feature=0).code.tolist() == [2, 0, 1, 0, 1, 2]


def test_phases_agree_with_theory_configurations():
    from tms.analysis import theory
    assert geo.PHASES == theory.PHASES
    for config in theory.N3M2_CONFIGS:
        W, _ = theory.n3m2_params(config, 0.3, 1.0, antipodal="zero_bias")
        Q = random_rotation(2, np.random.default_rng(5))
        assert int(geo.phase(Q @ W).code) == theory.N3M2_PHASE_OF[config], config


def test_empty_grid_gives_empty_phase_frame():
    W = np.zeros((0, 2, 3))
    assert list(geo.phase_frame(W).columns) == ["axis0", "norm", "superposition", "phase", "phase_name"]


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="feature must be"):
        geo.phase(np.eye(2), feature=2)
