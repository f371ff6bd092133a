"""The hierarchical source: frequencies against the set probabilities (two-sided), children mutually exclusive
and never without their parent, H = X directions, settings round trip, named errors before compiling."""

import json

import jax
import numpy as np
import pytest

from tms.engine.sae import (
    SaeConfig,
    SaeError,
    hierarchical_source,
    parent_index,
    sae_hparams,
    source_parents,
    synthetic_source,
    train_saes,
)
from tms.errors import TmsError

N = 200_000


def _tol(p, n):
    """Two-sided: 5 standard errors of a proportion, with an absolute floor."""
    return 5.0 * np.sqrt(p * (1 - p) / n) + 2e-3


def _on(src, n=N, seed=0):
    H, X = jax.jit(src.sample, static_argnums=1)(jax.random.PRNGKey(seed), n)
    return np.asarray(H, np.float64), np.asarray(X, np.float64)


def test_frequencies_match_the_set_probabilities():
    p_par, p_ch = [0.1, 0.3, 0.6, 0.9], [0.15, 0.25, 0.4]
    src = hierarchical_source(4, 3, d_in=24, p_parent=p_par, p_child=p_ch, seed=1)
    _, X = _on(src)
    on = X > 0
    par = parent_index(4, 3)
    for i, p in enumerate(p_par):
        np.testing.assert_allclose(on[:, i].mean(), p, atol=_tol(p, N), rtol=0)
        given = on[on[:, i]]  # examples with parent i active
        kids = given[:, par == i]
        for j, q in enumerate(p_ch):
            np.testing.assert_allclose(kids[:, j].mean(), q, atol=_tol(q, len(given)), rtol=0)
        none = 1 - sum(p_ch)
        np.testing.assert_allclose((~kids.any(axis=1)).mean(), none, atol=_tol(none, len(given)), rtol=0)


def test_children_exclusive_and_never_without_their_parent():
    src = hierarchical_source(3, 4, d_in=16, p_parent=0.5, p_child=0.25, seed=2)  # Σ p_child = 1
    _, X = _on(src, 50_000)
    on = X > 0
    par = parent_index(3, 4)
    for i in range(3):
        kids = on[:, par == i]
        assert kids.sum(axis=1).max() == 1
        assert not np.any(kids.any(axis=1) & ~on[:, i])
        np.testing.assert_array_equal(kids.sum(axis=1), on[:, i].astype(int))  # Σ = 1: exactly one child
    on0 = _on(hierarchical_source(2, 2, 8, p_parent=[0.0, 1.0], p_child=[0.0, 0.5]), 5000, seed=3)[1] > 0
    assert not on0[:, [0, 2, 3, 4]].any() and on0[:, 1].all()  # parent 0 never, nor its children; child 0 never
    assert 0.45 < on0[:, 5].mean() < 0.55


def test_activations_are_x_times_the_directions():
    for orthogonal, d_in in ((True, 16), (False, 6)):  # 12 features: orthonormal in 16 dims, Gaussian in 6
        src = hierarchical_source(3, 3, d_in=d_in, orthogonal=orthogonal, seed=4)
        H, X = _on(src, 4000)
        F = src.directions.astype(np.float64)
        np.testing.assert_allclose(H, X @ F, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(F, axis=1), 1.0, rtol=1e-6)
        if orthogonal:
            np.testing.assert_allclose(F @ F.T, np.eye(12), atol=1e-6)
        else:
            assert np.abs(F @ F.T - np.eye(12)).max() > 0.1  # 12 directions in 6 dimensions cannot be orthogonal
    H, X = _on(hierarchical_source(2, 2, 8, magnitudes="unit"), 2000)
    assert set(np.unique(X)) == {0.0, 1.0}
    Xu = _on(hierarchical_source(2, 2, 8), 20000)[1]
    act = Xu[Xu > 0]
    np.testing.assert_allclose([act.mean(), act.var()], [0.5, 1 / 12], atol=5 * np.sqrt(1 / 12 / act.size) + 1e-3)


def test_settings_round_trip_and_determinism():
    src = hierarchical_source(2, 3, d_in=10, p_parent=[0.2, 0.7], p_child=[0.1, 0.2, 0.3], seed=5)
    s = json.loads(json.dumps(src.settings, allow_nan=False))
    assert s == src.settings and s["p_parent"] == [0.2, 0.7]
    again = hierarchical_source(**s)
    np.testing.assert_array_equal(again.directions, src.directions)
    a, b = _on(src, 500, seed=7), _on(again, 500, seed=7)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(_on(src, 500, seed=8)[1], a[1])
    assert not np.allclose(hierarchical_source(**{**s, "seed": 6}).directions, src.directions)
    np.testing.assert_array_equal(source_parents(src), [-1, -1, 0, 0, 0, 1, 1, 1])
    assert src.name == "hierarchical" and src.n_true == 8 and src.d_in == 10


def test_trains_like_any_source():
    src = hierarchical_source(2, 2, d_in=8)
    cfg = SaeConfig("relu", 8, 6, batch=16, steps=5)
    out = train_saes(cfg, src, sae_hparams(cfg, penalty=[0.01]), [0])
    assert out.params["W_dec"].shape == (1, 6, 8) and np.isfinite(np.asarray(out.metrics["loss"])).all()


@pytest.fixture
def no_compile(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("compiled before the input was checked")
    monkeypatch.setattr(jax, "jit", boom)


@pytest.mark.parametrize("kwargs, field", [
    ({"p_parent": 1.5}, r"source.p_parent\[0\] must be a number in \[0.0, 1.0\]"),
    ({"p_parent": [0.2, -0.1, 0.2, 0.2]}, r"source.p_parent\[1\]"),
    ({"p_parent": [0.2, 0.2]}, "source.p_parent must be .* a list of 4"),
    ({"p_child": float("nan")}, r"source.p_child\[0\]"),
    ({"p_child": [0.5, 0.4, 0.2]}, "source.p_child: .* sum to at most 1"),
    ({"n_parents": 0}, "source.n_parents must be an integer >= 1"),
    ({"n_children": -2}, "source.n_children must be an integer >= 1"),
    ({"n_parents": 2.0}, "source.n_parents"),
    ({"d_in": 0}, "source.d_in"),
    ({"d_in": 15}, "source.orthogonal needs n_true .* = 16 <= source.d_in = 15"),
    ({"magnitudes": "gaussian"}, "source.magnitudes must be one of"),
    ({"orthogonal": 1}, "source.orthogonal must be true or false"),
    ({"seed": -1}, "source.seed"),
])
def test_bad_input_named_error_before_compiling(no_compile, kwargs, field):
    with pytest.raises(SaeError, match=field) as info:
        hierarchical_source(**kwargs)
    assert isinstance(info.value, TmsError)


def test_parents_of_a_flat_source_refused():
    with pytest.raises(SaeError, match="hierarchical"):
        source_parents(synthetic_source(8, 4, mean_active=1.0))
