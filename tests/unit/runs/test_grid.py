"""Grids: one compiled function for every cell, cells equal to cells trained alone, checked values, and the
sharded backend equal to one device."""


import jax
import numpy as np
import pytest
from sweep_helpers import TINY, write
from sweep_helpers import cli as _cli

from tms.engine.config import StaticConfig, hparams
from tms.engine.train import make_train
from tms.runs.grid import Grid, make_grid_fn, seed_keys
from tms.runs.pipeline import train_grid
from tms.runs.spec import load_spec
from tms.runs.store import load, run_sweep

SMALL = dict(n_features=5, n_hidden=2, batch_size=256, steps=300, restarts=2, eval_batch=2048)


def test_grid_cell_equals_cell_trained_alone():
    static = StaticConfig(**SMALL)
    imp = np.stack([0.9 ** np.arange(5), np.ones(5)])
    res = train_grid(static, sparsity=[0.0, 0.5, 0.9], importance=imp, lr=[1e-3, 3e-3], seeds=[0, 7],
                     progress=False, chunk_size=5)
    train = jax.jit(make_train(static))
    for (s, i, l, k) in [(0, 0, 0, 0), (2, 1, 1, 1), (1, 0, 1, 1)]:
        hp = hparams(static, sparsity=res.grid.sparsity[s], importance=imp[i], lr=res.grid.lr[l])
        out = train(hp, jax.random.PRNGKey(int(res.grid.seeds[k])))
        np.testing.assert_allclose(out.params.W, res.W[s, i, l, k], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(out.params.b, res.b[s, i, l, k], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(out.final_loss, res.final_loss[s, i, l, k], rtol=1e-4, atol=1e-7)
    # different seeds see different data (and initialisations)
    assert not np.allclose(res.W[2, 0, 0, 0], res.W[2, 0, 0, 1])


def test_no_recompilation_for_new_values():
    static = StaticConfig(**SMALL)
    fn = make_grid_fn(static)
    g1 = Grid.make(5, sparsity=[0.1, 0.5], importance=np.ones(5))
    g2 = Grid.make(5, sparsity=[0.3, 0.95], importance=0.7 ** np.arange(5), lr=2e-3)
    keys = seed_keys([0])
    a = fn(g1.cell_hparams(5, np.arange(2)), keys)
    b = fn(g2.cell_hparams(5, np.arange(2)), keys)
    assert fn._cache_size() == 1
    assert not np.allclose(a.params.W, b.params.W)


def test_bad_grid_values_fail_before_compiling():
    with pytest.raises(ValueError, match="sparsity"):
        train_grid(n_features=3, sparsity=[-0.1])
    with pytest.raises(ValueError, match="importance"):
        train_grid(n_features=3, importance=[1, -1, 1])
    with pytest.raises(ValueError, match="n_features=3"):
        train_grid(n_features=3, importance=[1, 1])
    with pytest.raises(ValueError, match="lr"):
        train_grid(n_features=3, lr=[0])
    with pytest.raises(ValueError, match="seeds"):
        train_grid(n_features=3, seeds=[1, 1])


# ------------------------------------------------------------------------------------ backends


@pytest.mark.slow  # 17 s in a subprocess with two host devices (CI's 10-minute budget)
def test_sharded_backend_equals_single_device(tmp_path):
    spec_path = write(tmp_path, TINY.replace("chunk_size = 3", "chunk_size = 4"))
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    p = _cli("sweep", "run", str(spec_path), "--out", str(tmp_path / "two"), "--devices", "2", env=env)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    one = run_sweep(load_spec(spec_path), tmp_path / "one", progress=False)
    two = load(tmp_path / "two")
    for k, v in one.arrays.items():
        np.testing.assert_allclose(two.arrays[k], v, rtol=1e-5, atol=1e-6)

