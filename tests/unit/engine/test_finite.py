"""Finite data sets: dense and sparse layouts, the masked loss against float64 NumPy, gradients, bad input."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine import finite, ticks
from tms.engine.finite import FiniteConfig, SparseSet
from tms.engine.finite_train import (
    buckets,
    finite_train_in_parts,
    make_finite_step_loss,
    make_finite_train,
    parts,
    set_losses,
)
from tms.engine.models import Params

KEY = jax.random.PRNGKey(3)


def small(**kw):
    base = {"n_features": 40, "n_hidden": 3, "train_sizes": (3, 10, 20, 70), "sparsity": 0.9, "steps": 20,
            "warmup_steps": 2, "batch_size": 16, "restarts": 2, "test_size": 50, "data_path": "dense"}
    return FiniteConfig(**{**base, **kw})


def params_for(cfg, key=KEY):
    inst = len(cfg.train_sizes) * cfg.restarts
    kw, kb = jax.random.split(key)
    return Params(W=0.3 * jax.random.normal(kw, (cfg.n_hidden, cfg.n_features, inst)),
                  b=0.1 * jax.random.normal(kb, (cfg.n_features, inst)))


def test_sparse_layout_equals_dense_examples_exactly():
    n, count = 60, 700  # three blocks, the last one cut
    X = finite.dense_examples(KEY, count, n, 0.95, True)
    s = finite.sparse_examples(KEY, count, n, 0.95, True, finite.active_bound(n, 0.05, count))
    assert int(s.dropped) == 0
    np.testing.assert_array_equal(np.asarray(finite.densify(s, n)), np.asarray(X))
    # nested: the first T examples of a larger set are the set of size T
    np.testing.assert_array_equal(np.asarray(finite.dense_examples(KEY, 300, n, 0.95, True)), np.asarray(X[:300]))


def test_too_few_sparse_slots_are_counted_as_dropped():
    n, count = 30, 256
    X = np.asarray(finite.dense_examples(KEY, count, n, 0.5, False))
    s = finite.sparse_examples(KEY, count, n, 0.5, False, 3)
    assert int(s.dropped) == int(np.maximum((X != 0).sum(axis=1) - 3, 0).sum()) > 0


def test_unit_norm_keeps_an_all_zero_example_zero():
    x = jnp.asarray([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]])
    y = np.asarray(finite.normalise(x))
    np.testing.assert_array_equal(y[0], 0.0)
    np.testing.assert_allclose(y[1], [0.6, 0.0, 0.8], rtol=1e-6)
    X = np.asarray(finite.dense_examples(KEY, 2000, 5, 0.9, True))  # about 59% of these examples are all zero
    norms = np.linalg.norm(X, axis=1)
    assert np.all(np.isfinite(X)) and (norms == 0).sum() > 500
    np.testing.assert_allclose(norms[norms > 0], 1.0, rtol=1e-6)


def numpy_loss(W, b, X, T, imp):
    """(1/T) Σ_{t<T} Σ_i I_i (x_ti − ReLU(WᵀW x_t + b)_i)², float64."""
    W, b, X = (np.asarray(a, np.float64) for a in (W, b, X[:T]))
    r = np.maximum(X @ W.T @ W + b, 0.0)
    return float(np.sum(imp * (X - r) ** 2) / T)


def test_step_loss_is_the_papers_loss_on_each_models_own_set():
    cfg = small(batch_size=100, restarts=1)  # every T <= batch: full batch, padded and masked
    data = finite.examples(cfg, KEY, 128)
    p = params_for(cfg)
    imp = jnp.linspace(0.5, 1.5, cfg.n_features)
    total, per = jax.jit(make_finite_step_loss(cfg))(p, data, KEY, imp)
    want = [numpy_loss(p.W[..., j], p.b[:, j], np.asarray(data), T, np.asarray(imp))
            for j, T in enumerate(cfg.train_sizes)]
    np.testing.assert_allclose(np.asarray(per), want, rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(float(total), sum(want), rtol=2e-5)
    # the evaluation over a whole set agrees with the step's full-batch loss
    ev, H = jax.jit(lambda p, d: set_losses(cfg, p, d, jnp.asarray(cfg.train_sizes), imp, True))(p, data)
    np.testing.assert_allclose(np.asarray(ev), want, rtol=2e-5, atol=1e-7)
    for j, T in enumerate(cfg.train_sizes):
        np.testing.assert_allclose(np.asarray(H[j, :T]), np.asarray(data[:T]) @ np.asarray(p.W[..., j]).T,
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(np.asarray(H[j, T:]), 0.0)


@pytest.mark.parametrize("batch", [100, 16])
def test_sparse_and_dense_paths_give_the_same_loss_and_gradients(batch):
    dense = small(batch_size=batch)
    sparse = dataclasses.replace(dense, data_path="sparse")
    X = finite.examples(dense, KEY, 128)
    S = finite.examples(sparse, KEY, 128)
    assert isinstance(S, SparseSet) and int(S.dropped) == 0
    p = params_for(dense)
    imp = jnp.linspace(0.5, 1.5, dense.n_features)
    (_, pd), gd = jax.jit(jax.value_and_grad(make_finite_step_loss(dense), has_aux=True))(p, X, KEY, imp)
    (_, ps), gs = jax.jit(jax.value_and_grad(make_finite_step_loss(sparse), has_aux=True))(p, S, KEY, imp)
    np.testing.assert_allclose(np.asarray(ps), np.asarray(pd), rtol=1e-5, atol=1e-7)
    for a, b in zip(gs, gd):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
    assert float(jnp.max(jnp.abs(gd.W))) > 1e-3  # a real gradient, not two zeros


def test_minibatch_rows_come_from_each_models_own_set():
    cfg = small(train_sizes=(40, 70), batch_size=16, restarts=1)
    X = finite.examples(cfg, KEY, 128)
    # a model that reconstructs nothing has loss Σ_t w_t ‖x_t‖²: rows past T would change it
    marked = X.at[70:].set(100.0)
    p = Params(W=jnp.zeros((cfg.n_hidden, cfg.n_features, 2)), b=jnp.full((cfg.n_features, 2), -1.0))
    _, per = jax.jit(make_finite_step_loss(cfg))(p, marked, KEY, jnp.ones(cfg.n_features))
    assert float(jnp.max(per)) < 5.0


def test_buckets_pad_small_sets_to_small_widths():
    assert buckets((3, 10, 20, 70, 300), 256) == [(0, 2, 16), (2, 3, 64), (3, 4, 256)]
    assert buckets((3, 10), 8) == [(0, 1, 8)]
    # above EXACT_WIDTH every set reads exactly its T slots, one group each (no 2x padding of T = 1,600)
    assert buckets((200, 400, 800, 1600, 3200), 3200) == [(0, 1, 256), (1, 2, 400), (2, 3, 800), (3, 4, 1600),
                                                          (4, 5, 3200)]


def test_training_reduces_the_training_loss_and_restarts_share_the_data():
    cfg = small(steps=60, warmup_steps=5, restarts=2)
    out = jax.jit(make_finite_train(cfg))(KEY, 1e-2, 1e-2, jnp.ones(cfg.n_features))
    assert np.all(np.isfinite(np.asarray(out.restart_train_losses)))
    data = finite.examples(cfg, finite.data_keys(KEY)[0], 128)
    for j, T in enumerate(cfg.train_sizes):  # the kept model's loss, recomputed on the regenerated set
        want = numpy_loss(out.params.W[j], out.params.b[j], np.asarray(data), T, 1.0)
        np.testing.assert_allclose(float(out.train_loss[j]), want, rtol=1e-4)
    zero = np.mean(np.sum(np.asarray(data[: cfg.t_max]) ** 2, axis=1))
    assert float(out.train_loss[0]) < 0.5 * zero


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match="train_sizes"):
        small(train_sizes=(0, 5))
    with pytest.raises(ValueError, match="train_sizes"):
        small(train_sizes=(10, 5))
    with pytest.raises(ValueError, match="data_path"):
        small(data_path="csr")
    with pytest.raises(ValueError, match="sparsity"):
        small(sparsity=1.0)
    cfg = small(n_features=10_000, sparsity=0.999, train_sizes=(3, 100_000), test_size=100_000, data_path="dense")
    with pytest.raises(finite.DataTooLargeError, match="GiB"):
        cfg.check_memory(2**30)
    sparse = dataclasses.replace(cfg, data_path="sparse", batch_size=256, restarts=1)
    sparse.check_memory(2**30)  # the sparse layout of the same set fits


def test_active_bound_is_a_binomial_tail():
    k = finite.active_bound(1000, 0.01, 10_000)
    assert 30 <= k <= 45  # mean 10, sd 3.1: the bound sits about 9 sd above the mean
    assert finite.active_bound(5, 0.0, 10) == 1


def test_a_full_batch_model_trains_the_same_whatever_larger_sets_share_its_call():
    """The reduced ``finite_data`` sweep (T up to 1,600) trains those cells of ``finite_data_full`` (T up to 3,200):
    every model reads only its own slots, starts from the same W and is updated by its own gradient.

    Equal to float32 rounding, not always bit for bit: on the 2-core AVX2 machine the weights were bit-identical;
    on an AVX-512 one (2026-12-06) one weight of 360 (the T = 300 model's) differed by 1 ulp (1.5e-8) after these
    30 steps, XLA's code for 4 models against 3 rounding one update differently (docs/finite_data.md)."""
    full = small(train_sizes=(3, 20, 300, 600), batch_size=0, restarts=1, steps=30)
    part = dataclasses.replace(full, train_sizes=(3, 20, 300))
    a = jax.jit(make_finite_train(full))(KEY, 1e-2, 1e-2, jnp.ones(full.n_features))
    b = jax.jit(make_finite_train(part))(KEY, 1e-2, 1e-2, jnp.ones(full.n_features))
    for name in ("W", "b"):  # a few ulps of float32 over 30 steps; a model mixed with another would be off by far more
        np.testing.assert_allclose(np.asarray(getattr(a.params, name))[:3], np.asarray(getattr(b.params, name)),
                                   rtol=1e-6, atol=1e-8)
    # the evaluation batches 4 models against 3, so its float32 sums may round differently (the weights do not)
    np.testing.assert_allclose(np.asarray(a.train_loss)[:3], np.asarray(b.train_loss), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.asarray(a.test_loss)[:3], np.asarray(b.test_loss), rtol=1e-6, atol=1e-9)
    assert float(jnp.max(jnp.abs(a.params.W[3] - a.params.W[2]))) > 0  # the T = 600 model did train differently


def test_parts_are_the_width_groups_then_the_sizes_above_the_batch():
    assert parts(small()) == [(0, 2, 16), (2, 4, 0)]  # T = 3, 10 read 16 slots; T = 20, 70 gather 16 rows
    assert parts(small(batch_size=0, train_sizes=(3, 20, 300, 600))) == [(0, 1, 16), (1, 2, 64), (2, 3, 300),
                                                                          (3, 4, 600)]
    assert parts(small(batch_size=8, train_sizes=(20, 70))) == [(0, 2, 0)]


@pytest.mark.parametrize("kw", [{}, {"batch_size": 0, "train_sizes": (3, 20, 300, 600)}, {"data_path": "sparse"}],
                         ids=["minibatch", "full-batch", "sparse"])
def test_training_in_parts_is_the_one_loop_to_float32_rounding(kw):
    """One compiled loop per part trains what the one loop trains: each part's gradients are the same (its
    models share nothing with the others but the data), and XLA's code for the update, fused with fewer
    models, rounds a last bit differently now and then (1–4 ulps of the weights after 30 steps, measured)."""
    cfg = small(steps=30, **kw)
    args = (KEY, 1e-2, 1e-2, jnp.ones(cfg.n_features))
    one = jax.jit(make_finite_train(cfg))(*args)
    split = finite_train_in_parts(cfg)(*args)
    for name in ("W", "b"):
        np.testing.assert_allclose(getattr(split.params, name), getattr(one.params, name), rtol=1e-6, atol=1e-7,
                                   err_msg=name)
    np.testing.assert_array_equal(split.best_restart, one.best_restart)
    for name in ("train_loss", "test_loss", "hidden"):
        np.testing.assert_allclose(getattr(split, name), getattr(one, name), rtol=1e-6, atol=1e-7, err_msg=name)
    assert float(jnp.max(jnp.abs(split.params.W[1] - split.params.W[0]))) > 1e-3  # the sizes trained differently


def test_every_part_ticks_its_steps():
    cfg = small(steps=ticks.EVERY + 10)
    heard = []
    with ticks.listening(heard.append):
        jax.block_until_ready(finite_train_in_parts(cfg)(KEY, 1e-2, 1e-2, jnp.ones(cfg.n_features)))
    assert sorted(heard) == [10, 10, ticks.EVERY, ticks.EVERY]  # two parts, each its 260 steps


def test_in_parts_a_model_trains_bit_for_bit_alike_whatever_larger_sets_share_its_run():
    """In parts, the reduced ``finite_data`` sweep's cells are ``finite_data_full``'s bit for bit (the same
    compiled loops on the same data), not only to float32 rounding as in one loop (the test above this one)."""
    full = small(train_sizes=(3, 20, 300, 600), batch_size=0, restarts=1, steps=30)
    part = dataclasses.replace(full, train_sizes=(3, 20, 300))
    a = finite_train_in_parts(full)(KEY, 1e-2, 1e-2, jnp.ones(full.n_features))
    b = finite_train_in_parts(part)(KEY, 1e-2, 1e-2, jnp.ones(full.n_features))
    for name in ("W", "b"):
        np.testing.assert_array_equal(np.asarray(getattr(a.params, name))[:3], getattr(b.params, name), err_msg=name)
