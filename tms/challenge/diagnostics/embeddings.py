"""Extended embeddings: under fixed attention, resid_mid is a sum of one term per input token.

Glossary: v = 113 input values, d = d_model, m = d_mlp, h = n_heads, k = key position (0: x, 1: y,
2: the "=" token). With the last query's attention frozen at its mean p̄ (h, k), the last-position
resid_mid is exactly additive:
    resid_mid(x, y) = E_x[x] + E_y[y] + c,
    E_x[t] = Σ_h p̄[h, 0] (W_E[t] + W_pos[0]) W_V[h] W_O[h],  E_y likewise with p̄[h, 1] and W_pos[1],
    c = (W_E[=] + W_pos[2]) (I + Σ_h p̄[h, 2] W_V[h] W_O[h]).
Carried through W_in, every neuron's pre-activation is N_x[x, n] + N_y[y, n] + N_c[n] (+ b_in inside N_c).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tms.challenge import model, plots
from tms.challenge.diagnostics.registry import Outcome, register
from tms.errors import TmsError


def params_float64(params) -> dict[str, np.ndarray]:
    """Checked params as float64 NumPy arrays (for exact-arithmetic analyses of the weights)."""
    model.check_params(params)
    return {k: np.asarray(v, np.float64) for k, v in params.items()}


class ExtendedEmbeddings(NamedTuple):
    x: np.ndarray  # (v, d) E_x
    y: np.ndarray  # (v, d) E_y
    const: np.ndarray  # (d,) c
    neuron_x: np.ndarray  # (v, m) E_x W_in
    neuron_y: np.ndarray  # (v, m) E_y W_in
    neuron_const: np.ndarray  # (m,) c W_in + b_in


def extended_embeddings(params, mean_pattern, n_values: int = 113, equals_token: int = 113) -> ExtendedEmbeddings:
    """Extended embeddings of the two input positions under the mean last-query pattern ``(h, 3)``."""
    p = params_float64(params)
    mp = np.asarray(mean_pattern, np.float64)
    h = p["W_Q"].shape[0]
    if mp.shape != (h, 3):
        raise TmsError(f"mean_pattern must have shape (n_heads, 3)={(h, 3)}; got {mp.shape}")
    if not 1 <= n_values <= p["W_E"].shape[0]:
        raise TmsError(f"n_values must lie in 1..{p['W_E'].shape[0]}; got {n_values}")
    OV = np.einsum("hde,hef->hdf", p["W_V"], p["W_O"])  # (h, d, d)
    vals = p["W_E"][:n_values]
    ext = []
    for pos in (0, 1):
        ov = np.einsum("h,hdf->df", mp[:, pos], OV)
        ext.append((vals + p["W_pos"][pos][None, :]) @ ov)
    eq = p["W_E"][equals_token] + p["W_pos"][2]
    const = eq + eq @ np.einsum("h,hdf->df", mp[:, 2], OV)
    return ExtendedEmbeddings(ext[0], ext[1], const, ext[0] @ p["W_in"], ext[1] @ p["W_in"],
                              const @ p["W_in"] + p["b_in"])


@register("embeddings", "RGRGRG's extended embeddings: the 4-neuron set's pre-activations split into x and y parts")
def embedding_diagnostic(dx) -> Outcome:
    figures = {}
    if dx.settings.figures:
        figures["neuron_embeddings"] = plots.neuron_embedding_figure(dx.extended, dx.best_neurons,
                                                                 list(dx.family_set.families))
    return Outcome({}, {}, figures)
