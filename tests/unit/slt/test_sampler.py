"""The SGLD sampler and the LLC estimate against closed forms and float64 quadrature."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.slt import SGLDConfig, default_nbeta, estimate_llc, estimate_llc_many, make_sampler, sgld_hparams

DATA = jnp.zeros((100, 1))  # the toy losses below ignore the data; n = 100 only sets the default nβ


def quadratic(w, batch):
    return 0.5 * jnp.sum(w * w) + 0.0 * jnp.mean(batch)


def test_quadratic_loss_in_d_dims_recovers_d_over_2():
    # Gaussian posterior of precision nβ + γ: nβ E[L] = (d/2) nβ/(nβ + γ) exactly (SGLD's discretisation bias at
    # ε(nβ + γ) = 0.01 is 0.25%).
    d, nbeta, gamma = 6, 1000.0, 1.0
    est = estimate_llc(quadratic, jnp.zeros(d), DATA, step_size=1e-5, localization=gamma, nbeta=nbeta,
                       config=SGLDConfig(chains=8, draws=3000, burn_in=500))
    expect = d / 2 * nbeta / (nbeta + gamma)
    assert abs(est.llc - expect) < 4 * est.llc_se + 0.02 * expect
    np.testing.assert_allclose(est.llc, d / 2, rtol=0.08)
    assert 0 < est.llc_se < 0.3
    np.testing.assert_allclose(est.accept, 1.0, atol=0.01)
    assert est.frac_below == 0.0  # L >= L(w*) = 0 everywhere


def _quadrature(K, nbeta, gamma, lim=8.0, num=2001):
    """nβ E[K] under exp(−nβ K − γ/2 |w|²) on a 2-D grid, float64."""
    x = np.linspace(-lim, lim, num)
    X, Y = np.meshgrid(x, x)
    k = K(X, Y)
    p = np.exp(-nbeta * k - 0.5 * gamma * (X ** 2 + Y ** 2))
    return nbeta * float((k * p).sum() / p.sum())


def test_singular_loss_w1sq_w2sq_matches_quadrature_and_its_coefficient():
    # K = w1² w2² has RLCT 1/2 with multiplicity 2, so nβ E[K] approaches 1/2 only as 1/2 − 1/log(nβ); at a finite
    # nβ the reference is the integral itself (float64 quadrature), and it sits below 1/2 as the theory says.
    nbeta, gamma = 100.0, 1.0
    est = estimate_llc(lambda w, b: w[0] ** 2 * w[1] ** 2 + 0.0 * jnp.mean(b), jnp.zeros(2), DATA,
                       step_size=2e-4, localization=gamma, nbeta=nbeta,
                       config=SGLDConfig(chains=16, draws=12000, burn_in=2000))
    ref = _quadrature(lambda x, y: x * x * y * y, nbeta, gamma)
    assert 0.3 < ref < 0.5
    # the tolerance uses the chains' standard error, so bound that too (measured 0.024 = 0.07 ref on 2026-12-05)
    assert 0 < est.llc_se < 0.1 * ref
    assert abs(est.llc - ref) < 4 * est.llc_se + 0.05 * ref


def test_quartic_loss_recovers_one_quarter():
    # K = w⁴ (d = 1): ∫ nβ w⁴ e^{−nβ w⁴} / ∫ e^{−nβ w⁴} = 1/4 exactly (γ = 0), the RLCT of w⁴.
    est = estimate_llc(lambda w, b: w[0] ** 4 + 0.0 * jnp.mean(b), jnp.zeros(1), DATA, step_size=2e-4,
                       localization=0.0, nbeta=1000.0, config=SGLDConfig(chains=16, draws=6000, burn_in=1000))
    assert 0 < est.llc_se < 0.025  # bounded, so that the tolerance below is (measured 0.012 on 2026-12-05)
    assert abs(est.llc - 0.25) < 4 * est.llc_se + 0.02


def test_minibatch_sampling_of_a_data_dependent_loss():
    # L_B(w) = mean over the batch of ½|w − x|²: minibatch SGLD around w* = the data mean still gives ≈ d/2
    # (the paired differences cancel the batch-to-batch variation of L_B(w*)).
    x = jax.random.normal(jax.random.PRNGKey(3), (4000, 3))
    loss = lambda w, X: 0.5 * jnp.mean(jnp.sum((w[None, :] - X) ** 2, axis=1))  # noqa: E731
    est = estimate_llc(loss, jnp.mean(x, axis=0), x, step_size=2e-5, localization=1.0,
                       config=SGLDConfig(chains=8, draws=3000, burn_in=500, batch_size=400))
    np.testing.assert_allclose(est.llc, 1.5, rtol=0.15)
    assert est.nbeta == pytest.approx(default_nbeta(4000))


def test_fixed_key_is_deterministic_and_another_key_differs():
    cfg = SGLDConfig(chains=3, draws=50, burn_in=10, batch_size=20)
    run = lambda k: estimate_llc(quadratic, jnp.zeros(4), DATA, step_size=1e-4, localization=1.0,  # noqa: E731
                                 nbeta=50.0, config=cfg, key=jax.random.PRNGKey(k))
    a, b, c = run(7), run(7), run(8)
    np.testing.assert_array_equal(a.trace, b.trace)
    assert a.llc == b.llc
    assert not np.array_equal(a.trace, c.trace)


def test_many_models_in_one_call_match_one_at_a_time():
    cfg = SGLDConfig(chains=2, draws=40, burn_in=5)
    centres = jnp.stack([jnp.zeros(3), jnp.ones(3)])
    many = estimate_llc_many(quadratic, centres, DATA, step_size=1e-3, localization=1.0, nbeta=30.0, config=cfg,
                             key=jax.random.PRNGKey(1), data_axis=None)
    for i in range(2):
        one = estimate_llc(quadratic, centres[i], DATA, step_size=1e-3, localization=1.0, nbeta=30.0, config=cfg,
                           key=jax.random.fold_in(jax.random.PRNGKey(1), i))
        np.testing.assert_allclose(many[i].trace, one.trace, rtol=1e-5, atol=1e-6)


def test_mala_acceptance_falls_with_the_step():
    cfg = SGLDConfig(chains=4, draws=400, burn_in=50)
    acc = [estimate_llc(quadratic, jnp.zeros(5), DATA, step_size=s, localization=0.0, nbeta=100.0, config=cfg).accept
           for s in (1e-5, 1e-2)]
    assert acc[0] > 0.999 and 0.05 < acc[1] < 0.9


@pytest.mark.parametrize("kwargs,field", [
    (dict(step_size=0.0), "step_size"), (dict(step_size=-1e-3), "step_size"),
    (dict(localization=-1.0), "localization"), (dict(nbeta=0.0), "nbeta"), (dict(step_size=float("nan")), "step_size"),
])
def test_bad_hyperparameters_name_the_field(kwargs, field):
    args = dict(step_size=1e-3, localization=1.0, nbeta=10.0) | kwargs
    with pytest.raises(ValueError, match=field):
        sgld_hparams(args["step_size"], args["localization"], args["nbeta"])
    with pytest.raises(ValueError, match=field):
        estimate_llc(quadratic, jnp.zeros(2), DATA, config=SGLDConfig(chains=2, draws=2, burn_in=0), **args)


@pytest.mark.parametrize("kwargs,field", [
    (dict(draws=0), "draws"), (dict(chains=1), "chains"), (dict(burn_in=-1), "burn_in"), (dict(thin=0), "thin"),
    (dict(batch_size=0), "batch_size"), (dict(draws=2.5), "draws"),
])
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        SGLDConfig(**kwargs)


def test_default_nbeta_is_n_over_log_n():
    assert default_nbeta(1000) == pytest.approx(1000 / np.log(1000))
    with pytest.raises(ValueError, match="n"):
        default_nbeta(1)


def test_sampler_records_every_step_and_draws_after_burn_in():
    cfg = SGLDConfig(chains=2, draws=5, burn_in=3, thin=2)
    tr = jax.jit(make_sampler(quadratic, cfg))(jnp.zeros(2), DATA, sgld_hparams(1e-3, 1.0, 10.0), jax.random.PRNGKey(0))
    assert tr.loss.shape == (2, 13) and tr.delta.shape == (2, 13)
    np.testing.assert_array_equal(cfg.draw_steps, [3, 5, 7, 9, 11])
    assert float(tr.loss[0, 0]) == 0.0  # the first record is w* itself


def test_chains_can_start_away_from_the_localization_centre():
    cfg = SGLDConfig(chains=2, draws=3, burn_in=0)
    init = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    tr = jax.jit(make_sampler(quadratic, cfg))(jnp.zeros(2), DATA, sgld_hparams(1e-4, 1.0, 10.0),
                                               jax.random.PRNGKey(0), init)
    np.testing.assert_allclose(tr.loss[:, 0], [0.5, 2.0])  # L at each chain's own start
    np.testing.assert_allclose(tr.init_loss, 0.0)  # L(w*) is still the centre's


def test_a_diverging_chain_is_flagged_and_never_discarded():
    # ε (nβ + γ) / 2 = 500 > 2: the distance to w* grows ~500-fold a step, so float32 overflows within 20 steps;
    # ε = 1e-5 is stable. Both in one call: only the second model's chains are flagged.
    config = SGLDConfig(chains=2, draws=30, burn_in=5)
    ok, bad = estimate_llc_many(quadratic, jnp.zeros((2, 2)), DATA, step_size=np.array([1e-5, 1.0]),
                                localization=0.0, nbeta=1000.0, config=config, data_axis=None, discard_below=True)
    assert ok.diverged.tolist() == [False, False] and ok.summary()["diverged"] == 0 and np.isfinite(ok.llc)
    assert bad.diverged.tolist() == [True, True] and bad.summary()["diverged"] == 2
    assert bad.kept.all() and np.isnan(bad.llc) and bad.summary()["llc"] is None  # not discarded as "below"
    assert not np.all(np.isfinite(bad.trace))


def test_non_finite_parameters_count_as_diverged_whatever_the_loss_reads():
    from tms.slt.llc import chains_diverged
    from tms.slt.sampler import SGLDTrace

    loss = np.zeros((3, 4))
    last = {"W": np.array([[1.0, 2.0], [np.nan, 0.0], [0.0, 0.0]]), "b": np.array([0.0, 0.0, np.inf])}
    trace = SGLDTrace(loss, loss, loss, np.float32(0.0), last)
    assert chains_diverged(trace).tolist() == [False, True, True]
    loss[0, 2] = np.inf
    assert chains_diverged(trace._replace(last={"W": np.zeros((3, 2))})).tolist() == [True, False, False]
