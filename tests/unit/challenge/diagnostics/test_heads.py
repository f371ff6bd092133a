"""Attention heads: resid_mid from patterns matches the hooked model; the positional QK delta matches the
model's own attention scores; adding every head back is the full model; interpolation ends at both."""

import jax
import numpy as np

from tms.challenge import data as D
from tms.challenge import model as M
from tms.challenge.diagnostics import attention as At
from tms.challenge.diagnostics import heads as H
from tms.challenge.diagnostics.grid import tail_logit_diff


def test_resid_mid_from_patterns_matches_the_model(small):
    params, run = small
    np.testing.assert_allclose(H.resid_mid_from_patterns(params, run.pattern), run.resid_mid, atol=2e-5)
    fa = At.fixed_attention(params, run)
    np.testing.assert_allclose(H.resid_mid_from_patterns(params, fa.mean_pattern), fa.run.resid_mid, atol=2e-5)
    np.testing.assert_allclose(tail_logit_diff(params, run.resid_mid), run.logit_diff, atol=2e-5)


def test_positional_qk_delta_matches_the_attention_scores():
    cfg = M.Config(d_model=16, n_heads=3, d_head=8, d_mlp=32)
    params = M.init_params(cfg, jax.random.PRNGKey(9))
    params["W_E"] = 0 * params["W_E"]  # scores are then the positional QK circuit alone
    _, cache = M.forward(params, D.tokens(np.array([[5, 7]])))
    s = np.asarray(cache["blocks.0.attn.hook_attn_scores"])[0, :, 2, :]  # (h, k), scaled by 1/√d_head
    table = H.qk_positional(params)
    np.testing.assert_allclose(table["delta"] / np.sqrt(cfg.d_head), s[:, 0] - s[:, 1], rtol=1e-4, atol=1e-6)


def test_addback_and_interpolation_end_points(small):
    params, run = small
    truth = D.label_grid().ravel()
    add = H.head_addback(params, run.pattern, run.pred, truth).set_index("heads")
    fa = At.fixed_attention(params, run)
    np.testing.assert_allclose(add.loc["all", "agreement"], 1.0, atol=1e-4)
    np.testing.assert_allclose(add.loc["none", "agreement"], (fa.run.pred == run.pred).mean(), atol=1e-3)
    assert len(add) == 1 + 2 + 1 + 1  # none, each of the 2 heads, the greedy pair, all
    it = H.attention_interpolation(params, run.pattern, run.pred, truth, steps=3)
    np.testing.assert_allclose(it["t"], [0, 0.5, 1])
    np.testing.assert_allclose(it["agreement"].iloc[[0, -1]], [add.loc["none", "agreement"], 1.0], atol=1e-3)
    tok = H.qk_token_table(H.qk_tokens(params))
    assert list(tok["head"]) == [0, 1] and tok["spearman_vs_value"].between(-1, 1).all()
