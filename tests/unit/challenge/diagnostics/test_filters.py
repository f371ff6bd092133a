"""H&H's filter images, the margin test, the equal-value lines, and the perturbation test, on a small model."""

import jax
import numpy as np

from tms.challenge import data as D
from tms.challenge.diagnostics import attention as At
from tms.challenge.diagnostics import filters as Fi
from tms.challenge.diagnostics import perturb as Pe
from tms.challenge.diagnostics.directions import and_predict, fit_and_rule, pca
from tms.challenge.diagnostics.embeddings import extended_embeddings


def _fixed_rule(params, run):
    fa = At.fixed_attention(params, run)
    rule = fit_and_rule(fa.run.resid_mid, fa.run.pred, jax.random.PRNGKey(0), n_components=2, restarts=2, steps=60)
    return fa, rule


def test_filter_images_are_the_rule_on_fixed_attention_resid_mid(small):
    params, run = small
    fa, rule = _fixed_rule(params, run)
    img = Fi.filter_images(extended_embeddings(params, fa.mean_pattern), rule)
    np.testing.assert_allclose(img.reshape(2, -1).T, fa.run.resid_mid @ rule.directions.T, atol=1e-4)
    both = Fi.filter_and(img, rule.thresholds).ravel()
    # the AND of the binary images is the rule's prediction (up to inputs within float noise of a threshold)
    assert (both == and_predict(rule, fa.run.resid_mid)).mean() > 0.999


def test_margins_and_near_threshold_table():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(4000, 2))
    t = np.array([0.2, -0.1])
    m = Fi.threshold_margins(v, t)
    np.testing.assert_allclose(m, np.minimum(np.abs(v[:, 0] - 0.2) / v[:, 0].std(), np.abs(v[:, 1] + 0.1) / v[:, 1].std()))
    near = m <= np.quantile(m, 0.05)
    tab = Fi.near_threshold_table(v, t, near).set_index("group")
    np.testing.assert_allclose(tab.loc["all", "frac_near"], Fi.NEAR_QUANTILE, atol=1e-3)
    assert tab.loc["mistakes", "frac_near"] == 1.0  # planted "mistakes" all lie near a threshold


def test_equal_filter_values_lie_on_a_line(small):
    params, run = small
    fa, rule = _fixed_rule(params, run)
    values = fa.run.resid_mid @ rule.directions.T
    lines = Fi.equal_value_lines(fa.run.resid_mid, pca(fa.run.resid_mid), rule, values, band=0.001)
    assert (lines["n"] > 0).all()
    assert (lines["across_spread"] < 0.005).all()  # equal α·r: no spread along α's normal in the plane


def test_perturbations_along_a_boundary_keep_that_filter(small):
    params, run = small
    fa, rule = _fixed_rule(params, run)
    pc = pca(fa.run.resid_mid)
    dirs = Pe.perturbation_directions(pc, rule, n_random=2)
    assert set(dirs) == {"random 0", "random 1", "along α boundary", "along β boundary"}
    np.testing.assert_allclose([np.linalg.norm(v) for v in dirs.values()], 1.0)
    np.testing.assert_allclose(dirs["along α boundary"] @ rule.directions[0], 0.0, atol=1e-9)
    np.testing.assert_allclose(dirs["along β boundary"] @ rule.directions[1], 0.0, atol=1e-9)
    tab = Pe.perturbation_table(params, fa.run.resid_mid, rule, dirs, lengths=(0.0, 1.0))
    zero = tab[tab["length"] == 0]
    np.testing.assert_allclose(zero["changed"], 0.0)
    np.testing.assert_allclose(zero["rule_agreement"], (and_predict(rule, fa.run.resid_mid) == fa.run.pred).mean(),
                               atol=2e-3)
    assert D.N_PAIRS == len(fa.run.pred)
