"""Challenge training: the fast loss equals the full one, a short run learns (the 97% run is an acceptance test)."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.challenge import data as D
from tms.challenge import model as M
from tms.challenge import train as T

SMALL = M.Config(d_model=32, n_heads=4, d_head=8, d_mlp=64)
TINY = M.Config(d_model=4, n_heads=1, d_head=4, d_mlp=4)


def test_fast_loss_and_grads_equal_full():
    params = M.init_params(SMALL, jax.random.key(0))
    params["b_in"] = 0.1 * jnp.ones_like(params["b_in"])
    train_b, _ = T.challenge_batches()
    batch = T.Batch(train_b.tokens[:512], train_b.labels[:512])
    l_fast, g_fast = jax.jit(jax.value_and_grad(T.loss_fn))(params, batch)
    l_full, g_full = jax.jit(jax.value_and_grad(T.full_loss))(params, batch)
    np.testing.assert_allclose(l_fast, l_full, rtol=1e-6)
    for k in M.PARAM_NAMES:
        np.testing.assert_allclose(g_fast[k], g_full[k], rtol=1e-4, atol=1e-7, err_msg=k)
    # the CE is over all 114 logits: compare with an explicit float64 log-softmax
    logits = np.asarray(M.forward(params, batch.tokens)[0][:, -1], np.float64)
    lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    ref = (lse - logits[np.arange(512), np.asarray(batch.labels)]).mean()
    np.testing.assert_allclose(l_fast, ref, rtol=1e-5)


def test_short_training_lowers_loss():
    tcfg = T.TrainConfig(epochs=40, log_every=10, chunk_logs=2, lr=1e-2, warmup=5)
    params, hist = T.train(SMALL, tcfg, jax.random.key(1), progress=False)
    assert list(hist.columns) == ["epoch", "train_loss", "test_loss", "train_acc", "test_acc", "wall_s"]
    np.testing.assert_array_equal(hist.epoch, [0, 10, 20, 30, 40])
    # Start near a uniform 114-way guess (loss ~ log 114); end well below log 2 = 0.69, the best
    # loss reachable without reading the input, and above the 56.6% majority-class accuracy.
    np.testing.assert_allclose(hist.train_loss.iloc[0], np.log(114), rtol=0.25)
    assert hist.train_loss.iloc[-1] < 0.45
    assert hist.train_acc.iloc[-1] > 0.75 and hist.test_acc.iloc[-1] > 0.75
    # the history's last row agrees with evaluating the returned params independently
    ev = T.evaluate(params)
    np.testing.assert_allclose(ev["train_acc"], hist.train_acc.iloc[-1], atol=1e-6)
    np.testing.assert_allclose(ev["test_acc"], hist.test_acc.iloc[-1], atol=1e-6)
    assert {k: v.shape for k, v in params.items()} == SMALL.shapes()
    assert hist.attrs["diverged"] is False and T.divergence_note(hist) == ""


def test_divergence_is_judged_against_a_uniform_guess_and_the_start():
    params = {"W": np.ones((2, 2)), "b": np.zeros(2)}
    bound = np.log(114)  # the cross-entropy of all-zero logits over d_vocab = 114
    assert not T.diverged(params, 0.3, 114) and not T.diverged(params, bound, 114)
    assert T.diverged(params, np.nextafter(bound, np.inf), 114) and T.diverged(params, np.nan, 114)
    assert T.diverged(params, np.inf, 114)
    assert not T.diverged(params, 5.0, 114, initial_loss=5.03)  # an epoch or two from an init above the bound
    assert T.diverged(params, 5.04, 114, initial_loss=5.03)
    assert T.diverged({**params, "b": np.array([0.0, np.nan])}, 0.3, 114)  # a finite loss does not hide NaN weights


def test_a_diverging_run_is_flagged_in_the_weights_and_on_the_command_line(tmp_path, capsys, monkeypatch):
    from tms.challenge import weights as W
    from tms.cli.main import main

    # the command line has no model-size options: a tiny model keeps the compilation short
    monkeypatch.setattr(M, "Config", lambda: TINY)
    out = tmp_path / "m.npz"
    # lr 100 (the default is 1e-3): after two epochs the loss is finite but exploding (3e25 measured; NaN later)
    assert main(["challenge", "train", "--lr", "100", "--warmup", "0", "--epochs", "2", "--log-every", "1",
                 "--no-progress", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    m = re.search(r"DIVERGED: final train loss (\S+) \(non-finite parameters or loss, or a loss above both "
                  r"log\(d_vocab\) = 4\.7362, a uniform guess, and the initial loss (\S+)\): lower --lr", text)
    assert np.isfinite(float(m.group(1))) and float(m.group(1)) > 1e6  # the bound, not only NaN, catches it
    np.testing.assert_allclose(float(m.group(2)), np.log(114), rtol=0.1)
    assert W.load_meta(out)["diverged"] is True


def test_bench_torch_twins_match_jax():
    torch = pytest.importorskip("torch")
    from tms.bench import challenge as bench

    params = M.init_params(SMALL, jax.random.key(5))
    toks = D.tokens(D.all_pairs()[::51])
    ref = np.asarray(M.forward(params, toks)[0][:, -1])
    for last_only in (False, True):
        net = bench._torch_model(torch, SMALL, params, last_only)
        with torch.no_grad():
            out = net(torch.tensor(toks, dtype=torch.long)).numpy()
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
