"""Shared pieces of the lab's figures: colour maps, reference lines, argument checks, labels.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colors
from matplotlib.figure import Figure

from ..errors import TmsError

# D_i = r/k of the regular polytopes the per-feature dimensionalities cluster at (Elhage et al. 2022).
POLYTOPE_LINES = ((3 / 4, "3/4 tetrahedron"), (2 / 3, "2/3 triangle"), (1 / 2, "1/2 digon"),
                  (2 / 5, "2/5 pentagon"), (3 / 8, "3/8 square antiprism"))


SUPERPOSITION_CMAP = "plasma"


IMPORTANCE_CMAP = "viridis"


def subplots(*grid, figsize, **kw):
    """``(fig, axes)`` as ``plt.subplots`` gives them, on a :class:`Figure` made without pyplot: nothing is kept in
    pyplot's list of open figures, and figures may be drawn in several threads at once (``tms reproduce all``)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **kw)


def check_index(value, size: int, field: str) -> int:
    if not isinstance(value, (int, np.integer)) or not (-size <= value < size):
        raise TmsError(f"{field} must be an integer in [0, {size}); got {value!r}")
    return int(value) % size


def importance_norm(importance: np.ndarray) -> colors.Normalize:
    lo, hi = float(np.min(importance)), float(np.max(importance))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    return colors.Normalize(lo, hi)


def sparsity_text(s: float) -> str:
    return f"S={s:.3g} (density {1 - s:.3g})"
