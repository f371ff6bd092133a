"""The hierarchical source: frequencies against the set probabilities (two-sided), children mutually exclusive
and never without their parent, H = X directions, settings round trip, named errors before compiling.

Every sample here has one shape (4 parents × 3 children in 24 dimensions, ``N`` examples), so the sources share
one compiled sampler (their settings are arguments of it) and each is drawn once per module: the cost of these
tests is one compilation. (Training on the source: ``tests/unit/experiments/test_sae_experiment.py`` and the
hierarchical sweep in ``tests/unit/runs/kinds/test_sae_kind.py``.)"""

import json

import jax
import numpy as np
import pytest

from tms.engine.sae import SaeError, hierarchical_source, parent_index, source_parents, synthetic_source
from tms.engine.sae.hierarchy import hierarchy_directions
from tms.errors import TmsError

N = 200_000
P_PARENT, P_CHILD = [0.0, 0.2, 0.6, 1.0], [0.0, 0.3, 0.45]  # never / sometimes / always; a child never on
SOURCES = {  # name: settings, all of shape (4, 3, 24)
    "mixed": {"p_parent": P_PARENT, "p_child": P_CHILD, "seed": 1},
    "full": {"p_parent": 0.5, "p_child": [0.2, 0.3, 0.5], "orthogonal": False, "seed": 2},  # Σ p_child = 1
    "unit": {"p_parent": P_PARENT, "p_child": P_CHILD, "seed": 1, "magnitudes": "unit"},
}
PAR = parent_index(4, 3)


def _tol(p, n):
    """Two-sided: 5 standard errors of a proportion, with an absolute floor."""
    return 5.0 * np.sqrt(p * (1 - p) / n) + 2e-3


def _draw(src, seed=0):
    H, X = src.sample(jax.random.PRNGKey(seed), N)
    return np.asarray(H, np.float64), np.asarray(X, np.float64)


@pytest.fixture(scope="module")
def drawn():
    """``{name: (source, H, X)}``, each source of :data:`SOURCES` drawn once with key 0."""
    out = {}
    for name, settings in SOURCES.items():
        src = hierarchical_source(4, 3, d_in=24, **settings)
        out[name] = (src, *_draw(src))
    return out


def test_frequencies_match_the_set_probabilities(drawn):
    on = drawn["mixed"][2] > 0
    for i, p in enumerate(P_PARENT):
        np.testing.assert_allclose(on[:, i].mean(), p, atol=_tol(p, N), rtol=0)
        kids = on[on[:, i]][:, PAR == i]  # parent i's children, on the examples where it is active
        for j, q in enumerate(P_CHILD if len(kids) else []):
            np.testing.assert_allclose(kids[:, j].mean(), q, atol=_tol(q, len(kids)), rtol=0)
        none = 1 - sum(P_CHILD)
        if len(kids):
            np.testing.assert_allclose((~kids.any(axis=1)).mean(), none, atol=_tol(none, len(kids)), rtol=0)
    assert not on[:, 0].any() and on[:, 3].all()  # p = 0: never, p = 1: always
    assert not on[:, PAR == 0].any() and not on[:, 4::3].any()  # parent 0's children never; child 0 of each never


def test_children_exclusive_and_never_without_their_parent(drawn):
    for name in ("mixed", "full"):
        on = drawn[name][2] > 0
        for i in range(4):
            kids = on[:, PAR == i]
            assert kids.sum(axis=1).max() <= 1, name
            assert not np.any(kids.any(axis=1) & ~on[:, i]), name
    on = drawn["full"][2] > 0  # Σ p_child = 1: exactly one child whenever the parent is on
    for i in range(4):
        np.testing.assert_array_equal(on[:, PAR == i].sum(axis=1), on[:, i].astype(int))
    np.testing.assert_allclose(on[:, :4].mean(), 0.5, atol=_tol(0.5, 4 * N), rtol=0)


def test_activations_are_x_times_the_directions(drawn):
    for name in SOURCES:
        src, H, X = drawn[name]
        F = src.directions.astype(np.float64)
        np.testing.assert_allclose(H, X @ F, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(F, axis=1), 1.0, rtol=1e-6)
        gap = np.abs(F @ F.T - np.eye(16)).max()
        assert gap < 1e-6 if src.settings["orthogonal"] else gap > 0.1, (name, gap)
    F = hierarchy_directions(np.random.default_rng(0), 12, 6, orthogonal=False)  # more features than dimensions
    assert F.shape == (12, 6) and np.allclose(np.linalg.norm(F, axis=1), 1.0, rtol=1e-6)
    assert np.abs(F @ F.T - np.eye(12)).max() > 0.1


def test_magnitudes(drawn):
    X_unit, X_mixed = drawn["unit"][2], drawn["mixed"][2]
    assert set(np.unique(X_unit)) == {0.0, 1.0}
    np.testing.assert_array_equal(X_unit > 0, X_mixed > 0)  # same key, same settings: the same active features
    act = drawn["full"][2][drawn["full"][2] > 0]  # U[0, 1]: mean 1/2, variance 1/12 (two-sided)
    np.testing.assert_allclose([act.mean(), act.var()], [0.5, 1 / 12], atol=5 * np.sqrt(1 / 12 / act.size) + 1e-3)
    assert act.min() > 0 and act.max() < 1


def test_settings_round_trip_and_determinism(drawn):
    src, _, X = drawn["mixed"]
    s = json.loads(json.dumps(src.settings, allow_nan=False))
    assert s == src.settings and s["p_parent"] == P_PARENT and s["magnitudes"] == "uniform"
    again = hierarchical_source(**s)
    np.testing.assert_array_equal(again.directions, src.directions)
    np.testing.assert_array_equal(_draw(again)[1], X)
    assert not np.array_equal(_draw(again, seed=8)[1], X)
    assert not np.allclose(hierarchical_source(**{**s, "seed": 6}).directions, src.directions)
    np.testing.assert_array_equal(source_parents(hierarchical_source(2, 3, 10)), [-1, -1, 0, 0, 0, 1, 1, 1])
    assert src.name == "hierarchical" and src.n_true == 16 and src.d_in == 24


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
