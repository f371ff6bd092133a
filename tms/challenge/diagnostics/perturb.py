"""H&H's perturbation test: add a vector to resid_mid and check that the α/β rule still predicts the label.

On the fixed-attention model (as published), every input's last-position resid_mid r becomes r + L·v for a
unit vector v and lengths L (published: 0 to 10). The model's new label (MLP and unembedding on r + L·v)
is compared with the rule's prediction on r + L·v (the original PC1–PC2 rule, thresholds unchanged).
Directions: ``RANDOM_DIRECTIONS`` random unit vectors (seeded; published: two), and, "along the decision
boundary", the unit vector of the PC1–PC2 plane orthogonal to α (moving along α's boundary) and the one
orthogonal to β. Published: the prediction holds for small lengths and breaks down for large ones (no
number given).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tms.challenge import plots_methods
from tms.challenge.diagnostics.directions import PCA, AndRule, and_predict
from tms.challenge.diagnostics.grid import tail_logit_diff
from tms.challenge.diagnostics.registry import Outcome, register

LENGTHS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)
RANDOM_DIRECTIONS = 2


def perturbation_directions(pc: PCA, rule: AndRule, n_random: int = RANDOM_DIRECTIONS,
                            seed: int = 0) -> dict[str, np.ndarray]:
    """Named unit vectors (d,): "random 0", ..., "along α boundary", "along β boundary"."""
    d = pc.components.shape[1]
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n_random):
        v = rng.normal(size=d)
        out[f"random {i}"] = v / np.linalg.norm(v)
    plane = pc.components[:2]
    for i, name in enumerate(("α", "β")):
        a = np.asarray(rule.directions[i]) @ plane.T  # α in plane coordinates
        along = np.array([-a[1], a[0]]) @ plane
        out[f"along {name} boundary"] = along / np.linalg.norm(along)
    return out


def perturbation_table(params, resid_mid, rule: AndRule, directions: dict[str, np.ndarray],
                       lengths=LENGTHS) -> pd.DataFrame:
    """Columns: direction, kind (random / boundary), length, rule_agreement (model label after the shift ==
    the rule's prediction after it), changed (fraction of model labels changed by the shift)."""
    r = np.asarray(resid_mid, np.float64)
    base = tail_logit_diff(params, r) > 0
    rows = []
    for name, v in directions.items():
        for L in lengths:
            shifted = r + L * np.asarray(v)[None, :]
            pred = tail_logit_diff(params, shifted) > 0
            rows.append({"direction": name, "kind": "random" if name.startswith("random") else "boundary",
                         "length": float(L), "rule_agreement": float((pred == and_predict(rule, shifted)).mean()),
                         "changed": float((pred != base).mean())})
    return pd.DataFrame(rows)


@register("perturbation", "H&H's perturbation test on the fixed-attention model: random vs along-boundary shifts "
                          "of resid_mid, the α/β rule's prediction against the model's label")
def perturbation_diagnostic(dx) -> Outcome:
    rule, pc = dx.rule_fixed_attention, dx.pca_fixed
    dirs = perturbation_directions(pc, rule, seed=dx.settings.seed)
    table = perturbation_table(dx.params, dx.fixed.run.resid_mid, rule, dirs)
    numbers = {}
    for kind in ("random", "boundary"):
        for L in (1.0, 10.0):
            sel = table[(table["kind"] == kind) & (table["length"] == L)]
            numbers[f"perturb_{kind}_L{L:g}_rule_agreement"] = float(sel["rule_agreement"].mean())
            numbers[f"perturb_{kind}_L{L:g}_changed"] = float(sel["changed"].mean())
    figures = {"perturbation": plots_methods.perturbation_figure(table)} if dx.settings.figures else {}
    return Outcome(numbers, {"perturbation": table}, figures)
