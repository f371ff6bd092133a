"""Progress ticks from inside the compiled training loop: heard in this process, and they change nothing."""

import dataclasses

import jax
import numpy as np
import pytest
from sweep_helpers import spy_on_progress

from tms.engine import ticks
from tms.engine.config import StaticConfig, hparams
from tms.engine.train import make_train
from tms.runs.pipeline import train_grid
from tms.runs.progress import Progress

STATIC = StaticConfig(n_features=5, n_hidden=2, batch_size=64, steps=2 * ticks.EVERY + 10, restarts=2,
                      eval_batch=512)


def _train(static):
    hp = hparams(static, sparsity=0.7, importance=0.9 ** np.arange(5))
    return jax.jit(make_train(static))(hp, jax.random.PRNGKey(0))


def test_ticks_are_heard_and_change_no_value(monkeypatch):
    heard = []
    with ticks.listening(heard.append):
        loud = _train(STATIC)
        assert sorted(heard) == [10, ticks.EVERY, ticks.EVERY]  # two blocks of 250 steps and the last 10 (unordered)
        heard.clear()
        logged = _train(dataclasses.replace(STATIC, log_every=10))
        assert heard == [ticks.EVERY, ticks.EVERY]  # with a loss curve: every 25th block of 10 steps
    assert ticks._listener is None  # the listener is removed on leaving the block
    monkeypatch.setattr(ticks, "ENABLED", False)  # the same loops compiled without ticks
    quiet = _train(STATIC)
    quiet_logged = _train(dataclasses.replace(STATIC, log_every=10))
    for a, b in ((loud, quiet), (logged, quiet_logged)):
        for name in ("W", "b"):
            np.testing.assert_array_equal(getattr(a.params, name), getattr(b.params, name), err_msg=name)
        np.testing.assert_array_equal(a.final_loss, b.final_loss)
    np.testing.assert_array_equal(logged.loss_curve, quiet_logged.loss_curve)
    assert logged.loss_curve.shape == (51,)


def test_progress_moves_inside_a_chunk_but_never_completes_it():
    bar = Progress(10, 1, enabled=False)
    for _ in range(5):
        bar.advance(3.0, 4)  # ticks of a 4-cell chunk worth 3 cells each: capped just below the chunk
    assert 3.9 < bar.partial < 4.0
    bar.update(4)  # the chunk finished: the count is exact again
    assert (bar.done, bar.partial) == (4, 0.0)


def test_the_pipeline_bar_counts_ticks_as_fractions_of_the_chunk(monkeypatch):
    seen = spy_on_progress(monkeypatch)
    train_grid(STATIC, density=[1.0, 0.3, 0.1], seeds=[0], chunk_size=2, progress=False, concurrent=1)
    # two chunks, one after the other (2 cells, then 1), each loop of 510 steps ticking after 250, 500 and 510 steps
    # (the host calls are unordered within a loop, so each chunk's ticks are compared sorted)
    assert [limit for _, limit in seen] == [2, 2, 2, 1, 1, 1]
    got = [sorted(c for c, _ in seen[:3]), sorted(c for c, _ in seen[3:])]
    np.testing.assert_allclose(got, [[c * k / 510 for k in (10, 250, 250)] for c in (2, 1)], rtol=1e-12)


def test_chunks_side_by_side_share_the_ticks_and_the_bar_ends_exact(monkeypatch):
    """Two chunks training at once: a tick (which does not say whose it is) moves both by half its share; each
    chunk's own update settles its count, and the bar ends at the total, not past it."""
    seen = spy_on_progress(monkeypatch)
    ends = []
    real = Progress.close
    monkeypatch.setattr(Progress, "close", lambda self: (ends.append((self.done, self.partial)), real(self)))
    train_grid(STATIC, density=[1.0, 0.3, 0.1, 0.05], seeds=[0], chunk_size=2, progress=False, concurrent=2)
    assert ends == [(4, 0.0)]
    assert {limit for _, limit in seen} == {2} and seen  # two chunks of 2 cells, each moved by ticks
    # 2 chunks x 3 ticks (10, 250, 250 steps of 510), each tick shared by the chunks in training (1 or 2 of them)
    # every tick is shared out in full: the ticks ask for the 4 cells' worth (the bar caps each chunk below its
    # size until the chunk's update)
    assert np.isclose(sum(c for c, _ in seen), 4.0, rtol=1e-12)
    for cells, _ in seen:
        assert any(np.isclose(cells, 2 * k / 510 / share, rtol=1e-12) for k in (10, 250) for share in (1, 2)), cells


def test_finite_data_training_ticks_and_changes_no_value(monkeypatch):
    from tms.engine.finite import FiniteConfig
    from tms.engine.finite_train import make_finite_train

    cfg = FiniteConfig(n_features=40, n_hidden=3, train_sizes=(3, 10, 70), sparsity=0.9, steps=ticks.EVERY + 10,
                       warmup_steps=2, batch_size=16, restarts=2, test_size=50, data_path="dense")
    args = (jax.random.PRNGKey(3), 1e-2, 1e-2, np.ones(40, np.float32))
    heard = []
    with ticks.listening(heard.append):
        loud = jax.jit(make_finite_train(cfg))(*args)
    assert sorted(heard) == [10, ticks.EVERY]
    monkeypatch.setattr(ticks, "ENABLED", False)
    quiet = jax.jit(make_finite_train(cfg))(*args)
    for name in ("W", "b"):
        np.testing.assert_array_equal(getattr(loud.params, name), getattr(quiet.params, name), err_msg=name)
    np.testing.assert_array_equal(loud.test_loss, quiet.test_loss)


@pytest.mark.parametrize("resample,expected", [("none", [10, ticks.EVERY, ticks.EVERY]),
                                               ("simple", [50, ticks.EVERY])])
def test_sae_training_ticks_and_changes_no_value(monkeypatch, resample, expected):
    """SAE training ticks from inside its loop (between resampling blocks too) and trains the same weights and
    metrics bit for bit as the loop compiled without ticks."""
    from tms.engine.sae import SaeConfig, pentagon, sae_hparams, toy_model_source, train_saes
    from tms.engine.sae import train as sae_train

    src = toy_model_source(pentagon(), 0.8)
    cfg = SaeConfig("relu", 2, 6, batch=32, steps=2 * ticks.EVERY + 10, resample=resample, resample_every=300,
                    dead_window=50)
    hp = sae_hparams(cfg, penalty=[0.0, 0.1], lr=[1e-2])
    monkeypatch.setattr(sae_train, "_COMPILED", {})
    heard = []
    with ticks.listening(heard.append):
        loud = train_saes(cfg, src, hp, [0, 1])
    # one run of 510 steps; with resampling a run of 300 (a block of 250 and the last 50) then one of 210 (no tick)
    assert sorted(heard) == sorted(expected)
    monkeypatch.setattr(ticks, "ENABLED", False)
    monkeypatch.setattr(sae_train, "_COMPILED", {})
    quiet = train_saes(cfg, src, hp, [0, 1])
    for name in loud.params:
        np.testing.assert_array_equal(loud.params[name], quiet.params[name], err_msg=name)
    for name in loud.metrics:
        np.testing.assert_array_equal(loud.metrics[name], quiet.metrics[name], err_msg=name)
    assert loud.metrics["loss"].shape == (2, cfg.steps)
