"""A learned dictionary scored against the true features (NumPy and SciPy only).

Shapes: ``decoder: (d_sae, d)`` (one row per latent, an SAE's ``W_dec``), ``truth: (n_true, d)`` (one row per
true feature), latents ``Z: (N, d_sae)``, true activations ``X: (N, n_true)``, activations ``H, H_hat: (N, d)``.
Cosines are of directions; zero rows have cosine 0 with everything.

- **MMCS** (mean max cosine similarity, Sharkey et al. 2022): for each true feature the largest cosine with any
  latent, averaged (``truth side``); the same from the decoder's side (``decoder side``).
- **MCC**: the true features and latents matched one-to-one by the Hungarian method on |cosine|
  (:func:`scipy.optimize.linear_sum_assignment`), the mean matched |cosine| (as SAELens's synthetic evaluation).
- **uniqueness**: each latent's best true feature (argmax |cosine|); distinct features hit / latents (SAELens's
  definition: < 1 when latents collide on a feature, and at most n_true / d_sae).
- **recovered(τ)**: fraction of true features whose best cosine is ≥ τ (0.9 and 0.99 reported).
- **split**: true features with ≥ 2 latents at cosine ≥ ``tau_split`` (latents that jointly stand for one
  feature); **shared**: latents at cosine ≥ ``tau_shared`` with ≥ 2 true features (one latent carrying
  several features' directions, as absorption makes).
- **L0**, **dead** latents (active on no input of the sample), **dense** latents (active on more than
  ``dense_frac`` of inputs), **FVU** = Σ‖h − ĥ‖² / Σ‖h − mean h‖².
- **spliced loss** for toy-model sources: the toy model's loss when ``ĥ`` replaces ``h = W x``, beside the
  clean loss and the zero-ablated one (``h`` → 0).
- **absorption** on hierarchical features (parents with mutually exclusive children): see :func:`absorption_table`.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, optimize, stats

from ..errors import TmsError


def unit_rows(A) -> np.ndarray:
    """Rows scaled to unit norm (zero rows stay zero), float64."""
    A = np.asarray(A, dtype=np.float64)
    n = np.linalg.norm(A, axis=-1, keepdims=True)
    return np.divide(A, n, out=np.zeros_like(A), where=n > 0)


def dictionary_cosines(decoder, truth) -> np.ndarray:
    """``(n_true, d_sae)`` cosines between true features and decoder rows."""
    decoder, truth = np.asarray(decoder), np.asarray(truth)
    if decoder.ndim != 2 or truth.ndim != 2 or decoder.shape[1] != truth.shape[1]:
        raise TmsError(f"decoder (d_sae, d) and truth (n_true, d) must share d; got {decoder.shape}, {truth.shape}")
    return unit_rows(truth) @ unit_rows(decoder).T


def mmcs(decoder, truth) -> tuple[float, float]:
    """``(truth side, decoder side)`` mean max cosine similarity."""
    C = dictionary_cosines(decoder, truth)
    return float(C.max(axis=1).mean()), float(C.max(axis=0).mean())


def expected_random_mmcs(d: int, d_sae: int) -> float:
    """E[MMCS] of ``d_sae`` independent uniformly random unit directions in ``d`` dimensions.

    For one true feature the cosines with random directions are i.i.d. with ``(c + 1)/2 ~ Beta((d−1)/2, (d−1)/2)``
    (the density of one coordinate of a uniform point on the sphere is ∝ (1 − c²)^((d−3)/2)); MMCS averages the
    max of ``d_sae`` of them, so ``E = ∫ c · d/dc F(c)^d_sae dc = 1 − ∫_{−1}^{1} F(c)^d_sae dc``.
    For d = 3, c ~ U[−1, 1] and this is ``(d_sae − 1)/(d_sae + 1)``.
    """
    a = (d - 1) / 2.0
    cdf = stats.beta(a, a).cdf
    value, _ = integrate.quad(lambda c: cdf((c + 1) / 2) ** d_sae, -1, 1, limit=200)
    return float(1.0 - value)


def hungarian(decoder, truth) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one match on |cosine|: ``(true feature index, latent index, cosine)`` per matched pair."""
    C = dictionary_cosines(decoder, truth)
    rows, cols = optimize.linear_sum_assignment(-np.abs(C))
    return rows, cols, C[rows, cols]


def mcc(decoder, truth) -> float:
    """Mean |cosine| of the Hungarian-matched pairs."""
    return float(np.mean(np.abs(hungarian(decoder, truth)[2])))


def uniqueness(decoder, truth) -> float:
    """Distinct true features that are some latent's best match (argmax |cosine|), divided by the latent count."""
    C = np.abs(dictionary_cosines(decoder, truth))
    return float(len(np.unique(C.argmax(axis=0))) / C.shape[1])


def recovered(decoder, truth, tau: float) -> float:
    """Fraction of true features whose best cosine with a latent is ≥ ``tau``."""
    return float(np.mean(dictionary_cosines(decoder, truth).max(axis=1) >= tau))


def split_and_shared(decoder, truth, tau_split: float = 0.7, tau_shared: float = 0.3) -> tuple[int, int]:
    """``(split true features, shared latents)``, see the module docstring."""
    C = dictionary_cosines(decoder, truth)
    return int(np.sum((C >= tau_split).sum(axis=1) >= 2)), int(np.sum((C >= tau_shared).sum(axis=0) >= 2))


def activity(Z, dense_frac: float = 0.5) -> dict:
    """``l0`` (mean active latents per input), ``dead`` and ``dense`` latent counts of latents ``Z: (N, d_sae)``."""
    active = np.asarray(Z) > 0
    freq = active.mean(axis=0)
    return {"l0": float(active.sum(axis=1).mean()), "dead": int(np.sum(freq == 0)),
            "dense": int(np.sum(freq > dense_frac))}


def fvu(H, H_hat) -> float:
    """Fraction of variance unexplained, Σ‖h − ĥ‖² / Σ‖h − mean h‖²."""
    H, H_hat = np.asarray(H, np.float64), np.asarray(H_hat, np.float64)
    total = np.sum((H - H.mean(axis=0, keepdims=True)) ** 2)
    return float(np.sum((H - H_hat) ** 2) / total) if total > 0 else float("nan")


def toy_loss(W, b, X, H, importance=None, relu: bool = True) -> float:
    """The toy model's loss with hidden activations ``H: (N, m)`` in place of ``W x``: mean Σ_i I_i (x_i − x'_i)²."""
    X = np.asarray(X, np.float64)
    Y = np.asarray(H, np.float64) @ np.asarray(W, np.float64) + np.asarray(b, np.float64)[None, :]
    Y = np.maximum(Y, 0.0) if relu else Y
    imp = np.ones(X.shape[1]) if importance is None else np.asarray(importance, np.float64)
    return float(np.mean(np.sum(imp[None, :] * (X - Y) ** 2, axis=1)))


def spliced_loss(W, b, X, H_hat, importance=None, relu: bool = True) -> dict:
    """Toy-model loss clean (``h = W x``), spliced (``ĥ``) and zero-ablated (``h = 0``), and the fraction of the
    zero-ablation gap the SAE recovers, ``(zero − spliced) / (zero − clean)``."""
    W, X = np.asarray(W, np.float64), np.asarray(X, np.float64)
    clean = toy_loss(W, b, X, X @ W.T, importance, relu)
    spliced = toy_loss(W, b, X, H_hat, importance, relu)
    zero = toy_loss(W, b, X, np.zeros((X.shape[0], W.shape[0])), importance, relu)
    gap = zero - clean
    return {"clean": clean, "spliced": spliced, "zero": zero,
            "recovered": float((zero - spliced) / gap) if gap > 0 else float("nan")}


def scores(decoder, truth, Z=None, H=None, H_hat=None, dense_frac: float = 0.5) -> dict:
    """Every dictionary score that the given arrays allow, as one flat dict of floats."""
    truth_side, decoder_side = mmcs(decoder, truth)
    split, shared = split_and_shared(decoder, truth)
    out = {"mmcs": truth_side, "mmcs_decoder": decoder_side, "mcc": mcc(decoder, truth),
           "uniqueness": uniqueness(decoder, truth), "recovered_0.9": recovered(decoder, truth, 0.9),
           "recovered_0.99": recovered(decoder, truth, 0.99), "split": split, "shared": shared}
    if Z is not None:
        out.update(activity(Z, dense_frac))
    if H is not None and H_hat is not None:
        out["fvu"] = fvu(H, H_hat)
    return out



def matched_latents(decoder, truth) -> np.ndarray:
    """``(n_true,)``: each true feature's latent under the one-to-one Hungarian match on *signed* cosine (an
    SAE's latents are non-negative, so a latent pointing against a feature does not stand for it); −1 for a
    feature left unmatched (when ``d_sae < n_true``)."""
    C = dictionary_cosines(decoder, truth)
    rows, cols = optimize.linear_sum_assignment(-C)
    out = np.full(C.shape[0], -1, dtype=np.int64)
    out[rows] = cols
    return out


def _check_hierarchy(decoder, truth, Z, X, parents) -> tuple:
    decoder, truth = np.asarray(decoder, np.float64), np.asarray(truth, np.float64)
    Z, X, parents = np.asarray(Z, np.float64), np.asarray(X, np.float64), np.asarray(parents)
    n_true, d_sae = truth.shape[0], decoder.shape[0]
    if Z.ndim != 2 or X.ndim != 2 or Z.shape != (X.shape[0], d_sae) or X.shape[1] != n_true:
        raise TmsError(f"absorption needs Z: (N, d_sae = {d_sae}) and X: (N, n_true = {n_true}); "
                       f"got Z {Z.shape}, X {X.shape}")
    if parents.shape != (n_true,) or not np.issubdtype(parents.dtype, np.integer):
        raise TmsError(f"parents must be ({n_true},) integers (−1 for a feature with no parent); got "
                       f"{parents.dtype} {parents.shape}")
    if np.any(parents < -1) or np.any(parents >= n_true) or np.any(parents == np.arange(n_true)):
        raise TmsError(f"parents entries must lie in [−1, {n_true - 1}] and not be the feature itself")
    return decoder, truth, Z, X, parents


def _rate(hit, where) -> float:
    """Fraction of ``where`` on which ``hit`` holds; NaN when ``where`` is empty."""
    n = int(np.sum(where))
    return float(np.sum(hit & where) / n) if n else float("nan")


def absorption_table(decoder, truth, Z, X, parents, tau: float = 0.3, fire: float = 0.0) -> dict:
    """Feature absorption (Chanin et al. 2024), one entry per child feature ``c`` with parent ``p``.

    Latents: ``ℓ_f`` is feature ``f``'s latent under :func:`matched_latents`; a latent *fires* on an example
    when its activation is > ``fire``. ``X > 0`` marks the active true features. Per child ``c`` of ``p``:

    - ``miss_child``: of the examples with ``p`` and ``c`` active, the fraction on which ``ℓ_p`` does not fire;
    - ``miss_alone``: of the examples with ``p`` active and none of ``p``'s children, the same (the baseline:
      a parent latent that misses small magnitudes misses them with or without a child);
    - ``absorption = miss_child − miss_alone``: the parent latent's misses that the child's presence adds
      (1 when it never misses alone and always misses with ``c``; 0 when a child changes nothing);
    - ``absorbed``: of the examples with ``p`` and ``c`` active, the fraction on which ``ℓ_p`` does not fire
      and some other firing latent's decoder row has cosine ≥ ``tau`` with ``p``'s direction (the miss is
      covered by a latent carrying the parent's direction: Chanin et al.'s absorbing latent);
    - ``child_parent_cos``: cosine of ``ℓ_c``'s decoder row with ``p``'s direction (``1/√2`` when the child's
      latent is the normalised sum of two orthogonal unit directions, parent + child);
      ``parent_cos``, ``child_cos``: the matched cosines of ``ℓ_p`` with ``p`` and of ``ℓ_c`` with ``c``;
    - ``n_child``, ``n_alone``: the example counts behind the two rates (a rate over no example is NaN).

    ``parents: (n_true,)`` ints, each feature's parent or −1. Children whose parent or own feature has no
    matched latent get NaN rates.
    """
    decoder, truth, Z, X, parents = _check_hierarchy(decoder, truth, Z, X, parents)
    C = dictionary_cosines(decoder, truth)
    match, on, fires = matched_latents(decoder, truth), X > 0, Z > fire
    cols = {k: [] for k in ("child", "parent", "parent_latent", "child_latent", "parent_cos", "child_cos",
                            "child_parent_cos", "n_child", "n_alone", "miss_child", "miss_alone", "absorbed")}
    for c in np.flatnonzero(parents >= 0):
        p = parents[c]
        lp, lc = match[p], match[c]
        both = on[:, p] & on[:, c]
        alone = on[:, p] & ~on[:, parents == p].any(axis=1)
        if lp < 0 or lc < 0:
            row = (c, p, lp, lc) + (np.nan,) * 3 + (both.sum(), alone.sum()) + (np.nan,) * 3
        else:
            silent = ~fires[:, lp]
            carrier = (fires & (C[p] >= tau)[None, :]).any(axis=1)  # ℓ_p is silent where it counts
            row = (c, p, lp, lc, C[p, lp], C[c, lc], C[p, lc], both.sum(), alone.sum(), _rate(silent, both),
                   _rate(silent, alone), _rate(silent & carrier, both))
        for key, value in zip(cols, row):
            cols[key].append(value)
    out = {k: np.asarray(v, np.int64 if k in ("child", "parent", "parent_latent", "child_latent", "n_child",
                                               "n_alone") else np.float64) for k, v in cols.items()}
    out["absorption"] = out["miss_child"] - out["miss_alone"]
    return out


def absorption_scores(decoder, truth, Z, X, parents, tau: float = 0.3, fire: float = 0.0) -> dict:
    """:func:`absorption_table` averaged over the children (NaN rows left out): ``absorption``, ``absorbed``,
    ``miss_child``, ``miss_alone``, and ``absorbing_latents``, the fraction of children whose latent's decoder
    row has cosine ≥ ``tau`` with the parent's direction."""
    t = absorption_table(decoder, truth, Z, X, parents, tau, fire)

    def mean(a):
        a = a[np.isfinite(a)]
        return float(a.mean()) if a.size else float("nan")

    cos = t["child_parent_cos"]
    return {"absorption": mean(t["absorption"]), "absorbed": mean(t["absorbed"]),
            "miss_child": mean(t["miss_child"]), "miss_alone": mean(t["miss_alone"]),
            "absorbing_latents": mean(np.where(np.isfinite(cos), (cos >= tau).astype(float), np.nan))}
