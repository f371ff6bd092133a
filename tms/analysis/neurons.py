"""Neurons in a privileged basis: what each hidden neuron carries, on weights alone.

Axis names: ``W: (m, n)`` input weights of one model (neuron j is the row W[j], feature i the column);
for the absolute-value model also ``W2: (n, m)`` output weights. Everything is float64 NumPy.

Per neuron (:func:`neuron_frame`): feature i's **share** of neuron j is W[j, i]² / Σ_k W[j, k]²; a neuron is
**monosemantic** when one feature holds at least ``mono_share`` (0.9) of it, **polysemantic** otherwise, and
**dead** when its weight norm is below ``dead_norm``; it **carries** the features whose share is at least
``carry_share`` (0.1). Per feature (:func:`feature_neurons`): the neurons carrying it, and whether it is
represented (column norm above ``norm_threshold``, 0.5 as for the other models).

For the absolute-value model y' = ReLU(W₂ ReLU(W₁ x) + b) (:func:`abs_census`):

- feature i's **gain** on each sign: g⁺_i = Σ_{j: W₁[j,i] > 0} W₂[i,j] W₁[j,i] and
  g⁻_i = Σ_{j: W₁[j,i] < 0} W₂[i,j] (−W₁[j,i]), the slope of y'_i in x_i > 0 and in x_i < 0 through the
  neurons reading x_i alone (interference and the bias aside); |x_i| is **computed** when both are at
  least ``gain_threshold`` (0.5);
- a **(+x, −x) pair**: a monosemantic neuron on feature i reading +x_i and one reading −x_i, both writing
  back to i (W₂[i, j] > 0): the monosemantic way to compute |x_i|;
- **asymmetric superposition** (the paper's motif): a live neuron whose two largest input weights, on features
  a and b, have opposite signs with ``min_ratio`` · |W₁[j,a]| ≤ |W₁[j,b]| ≤ ``asym`` · |W₁[j,a]| (it reads a
  strongly, b weakly; such a neuron may hold over 90% of its squared weight on a, so the label
  ``asymmetric`` takes precedence over ``monosemantic`` / ``polysemantic``) while it
  writes b at least 1/``asym`` times more than a (W₂[b,j] ≥ W₂[a,j] / asym > 0), so both gains are near one;
  the **inhibitor** is another neuron reading +x_a (W₁[k,a] > 0) that writes b negatively (W₂[b,k] < 0),
  cancelling the interference on b (−1 when none).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import TmsError
from .measures import check_range

MONO_SHARE = 0.9
CARRY_SHARE = 0.1
DEAD_NORM = 1e-3
GAIN_THRESHOLD = 0.5
ASYM = 0.5
MIN_RATIO = 0.1
LABELS = ("dead", "monosemantic", "polysemantic", "asymmetric")


def _matrix(W, name: str, shape=None) -> np.ndarray:
    a = np.asarray(W, dtype=np.float64)
    if a.ndim != 2 or (shape is not None and a.shape != shape) or not np.all(np.isfinite(a)):
        want = f"shape {shape}" if shape is not None else "a finite (m, n) matrix"
        raise TmsError(f"{name} must be {want} of finite numbers; got shape {a.shape}")
    return a


def neuron_shares(W) -> np.ndarray:
    """``(m, n)``: feature i's share W[j, i]² / ‖W[j]‖² of neuron j (0 for a zero neuron)."""
    W = _matrix(W, "W")
    sq = W * W
    total = sq.sum(axis=1, keepdims=True)
    return np.divide(sq, total, out=np.zeros_like(sq), where=total > 0)


def neuron_frame(W, *, mono_share: float = MONO_SHARE, carry_share: float = CARRY_SHARE,
                 dead_norm: float = DEAD_NORM) -> pd.DataFrame:
    """One row per neuron: ``neuron, norm, top_feature, top_weight, top_share, n_features, features, label``
    (label ``dead`` / ``monosemantic`` / ``polysemantic``)."""
    check_range("mono_share", mono_share, 0.0, 1.0, lo_open=True)
    check_range("carry_share", carry_share, 0.0, 1.0, lo_open=True)
    W = _matrix(W, "W")
    shares, norms = neuron_shares(W), np.linalg.norm(W, axis=1)
    top = np.argmax(shares, axis=1)
    rows = []
    for j in range(W.shape[0]):
        dead = norms[j] < dead_norm
        carried = () if dead else tuple(int(i) for i in np.flatnonzero(shares[j] >= carry_share))
        label = "dead" if dead else ("monosemantic" if shares[j, top[j]] >= mono_share else "polysemantic")
        rows.append({"neuron": j, "norm": norms[j], "top_feature": -1 if dead else int(top[j]),
                     "top_weight": 0.0 if dead else W[j, top[j]], "top_share": 0.0 if dead else shares[j, top[j]],
                     "n_features": len(carried), "features": carried, "label": label})
    return pd.DataFrame(rows)


def feature_neurons(W, *, carry_share: float = CARRY_SHARE, norm_threshold: float = 0.5,
                    dead_norm: float = DEAD_NORM) -> pd.DataFrame:
    """One row per feature: ``feature, norm, represented, neurons, n_neurons`` (neurons that carry it)."""
    W = _matrix(W, "W")
    frame = neuron_frame(W, carry_share=carry_share, dead_norm=dead_norm)
    norms = np.linalg.norm(W, axis=0)
    rows = []
    for i in range(W.shape[1]):
        using = tuple(int(j) for j, feats in zip(frame.neuron, frame.features) if i in feats)
        rows.append({"feature": i, "norm": norms[i], "represented": bool(norms[i] > norm_threshold),
                     "neurons": using, "n_neurons": len(using)})
    return pd.DataFrame(rows)


def monosemantic_fraction(W, **kw) -> float:
    """Share of the m neurons that are monosemantic (dead neurons count as not monosemantic)."""
    return float(np.mean(neuron_frame(W, **kw).label == "monosemantic"))


def _asymmetric(W1: np.ndarray, W2: np.ndarray, j: int, asym: float,
                min_ratio: float) -> tuple[int, int, int] | None:
    """``(strong feature a, weak feature b, inhibitor k or −1)`` when neuron j shows the motif, else None."""
    order = np.argsort(-np.abs(W1[j]))
    if len(order) < 2:
        return None
    a, b = int(order[0]), int(order[1])
    wa, wb, oa, ob = W1[j, a], W1[j, b], W2[a, j], W2[b, j]
    if wa * wb >= 0 or not min_ratio * abs(wa) <= abs(wb) <= asym * abs(wa) or oa <= 0 or ob < oa / asym:
        return None
    sign = np.sign(wa)
    inhibitors = [k for k in range(W1.shape[0]) if k != j and sign * W1[k, a] > 0 and W2[b, k] < 0]
    k = max(inhibitors, key=lambda k: -W2[b, k] * abs(W1[k, a])) if inhibitors else -1
    return a, b, int(k)


def abs_census(W1, W2, *, mono_share: float = MONO_SHARE, carry_share: float = CARRY_SHARE,
               dead_norm: float = DEAD_NORM, gain_threshold: float = GAIN_THRESHOLD,
               asym: float = ASYM, min_ratio: float = MIN_RATIO) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The absolute-value model's census: ``(neurons, features)`` frames.

    ``neurons``: :func:`neuron_frame` of ``W1`` plus ``motif_strong, motif_weak, inhibitor`` (−1 when not
    asymmetric), with label ``asymmetric`` for a live neuron that shows the motif. ``features``:
    ``feature, gain_pos, gain_neg, computed, pos_neuron, neg_neuron, pair`` (the monosemantic +x / −x
    neurons of a pair, −1 when missing).
    """
    W1 = _matrix(W1, "W1")
    m, n = W1.shape
    W2 = _matrix(W2, "W2", shape=(n, m))
    check_range("asym", asym, 0.0, 1.0, lo_open=True, hi_open=True)
    neurons = neuron_frame(W1, mono_share=mono_share, carry_share=carry_share, dead_norm=dead_norm)
    check_range("min_ratio", min_ratio, 0.0, asym, lo_open=True)
    motifs = [_asymmetric(W1, W2, j, asym, min_ratio) if label != "dead" else None
              for j, label in zip(neurons.neuron, neurons.label)]
    neurons["motif_strong"] = [t[0] if t else -1 for t in motifs]
    neurons["motif_weak"] = [t[1] if t else -1 for t in motifs]
    neurons["inhibitor"] = [t[2] if t else -1 for t in motifs]
    neurons.loc[[t is not None for t in motifs], "label"] = "asymmetric"
    path = W2.T * W1  # (m, n): neuron j's contribution W2[i, j] W1[j, i] to feature i's slope
    gain_pos = np.where(W1 > 0, path, 0.0).sum(axis=0)
    gain_neg = np.where(W1 < 0, -path, 0.0).sum(axis=0)
    mono = (neurons.top_share >= mono_share).to_numpy()
    rows = []
    for i in range(n):
        reads = mono & (neurons.top_feature.to_numpy() == i) & (W2[i] > 0)
        pos = [j for j in np.flatnonzero(reads) if W1[j, i] > 0]
        neg = [j for j in np.flatnonzero(reads) if W1[j, i] < 0]
        rows.append({"feature": i, "gain_pos": gain_pos[i], "gain_neg": gain_neg[i],
                     "computed": bool(gain_pos[i] >= gain_threshold and gain_neg[i] >= gain_threshold),
                     "pos_neuron": int(pos[0]) if pos else -1, "neg_neuron": int(neg[0]) if neg else -1,
                     "pair": bool(pos and neg)})
    return neurons, pd.DataFrame(rows)


class UnknownCensusKind(TmsError):
    """A neuron census asked of a model kind whose neurons it cannot read."""


def _hidden_relu_census(params: dict, mono_share: float = MONO_SHARE, carry_share: float = CARRY_SHARE,
                        dead_norm: float = DEAD_NORM) -> tuple[pd.DataFrame, pd.DataFrame]:
    W = _param(params, "W")
    return (neuron_frame(W, mono_share=mono_share, carry_share=carry_share, dead_norm=dead_norm),
            feature_neurons(W, carry_share=carry_share, dead_norm=dead_norm))


def _abs_census(params: dict, **kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    return abs_census(_param(params, "W1"), _param(params, "W2"), **kw)


def _param(params: dict, name: str):
    if name not in params:
        raise TmsError(f"params: the census of this kind reads {name!r}; got {sorted(params)}")
    return params[name]


CENSUS_KINDS = {"relu_hidden": _hidden_relu_census, "relu_hidden_bias": _hidden_relu_census, "abs": _abs_census}
"""The model kinds whose neurons the census reads (a hidden ReLU layer, a privileged basis), and how."""


def neuron_census(params: dict, kind: str, **kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(neurons, features)`` of one model of ``kind`` from its parameters by name (``{"W1": ..., "W2": ...}``
    for ``abs``, ``{"W": ...}`` for the hidden-ReLU kinds): :func:`abs_census`, or :func:`neuron_frame` and
    :func:`feature_neurons`; ``kw`` their thresholds. A kind without a privileged basis (the ReLU output
    model's hidden space can be rotated freely) or one the census does not know is an
    :class:`UnknownCensusKind` naming ``kind`` and the kinds it reads."""
    if kind not in CENSUS_KINDS:
        raise UnknownCensusKind(f"kind: the neuron census reads {tuple(CENSUS_KINDS)} (a hidden ReLU layer); got "
                                f"{kind!r}")
    return CENSUS_KINDS[kind](params, **kw)
