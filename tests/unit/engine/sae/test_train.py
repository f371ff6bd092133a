"""Training many SAEs in one call: equal to one at a time; bad input rejected before compiling; resampling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine.sae import (
    SaeConfig,
    SaeError,
    pentagon,
    sae_hparams,
    synthetic_source,
    toy_model_source,
    train_sae_sizes,
    train_saes,
)
from tms.engine.sae.resample import resample
from tms.engine.sae.train import METRICS
from tms.errors import TmsError

SRC = toy_model_source(pentagon(), 0.8)


def test_many_in_one_call_equal_one_at_a_time():
    cfg = SaeConfig("relu", 2, 6, batch=32, steps=40)
    hp = sae_hparams(cfg, penalty=[0.0, 0.05, 0.2], lr=[1e-2])
    together = train_saes(cfg, SRC, hp, [0, 1, 2])
    for i in range(3):
        alone = train_saes(cfg, SRC, jax.tree.map(lambda a: a[i:i + 1], hp), [i])
        for name in ("W_enc", "W_dec", "b_enc", "b_dec"):
            np.testing.assert_allclose(together.params[name][i], alone.params[name][0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(together.metrics["mse"][i], alone.metrics["mse"][0], rtol=1e-4, atol=1e-7)
    assert set(together.metrics) == set(METRICS) and together.metrics["loss"].shape == (3, 40)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(together.params["W_dec"]), axis=-1), 1.0, rtol=1e-5)


def test_sizes_grouped_one_call_each():
    grids = train_sae_sizes(SaeConfig("topk", 2, 4, batch=16, steps=5), SRC, sizes=[3, 5], ks=[1, 2], seeds=[0, 1])
    assert [g.d_sae for g in grids] == [3, 5]
    assert grids[1].output.params["W_dec"].shape == (4, 5, 2) and grids[0].coords.shape == (4, 3)


@pytest.mark.parametrize("make, field", [
    (lambda: SaeConfig("relu", 2, 0), "d_sae"),
    (lambda: SaeConfig("nope", 2, 4), "sae.arch"),
    (lambda: sae_hparams(SaeConfig("topk", 2, 4), k=5), "sae.k"),
    (lambda: sae_hparams(SaeConfig("relu", 2, 4), penalty=-0.1), "sae.penalty"),
    (lambda: train_saes(SaeConfig("relu", 3, 4), SRC, sae_hparams(SaeConfig("relu", 3, 4)), [0]), "width"),
    (lambda: train_sae_sizes(SaeConfig("topk", 2, 8), SRC, sizes=[8, 2], ks=[4]), "sae.k"),
    (lambda: SaeConfig("relu", 2, 4, resample="sometimes"), "sae.resample"),
])
def test_bad_input_named_error_before_compiling(no_compile, make, field):
    with pytest.raises(SaeError, match=field) as info:
        make()
    assert isinstance(info.value, TmsError)


def test_resampling_revives_a_planted_dead_latent():
    cfg = SaeConfig("relu", 2, 5, resample="advanced", dead_window=10)
    rng = np.random.default_rng(0)
    W = np.asarray(pentagon(), np.float32).T  # decoder rows = the true directions
    p = {"W_enc": jnp.asarray(W.T), "b_enc": jnp.zeros(5).at[3].set(-100.0), "W_dec": jnp.asarray(W),
         "b_dec": jnp.zeros(2)}
    import optax
    opt = optax.adam(1e-3).init(p)
    H = jnp.asarray(rng.uniform(size=(64, 5)) @ W, jnp.float32)
    last = jnp.array([50, 50, 50, 20, 50])  # latent 3 last fired at step 20, the window is 10 at step 50
    hp = jax.tree.map(lambda a: a[0], sae_hparams(cfg, penalty=0.1))
    q, opt2, last2, n = resample(jax.random.PRNGKey(0), p, opt, last, jnp.asarray(50), H, hp, cfg)
    assert int(n) == 1 and int(last2[3]) == 50
    for name in ("W_enc", "W_dec", "b_enc"):  # the live latents are untouched
        keep = np.delete(np.asarray(q[name]), 3, axis=1 if name == "W_enc" else 0)
        np.testing.assert_array_equal(keep, np.delete(np.asarray(p[name]), 3, axis=1 if name == "W_enc" else 0))
    row = np.asarray(q["W_dec"][3])
    np.testing.assert_allclose(np.linalg.norm(row), 1.0, rtol=1e-5)
    live_norm = np.linalg.norm(W.T, axis=0)[[0, 1, 2, 4]].mean()
    np.testing.assert_allclose(np.asarray(q["W_enc"][:, 3]), 0.5 * live_norm * row, rtol=1e-5)
    assert float(q["b_enc"][3]) == 0.0
    cos = np.asarray(H) @ row / np.linalg.norm(np.asarray(H), axis=1)
    np.testing.assert_allclose(cos.max(), 1.0, rtol=1e-5)  # the new direction is one of the inputs
    assert np.any(np.asarray(H) @ np.asarray(q["W_enc"][:, 3]) > 0)  # and it fires again
    assert np.all(np.asarray(opt2[0].mu["W_dec"][3]) == 0)


@pytest.mark.parametrize("mode", ["simple", "advanced"])
def test_resampling_in_training_is_counted(mode):
    """A penalty this large kills latents; the count at each resampling step equals the dead count just before."""
    cfg = SaeConfig("relu", 2, 8, batch=32, steps=90, resample=mode, resample_every=30, dead_window=10)
    out = train_saes(cfg, SRC, sae_hparams(cfg, penalty=[3.0], lr=[0.05]), [0])
    res, dead = np.asarray(out.metrics["resampled"][0]), np.asarray(out.metrics["dead"][0])
    assert np.flatnonzero(res).tolist() and set(np.flatnonzero(res)) <= {29, 59}
    np.testing.assert_array_equal(res[[29, 59]], dead[[29, 59]])


def test_sources():
    src = synthetic_source(n_true=64, d_in=16, mean_active=5.0, seed=3)
    H, X = src.sample(jax.random.PRNGKey(0), 20000)
    np.testing.assert_allclose(np.asarray(H), np.asarray(X) @ src.directions, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(src.directions, axis=1), 1.0, rtol=1e-5)
    counts = np.asarray((X > 0).sum(axis=1), np.float64)
    np.testing.assert_allclose(counts.mean(), 5.0, atol=4 * counts.std() / np.sqrt(len(counts)))
    corr = synthetic_source(n_true=64, d_in=16, mean_active=5.0, correlated=True, seed=3)
    _, Xc = corr.sample(jax.random.PRNGKey(1), 20000)
    cc = np.asarray((Xc > 0).sum(axis=1), np.float64)
    np.testing.assert_allclose(cc.mean(), 5.0, atol=4 * cc.std() / np.sqrt(len(cc)))
    H, X = SRC.sample(jax.random.PRNGKey(0), 100)
    np.testing.assert_allclose(np.asarray(H), np.asarray(X) @ pentagon().T, rtol=1e-5, atol=1e-6)
    with pytest.raises(SaeError, match="mean_active"):
        synthetic_source(n_true=4, mean_active=5.0)
