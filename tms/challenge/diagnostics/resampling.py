"""Resampling ablations of the α/β AND hypothesis: H&H's causal-scrubbing variants, by their published names.

H&H's hypothesis: the label depends only on two filters, α·r > t_α and β·r > t_β, ANDed (r = last-position
resid_mid, α and β in the plane of its first two principal components). resid_mid is written in its PCA
basis (an invertible affine map; in that plane the coordinates are the filter values f = (α·r, β·r)), some
coordinates are replaced by another input's, and the MLP and unembedding run on the result
(:func:`~.grid.tail_logit_diff`). Variants (``VARIANTS``; donors drawn uniformly, with replacement, per
input):

- ``[1]``: every direction outside the PC1–PC2 plane (the 126 others) from one random input;
- ``[1*]``: every direction outside PC1–PC3 from one random input (the 3rd component kept);
- ``[2]``: α from a random input on the same side of t_α, β likewise (independent donors);
- ``[3a]``: where β is FALSE, α from any random input; ``[3b]``: where α is FALSE, β from any random input;
- ``all``: [1], [2], [3a], [3b] in turn, the filter values recomputed before [3b] (H&H's note).

Two metrics per variant: *agreement* (labels identical to the clean model's, H&H's "performance" in their
summary: 94% for the full model with all ablations together) and *accuracy* (against the ground truth,
the measure of H&H's result tables; maxima 98.6% full, 92.7% fixed attention for the original).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tms.challenge import plots_methods as PM
from tms.challenge.diagnostics.directions import PCA, AndRule
from tms.challenge.diagnostics.grid import tail_logit_diff
from tms.challenge.diagnostics.registry import Outcome, register

from ...errors import TmsError

if TYPE_CHECKING:
    from tms.challenge.diagnostics.context import Diagnosis


class Basis:
    """resid_mid in PCA coordinates with the PC1–PC2 plane spanned by the filter values f = (α·r, β·r).

    ``split(r)`` -> (f (N, 2), rest (N, d − 2): coordinates on PC3, PC4, ...); ``join(f, rest)`` inverts it.
    Requires α and β to lie in the PC1–PC2 plane (the published rule) and to be independent there.
    """

    def __init__(self, pc: PCA, rule: AndRule):
        self.mu, self.V = pc.mean, pc.components  # (d,), (K, d)
        self.B = np.asarray(rule.directions, np.float64)  # (2, d)
        inplane = self.B @ self.V[:2].T @ self.V[:2]
        if not np.allclose(inplane, self.B, atol=1e-6):
            raise TmsError("the rule's directions must lie in the plane of the first two principal components")
        self.A = self.B @ self.V[:2].T  # (2, 2): f = B·μ + A z12
        if abs(np.linalg.det(self.A)) < 1e-9:
            raise TmsError("α and β must be independent in the PC1–PC2 plane")

    def split(self, r) -> tuple[np.ndarray, np.ndarray]:
        z = (np.asarray(r, np.float64) - self.mu) @ self.V.T
        return self.B @ self.mu + z[:, :2] @ self.A.T, z[:, 2:]

    def join(self, f, rest) -> np.ndarray:
        z12 = (np.asarray(f) - self.B @ self.mu) @ np.linalg.inv(self.A).T
        return self.mu + z12 @ self.V[:2] + np.asarray(rest) @ self.V[2:]


def _within(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each i, a random index j with groups[j] == groups[i]."""
    out = np.empty(len(groups), np.int64)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        out[idx] = rng.choice(idx, size=len(idx), replace=True)
    return out


def _v1(f, rest, t, rng, keep=0):
    rest = rest.copy()
    rest[:, keep:] = rest[rng.integers(0, len(f), len(f)), keep:]
    return f, rest


def _v2(f, rest, t, rng):
    f = f.copy()
    for i in (0, 1):
        f[:, i] = f[_within(f[:, i] > t[i], rng), i]
    return f, rest


def _v3(f, rest, t, rng, which: int):
    """[3a] (which = 0): α resampled from any input where β is FALSE; [3b] (which = 1) the converse."""
    f = f.copy()
    where = f[:, 1 - which] <= t[1 - which]
    f[where, which] = f[rng.integers(0, len(f), int(where.sum())), which]
    return f, rest


VARIANTS: dict[str, Callable] = {
    "[1]": lambda f, r, t, g: _v1(f, r, t, g, keep=0),
    "[1*]": lambda f, r, t, g: _v1(f, r, t, g, keep=1),
    "[2]": _v2,
    "[3a]": lambda f, r, t, g: _v3(f, r, t, g, 0),
    "[3b]": lambda f, r, t, g: _v3(f, r, t, g, 1),
    "all": lambda f, r, t, g: _v3(*_v3(*_v2(*_v1(f, r, t, g), t, g), t, g, 0), t, g, 1),
}


def resample_ablation(params, resid_mid, pc: PCA, rule: AndRule, truth, seed: int = 0, repeats: int = 3,
                      variants=tuple(VARIANTS)) -> pd.DataFrame:
    """Each published resampling variant on (N, d) ``resid_mid`` with the PC basis ``pc`` and the PC1–PC2
    ``rule``. Columns: variant, agreement (with the clean labels: the tail of the unmodified resid_mid),
    agreement_std, accuracy (against ``truth``), accuracy_std; ``repeats`` draws each, one NumPy
    generator seeded with ``seed`` shared in the order of ``variants``."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise TmsError(f"variants must be among {list(VARIANTS)}; got {unknown}")
    basis = Basis(pc, rule)
    f, rest = basis.split(resid_mid)
    clean = tail_logit_diff(params, resid_mid) > 0
    truth = np.asarray(truth).reshape(-1).astype(bool)
    t = np.asarray(rule.thresholds, np.float64)
    rng = np.random.default_rng(seed)
    rows = [{"variant": "clean", "agreement": 1.0, "agreement_std": 0.0, "accuracy": float((clean == truth).mean()),
             "accuracy_std": 0.0}]
    for name in variants:
        agree, acc = [], []
        for _ in range(repeats):
            pred = tail_logit_diff(params, basis.join(*VARIANTS[name](f, rest, t, rng))) > 0
            agree.append(float((pred == clean).mean()))
            acc.append(float((pred == truth).mean()))
        rows.append({"variant": name, "agreement": float(np.mean(agree)), "agreement_std": float(np.std(agree)),
                     "accuracy": float(np.mean(acc)), "accuracy_std": float(np.std(acc))})
    return pd.DataFrame(rows)


KEYS = {"[1]": "1", "[1*]": "1star", "[2]": "2", "[3a]": "3a", "[3b]": "3b", "all": "all"}


@register("resampling", "H&H's resampling ablations [1], [1*], [2], [3a], [3b] and all together, on the full and "
                        "the fixed-attention model")
def resampling_diagnostic(dx: Diagnosis) -> Outcome:
    seed, reps = dx.settings.seed, dx.settings.resampling_repeats
    tables, numbers = [], {}
    for model, run, pc, rule in (("full", dx.full, dx.pca, dx.rule),
                                 ("fixed_attention", dx.fixed.run, dx.pca_fixed, dx.rule_fixed_attention)):
        tab = resample_ablation(dx.params, run.resid_mid, pc, rule, dx.truth, seed=seed, repeats=reps)
        tab.insert(0, "model", model)
        tables.append(tab)
        for _, row in tab.iterrows():
            if row["variant"] in KEYS:
                key = f"resampling_{model}_{KEYS[row['variant']]}"
                numbers[f"{key}_agreement"], numbers[f"{key}_accuracy"] = row["agreement"], row["accuracy"]
    table = pd.concat(tables, ignore_index=True)
    figures = {"resampling": PM.resampling_figure(table)} if dx.settings.figures else {}
    return Outcome(numbers, {"resampling": table}, figures)
