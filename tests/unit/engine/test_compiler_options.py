"""Per-size XLA options of the training programs: which sizes get them, that they take effect, that a rejected
option falls back to none, and that they change float rounding only."""

import jax
import numpy as np
import pytest

from tms.engine import models, train
from tms.engine.config import StaticConfig
from tms.runs.grid import Grid, make_grid_fn, seed_keys

CPU = jax.default_backend() == "cpu"  # the options are XLA CPU settings: none elsewhere
# An older jaxlib (the lowest supported) has no such setting: then every program compiles without options.
ACCEPTED = CPU and train._accepted(tuple(sorted(models.UNROLLED_OPTIONS.items())))


@pytest.mark.parametrize("kind,n,m,unrolled", [("relu", 5, 2, True), ("linear", 3, 2, True), ("relu", 8, 8, True),
                                               ("relu", 13, 5, False), ("relu", 400, 30, False),
                                               ("relu_hidden", 5, 2, False), ("abs", 3, 6, False)])
def test_only_the_tied_kinds_unrolled_sizes_get_options(kind, n, m, unrolled):
    options = train.compiler_options(StaticConfig(n_features=n, n_hidden=m, kind=kind))
    assert options == (models.UNROLLED_OPTIONS if unrolled and ACCEPTED else None)
    assert (n * m <= models.UNROLL_LIMIT and kind in ("relu", "linear")) == unrolled


def test_no_options_without_fast_paths(monkeypatch):
    monkeypatch.setattr(train, "FAST_PATHS", False)
    assert train.compiler_options(StaticConfig(n_features=5, n_hidden=2)) is None


def test_an_option_this_jaxlib_rejects_gives_none(monkeypatch):
    monkeypatch.setattr(models, "UNROLLED_OPTIONS", {"xla_cpu_experimental_ynn_fusion_type": "NOT_A_FUSION_TYPE"})
    assert train.compiler_options(StaticConfig(n_features=5, n_hidden=2)) is None
    monkeypatch.undo()
    expected = models.UNROLLED_OPTIONS if ACCEPTED else None
    assert train.compiler_options(StaticConfig(n_features=5, n_hidden=2)) == expected


def test_the_unrolled_program_has_no_ynnpack_reductions_and_rounds_like_the_default():
    static = StaticConfig(n_features=5, n_hidden=2, batch_size=256, steps=200, restarts=2, eval_batch=2048)
    grid = Grid.make(5, sparsity=[0.0, 0.7, 0.95], importance=0.9 ** np.arange(5), lr=3e-3)
    hp, keys = grid.cell_hparams(5, np.arange(3)), seed_keys([0, 1])
    cells = train.make_train_cells(static)
    default = jax.jit(lambda hp, keys: jax.lax.map(lambda k: cells(hp, k), keys))  # the grid's program, no options
    ours = make_grid_fn(static)
    assert "ynn_fusion" not in ours.lower(hp, keys).compile().as_text()
    if ACCEPTED:  # an older jaxlib without the setting has no YNNPACK fusions either
        assert "ynn_fusion" in default.lower(hp, keys).compile().as_text()  # the option is what removed them
    a, b = ours(hp, keys), default(hp, keys)
    np.testing.assert_allclose(a.params.W, b.params.W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.params.b, b.params.b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.final_loss, b.final_loss, rtol=1e-4, atol=1e-7)
