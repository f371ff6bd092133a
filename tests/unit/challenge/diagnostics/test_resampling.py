"""Resampling ablation: group-preserving draws; a plane that is the whole space changes nothing."""

import jax
import numpy as np

from tms.challenge import model as M
from tms.challenge.diagnostics import resampling as Rs
from tms.challenge.diagnostics.directions import AndRule
from tms.challenge.diagnostics.grid import run_grid


def test_resampling_keeps_groups():
    rng = np.random.default_rng(6)
    g = rng.integers(0, 4, 500)
    np.testing.assert_array_equal(g[Rs._resample_within(g, rng)], g)


def test_resampling_in_a_plane_that_is_the_whole_space():
    cfg = M.Config(d_model=2, n_heads=1, d_head=2, d_mlp=8)
    params = M.init_params(cfg, jax.random.PRNGKey(4))
    run = run_grid(params)
    np.testing.assert_allclose(Rs.logit_diff_from_resid_mid(params, run.resid_mid), run.logit_diff, atol=1e-5)
    rule = AndRule(np.eye(2), np.array([0.0, 0.0]), 1.0)
    t = Rs.resample_ablation(params, run.resid_mid, run.pred, rule, repeats=1).set_index("variant")
    # the plane is all of resid_mid: resampling "the other directions" changes nothing
    np.testing.assert_allclose(t.loc["others", "agreement"], 1.0)
    # a random other input's resid_mid agrees as often as a random other input's label
    rand = t.loc["random", "agreement"]
    q = run.pred.mean()
    np.testing.assert_allclose(rand, q**2 + (1 - q) ** 2, atol=0.02)
