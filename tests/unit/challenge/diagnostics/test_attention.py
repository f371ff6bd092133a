"""Fixed attention: a constant pattern changes nothing; the frozen pattern is the mean."""

import jax
import numpy as np
import pytest

from tms.challenge import model as M
from tms.challenge.diagnostics import attention as At
from tms.challenge.diagnostics.grid import run_grid

SMALL = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=32)


def test_fixed_attention_with_constant_pattern_changes_nothing():
    params = M.init_params(SMALL, jax.random.PRNGKey(3))
    params["W_Q"] = 0 * params["W_Q"]  # scores 0: uniform causal attention for every input
    run = run_grid(params)
    np.testing.assert_allclose(run.pattern[:, :, :], 1 / 3, atol=1e-6)
    fa = At.fixed_attention(params, run)
    np.testing.assert_allclose(fa.run.logit_diff, run.logit_diff, atol=1e-5)
    np.testing.assert_allclose(fa.table["agreement_full_model"], 1.0)


def test_fixed_attention_freezes_the_mean_pattern(small):
    params, run = small
    fa = At.fixed_attention(params, run)
    np.testing.assert_allclose(fa.mean_pattern, run.pattern.astype(np.float64).sum(0) / len(run.pattern), rtol=1e-12)
    np.testing.assert_allclose(fa.run.pattern, np.broadcast_to(fa.mean_pattern, run.pattern.shape), atol=1e-7)
    with pytest.raises(ValueError, match="mean_pattern"):
        At.fixed_pattern_hooks(params, np.ones((3, 3)))


def test_fixed_attention_reports_both_metrics_against_their_references(small):
    """agreement_full_model is scored against the full model's own predictions, accuracy_full against the
    ground truth (H&H's 92.9% and 92.7%): recomputed here from the two label vectors."""
    from tms.challenge import data

    params, run = small
    fa = At.fixed_attention(params, run)
    row = fa.table.iloc[0]
    fixed, full = np.asarray(fa.run.pred).ravel(), np.asarray(run.pred).ravel()
    np.testing.assert_allclose(row["agreement_full_model"], (fixed == full).mean(), atol=1e-12)
    np.testing.assert_allclose(row["accuracy_full"], (fixed == data.label_grid().ravel()).mean(), atol=1e-12)
