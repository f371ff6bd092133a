"""Directions in resid_mid: PCA and the AND of two thresholded directions α, β.

All functions work on arbitrary arrays ``X: (N, d)`` (e.g. the model's resid_mid at the last position), so
they are tested on synthetic data with planted answers.

The AND search looks for unit directions α, β ∈ R^d and thresholds t_α, t_β such that
``label = [α·x > t_α] ∧ [β·x > t_β]`` agrees with given binary labels as often as possible. It runs in two
stages: (1) a smooth relaxation p = σ(s(α·z − t_α))·σ(s(β·z − t_β)) on the whitened top principal
components z, fitted by Adam on the binary cross-entropy from several random starts (vmapped); (2) for
each start, an exact search of the two thresholds along the found directions (for every candidate t_α
the best t_β by one cumulative sum over the sorted β·x); the start with the highest exact agreement wins.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from tms.challenge import plots
from tms.challenge.diagnostics.grid import flat_labels
from tms.challenge.diagnostics.registry import Outcome, register
from tms.errors import TmsError

PUBLISHED_COMPONENTS = 2  # H&H: α and β are read in the plane of resid_mid's first two principal components
AND_VARIANCE = 0.98  # extra: the AND also sought in the top PCs holding this fraction of the variance
WIDE = 16  # extra: principal components of the "wide" AND search


class PCA(NamedTuple):
    mean: np.ndarray  # (d,)
    components: np.ndarray  # (K, d) unit rows, by decreasing variance
    variance: np.ndarray  # (K,) variance along each component
    explained: np.ndarray  # (K,) fraction of the total variance


def _matrix(name: str, X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise TmsError(f"{name} must have shape (N >= 2, d); got {X.shape}")
    return X


def pca(X, n_components: int | None = None) -> PCA:
    """Principal components of ``X: (N, d)`` (SVD of the centred data)."""
    X = _matrix("X", X)
    mu = X.mean(0)
    _, s, vt = np.linalg.svd(X - mu, full_matrices=False)
    var = s**2 / (len(X) - 1)
    k = len(s) if n_components is None else n_components
    if not 1 <= k <= len(s):
        raise TmsError(f"n_components must lie in 1..{len(s)}; got {n_components}")
    return PCA(mu, vt[:k], var[:k], var[:k] / var.sum())


class AndRule(NamedTuple):
    directions: np.ndarray  # (2, d) unit vectors α, β
    thresholds: np.ndarray  # (2,) t_α, t_β
    agreement: float  # fraction of the fitted labels reproduced
    positive: bool = True  # True: label 1 = the AND; False: label 0 = the AND (label 1 = its complement)


def and_predict(rule: AndRule, X) -> np.ndarray:
    """(N,) uint8 labels [α·x > t_α] ∧ [β·x > t_β] for ``X: (N, d)`` (negated when not rule.positive)."""
    p = np.asarray(X, np.float64) @ np.asarray(rule.directions, np.float64).T
    both = (p[:, 0] > rule.thresholds[0]) & (p[:, 1] > rule.thresholds[1])
    return (both == bool(rule.positive)).astype(np.uint8)


def _sorted_midpoints(v: np.ndarray) -> np.ndarray:
    u = np.unique(v)
    return np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])


def best_thresholds(a, b, labels, n_candidates: int = 256) -> tuple[float, float, float]:
    """Thresholds (t_a, t_b, agreement) maximising the agreement of [a > t_a] ∧ [b > t_b] with ``labels``.

    t_a runs over ``n_candidates`` quantile midpoints of a (all midpoints if fewer); for each, the optimal
    t_b is exact. The search is done in both roles (a first, then b first) and the better one is kept.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    y = np.asarray(labels).astype(bool)
    best = (0.0, 0.0, -1.0)
    for swap in (False, True):
        u, v = (b, a) if swap else (a, b)
        cand = _sorted_midpoints(u)
        if len(cand) > n_candidates:
            cand = np.quantile(cand, np.linspace(0, 1, n_candidates))
        order = np.argsort(v, kind="stable")
        vs, ys = v[order], y[order]
        mask = u[order][None, :] > cand[:, None]  # (C, N) inside the first half-space
        neg_in = np.cumsum(mask & ~ys[None, :], axis=1)  # label 0, inside, at or below position
        pos_in = np.cumsum(mask & ys[None, :], axis=1)
        tot_pos = pos_in[:, -1:]
        zero = np.zeros((len(cand), 1), dtype=neg_in.dtype)
        # split after position k (k = 0..N): first k sorted points are ≤ t_b
        neg_in = np.concatenate([zero, neg_in], 1)
        pos_in = np.concatenate([zero, pos_in], 1)
        outside_neg = ((~mask) & ~ys[None, :]).sum(1, keepdims=True)
        score = outside_neg + neg_in + (tot_pos - pos_in)  # (C, N + 1)
        # only split between distinct values of v
        valid = np.concatenate([[True], vs[1:] != vs[:-1], [True]])
        score = np.where(valid[None, :], score, -1)
        ci, k = np.unravel_index(np.argmax(score), score.shape)
        tv = vs[0] - 1.0 if k == 0 else (vs[-1] + 1.0 if k == len(vs) else (vs[k - 1] + vs[k]) / 2)
        agree = score[ci, k] / len(y)
        if agree > best[2]:
            best = (tv, float(cand[ci]), agree) if swap else (float(cand[ci]), tv, agree)
    return best


def _and_loss(p, Z, y):
    h = Z @ p["w"].T - p["t"][None, :]  # (N, 2)
    logp = jax.nn.log_sigmoid(h).sum(-1)  # log P(label 1)
    log1mp = jnp.log1p(-jnp.exp(jnp.minimum(logp, -1e-6)))
    return -jnp.mean(y * logp + (1 - y) * log1mp)


@partial(jax.jit, static_argnames=("restarts", "steps", "lr"))
def _relaxed_fit_jit(Z, y, key, restarts: int, steps: int, lr: float):
    opt = optax.adam(lr)

    def one(k):
        p = {"w": jax.random.normal(k, (2, Z.shape[1])), "t": jnp.zeros(2)}

        def step(carry, _):
            p, s = carry
            upd, s = opt.update(jax.grad(_and_loss)(p, Z, y), s, p)
            return (optax.apply_updates(p, upd), s), None

        (p, _), _ = jax.lax.scan(step, (p, opt.init(p)), None, length=steps)
        return p["w"]

    return jax.vmap(one)(jax.random.split(key, restarts))


def _relaxed_fit(Z, y, key, restarts: int, steps: int, lr: float):
    """Adam on the AND relaxation from ``restarts`` random starts; returns (restarts, 2, K) directions."""
    W = _relaxed_fit_jit(jnp.asarray(Z, jnp.float32), jnp.asarray(y, jnp.float32), key, restarts, steps, float(lr))
    return np.asarray(W, np.float64)


def fit_and_rule(X, labels, key, n_components: int = 16, restarts: int = 8, steps: int = 400,
                 lr: float = 0.05, n_candidates: int = 256, polarity: str = "positive") -> AndRule:
    """Best AND of two thresholded directions reproducing binary ``labels`` (N,) from ``X: (N, d)``.

    Directions are sought in the span of the top ``n_components`` principal components (whitened for the
    relaxed fit), then thresholds are searched exactly. ``key``: a JAX PRNG key for the random starts.
    polarity: "positive" (label 1 is the AND), "negative" (label 0 is the AND) or "both" (the better one).
    """
    if polarity not in ("positive", "negative", "both"):
        raise TmsError(f"polarity must be 'positive', 'negative' or 'both'; got {polarity!r}")
    if polarity == "both":
        k1, k2 = jax.random.split(key)
        pos = fit_and_rule(X, labels, k1, n_components, restarts, steps, lr, n_candidates, "positive")
        neg = fit_and_rule(X, labels, k2, n_components, restarts, steps, lr, n_candidates, "negative")
        return pos if pos.agreement >= neg.agreement else neg
    X = _matrix("X", X)
    y = np.asarray(labels).reshape(-1)
    if y.shape[0] != X.shape[0] or not np.isin(y, (0, 1)).all():
        raise TmsError(f"labels must be {X.shape[0]} values in {{0, 1}}; got shape {y.shape}")
    for name, v, lo in (("restarts", restarts, 1), ("steps", steps, 1), ("n_candidates", n_candidates, 2)):
        if v < lo:
            raise TmsError(f"{name} must be >= {lo}; got {v}")
    k = min(n_components, X.shape[1], X.shape[0] - 1)
    if k < 1:
        raise TmsError(f"n_components must be >= 1; got {n_components}")
    pc = pca(X, k)
    scale = np.sqrt(np.maximum(pc.variance, 1e-12))
    Z = (X - pc.mean) @ pc.components.T / scale
    if polarity == "negative":
        y = 1 - y
    W = _relaxed_fit(Z, y, key, restarts, steps, lr)  # (R, 2, K) in whitened coordinates
    best = None
    for w in W:
        dirs = (w / scale) @ pc.components  # (2, d): α·(x − μ) = w·z
        norms = np.linalg.norm(dirs, axis=1, keepdims=True)
        if not np.all(norms > 0):
            continue
        dirs = dirs / norms
        proj = X @ dirs.T
        ta, tb, agree = best_thresholds(proj[:, 0], proj[:, 1], y, n_candidates)
        if best is None or agree > best.agreement:
            best = AndRule(dirs, np.array([ta, tb]), float(agree), polarity == "positive")
    if best is None:
        raise TmsError("the AND search found no non-degenerate direction (are X's columns constant?)")
    return best


def refine_in_plane(X, labels, rule: AndRule, plane, rounds: int = 3, span_deg: float = 12.0, steps: int = 5,
                    n_candidates: int = 64) -> AndRule:
    """Coordinate search of a positive AND rule whose directions lie in the plane of ``plane`` (2, d)
    orthonormal rows: each round moves α, then β, to the best of ``steps`` angles within ±span of its
    current angle (thresholds searched over ``n_candidates`` for each), then narrows the span threefold;
    the final thresholds are searched over 4 × n_candidates. Never worse than ``rule``."""
    X = _matrix("X", X)
    y = np.asarray(labels).reshape(-1).astype(bool)
    plane = np.asarray(plane, np.float64)
    proj = X @ plane.T  # (N, 2)
    ang = [float(np.arctan2(*(plane @ d)[::-1])) for d in np.asarray(rule.directions)]
    best = rule
    span = np.radians(span_deg)
    for _ in range(rounds):
        for i in (0, 1):
            for a in ang[i] + np.linspace(-span, span, steps):
                cur = list(ang)
                cur[i] = a
                u = np.stack([np.cos(cur), np.sin(cur)], 1)  # (2, 2) plane coordinates
                p = proj @ u.T
                ta, tb, agree = best_thresholds(p[:, 0], p[:, 1], y, n_candidates)
                if agree > best.agreement + 1e-12:
                    best, ang = AndRule(u @ plane, np.array([ta, tb]), float(agree), True), cur
        span /= 3
    p = X @ best.directions.T
    ta, tb, agree = best_thresholds(p[:, 0], p[:, 1], y, 4 * n_candidates)
    return AndRule(best.directions, np.array([ta, tb]), float(agree), True) if agree > best.agreement else best


def n_components_for(explained, fraction: float = AND_VARIANCE) -> int:
    """Smallest number (at least 2) of leading components whose explained variance reaches ``fraction``."""
    return max(2, int(np.searchsorted(np.cumsum(explained), fraction) + 1))


def and_rule_table(rule: AndRule, resid_mid, pred) -> pd.DataFrame:
    """One row: the agreement of ``rule`` on (N, d) activations with the labels ``pred`` (N,)."""
    pred = flat_labels("pred", pred)
    return pd.DataFrame([{"agreement": float((and_predict(rule, resid_mid) == pred).mean()),
                          "threshold_alpha": float(rule.thresholds[0]), "threshold_beta": float(rule.thresholds[1]),
                          "cos_alpha_beta": float(np.dot(rule.directions[0], rule.directions[1]))}])


# ------------------------------------------------------------------------------------- registered diagnostic
def _agree(rule: AndRule, resid_mid, labels) -> float:
    return float((and_predict(rule, resid_mid) == np.asarray(labels)).mean())


@register("directions", "PCA of resid_mid and the α/β AND of two thresholds in the PC1–PC2 plane (published), "
                        "with and without fixed attention; wider searches as extras")
def directions_diagnostic(dx) -> Outcome:
    full, fa, pc, rule = dx.full, dx.fixed.run, dx.pca, dx.rule
    rule_fa, var, wide = dx.rule_fixed_attention, dx.rule_variance, dx.rule_wide
    numbers = dict(
        resid_mid_pca_explained_top4=pc.explained[:4].round(4).tolist(),
        resid_mid_fixed_pca_explained_top4=dx.pca_fixed.explained[:4].round(4).tolist(),
        and_n_components=PUBLISHED_COMPONENTS,
        and_agreement_full=rule.agreement, and_agreement_fixed_attention=rule_fa.agreement,
        and_accuracy_full=_agree(rule, full.resid_mid, dx.truth),
        and_accuracy_fixed_attention=_agree(rule_fa, fa.resid_mid, dx.truth),
        and_full_rule_on_fixed_attention=_agree(rule, fa.resid_mid, fa.pred),
        and_cos_alpha_beta=float(rule.directions[0] @ rule.directions[1]),
        and_thresholds=rule.thresholds.round(6).tolist(),
        and_fixed_thresholds=rule_fa.thresholds.round(6).tolist(),
        and_var98_n_components=n_components_for(pc.explained), and_var98_agreement_full=var.agreement,
        and_var98_positive=bool(var.positive),
        and_var98_alpha_pca_cos=np.abs(pc.components[:4] @ var.directions[0]).round(3).tolist(),
        and_var98_beta_pca_cos=np.abs(pc.components[:4] @ var.directions[1]).round(3).tolist(),
        and_wide_n_components=WIDE, and_wide_agreement_full=np.nan if wide is None else wide.agreement)
    figures = {}
    if dx.settings.figures:
        proj = np.asarray(full.resid_mid, np.float64) @ rule.directions.T
        figures["resid_mid"] = plots.resid_mid_figure(pc.explained, proj, full.pred, rule.thresholds, rule.agreement)
    return Outcome(numbers, {}, figures)
