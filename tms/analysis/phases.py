"""Phases of one feature (the paper's phase diagrams): not represented, dedicated, or in superposition.

``PHASES`` is defined here once; the codes index it everywhere (theory, figures, tables): 0 not
represented, 1 dedicated (represented, superposition ≤ ``superposition_threshold``), 2 superposition.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import TmsError
from .measures import (
    as_weights,
    check_range,
    index_frame,
    norm_cutoff,
    sq_norms,
    superposition,
)

PHASES = ("not_represented", "dedicated", "superposition")


class Phase(NamedTuple):
    """Phase of one feature per model: ``code: (...)`` int (index into ``PHASES``), ``norm: (...)`` ‖W_i‖,
    ``superposition: (...)`` Σ_{j≠i} (Ŵ_i·W_j)²."""

    code: np.ndarray
    norm: np.ndarray
    superposition: np.ndarray


def phase(W, feature: int = -1, *, norm_threshold: float = 0.5, superposition_threshold: float = 0.25,
          relative: bool = False) -> Phase:
    """Phase of feature ``feature`` (default the last, the "extra" feature of the paper's n=2, m=1 and
    n=3, m=2 diagrams) of each model ``W: (..., m, n)``: 0 not represented (‖W_i‖ ≤ norm_threshold),
    1 dedicated (superposition ≤ superposition_threshold), 2 superposition. The default 0.25 = 0.5² is the
    superposition a perfectly aligned partner at the representation threshold causes; so with m = 1 (where
    every partner is aligned) phase 2 holds exactly when another feature is represented too."""
    W = as_weights(W)
    n = W.shape[-1]
    if not isinstance(feature, (int, np.integer)) or not -n <= feature < n:
        raise TmsError(f"feature must be an integer in [{-n}, {n}); got {feature!r}")
    check_range("superposition_threshold", superposition_threshold, 0.0, np.inf, hi_open=True)
    norms = np.sqrt(sq_norms(W))
    rep = (norms > norm_cutoff(norms, norm_threshold, relative))[..., feature]
    sup = superposition(W)[..., feature]
    code = np.where(rep, np.where(sup > superposition_threshold, 2, 1), 0).astype(np.int64)
    return Phase(code=code, norm=norms[..., feature], superposition=sup)


def phase_frame(W, feature: int = -1, axes=None, **kwargs) -> pd.DataFrame:
    """One row per model: index columns, norm, superposition, phase (code) and phase_name of ``feature``."""
    W = as_weights(W)
    p = phase(W, feature, **kwargs)
    df = index_frame(W.shape[:-2], axes)
    df["norm"] = p.norm.reshape(-1)
    df["superposition"] = p.superposition.reshape(-1)
    df["phase"] = p.code.reshape(-1)
    df["phase_name"] = np.asarray(PHASES, dtype=object)[p.code.reshape(-1)]
    return df
