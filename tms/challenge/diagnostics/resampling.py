"""Resampling ablations of the α/β AND hypothesis: H&H's causal-scrubbing variants, by their published names.

H&H's hypothesis: the label depends only on two filters, α·r > t_α and β·r > t_β, ANDed (r = last-position
resid_mid, α and β in the plane of its first two principal components). resid_mid is written in its PCA
basis (an invertible affine map; in that plane the coordinates are the filter values f = (α·r, β·r)), some
coordinates are replaced by another input's, and the MLP and unembedding run on the result
(:func:`~.grid.tail_logit_diff`). Donors come from a permutation of the inputs concerned (each donor used
exactly once), as H&H's notebook shuffles the batch. The steps (``STEPS``):

- ``[1]``: every direction outside the PC1–PC2 plane (the 126 others) from one donor;
- ``[1*]``: every direction outside PC1–PC3 from one donor (the 3rd component kept);
- ``[2]``: α permuted among the inputs on the same side of t_α, β likewise;
- ``[3a]``: α permuted among the inputs where β is FALSE; ``[3b]``: β among those where α is FALSE.

``VARIANTS`` composes them, each named by its composition: every step alone; [2], [3a], [3b] and
[2]+[3a], [2]+[3b] on top of [1] (the write-up's "individually and together": [2], [3a], [3b] act inside
the two filter directions, so in its notebook they run after [1]); and all together, [1], [2], [3a], [3b] in
turn (the filters recomputed before [3b]).

Three metrics per variant: *agreement_full* (labels identical to the full model's: H&H's "fraction of labels
identical to clean full model", which their notebook uses for the fixed-attention model too),
*agreement_clean* (with the unablated labels of the same model) and *accuracy* (against the ground truth).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tms.challenge import plots_methods
from tms.challenge.diagnostics.directions import PCA, AndRule
from tms.challenge.diagnostics.grid import tail_logit_diff
from tms.challenge.diagnostics.registry import Outcome, register
from tms.errors import TmsError


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


def permute_within(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Donor index of every input: inside ``mask`` a random permutation of the masked indices (each donor used
    exactly once, H&H's batch shuffle), outside it the input itself."""
    donors = np.arange(len(mask))
    idx = np.flatnonzero(mask)
    donors[idx] = idx[rng.permutation(len(idx))]
    return donors


def _step(name: str, f: np.ndarray, rest: np.ndarray, t: np.ndarray, rng: np.random.Generator):
    """One of H&H's resample-ablations, applied in place. Masks are read from the current filter values."""
    everyone = np.ones(len(f), bool)
    if name == "[1]":
        rest[:] = rest[permute_within(everyone, rng)]
    elif name == "[1*]":
        rest[:, 1:] = rest[permute_within(everyone, rng), 1:]
    elif name == "[2]":
        for i in (0, 1):
            side = f[:, i] > t[i]
            for group in (side, ~side):
                f[:, i] = f[permute_within(group, rng), i]
    elif name in ("[3a]", "[3b]"):
        which = 0 if name == "[3a]" else 1
        other_false = f[:, 1 - which] <= t[1 - which]
        f[:, which] = f[permute_within(other_false, rng), which]
    else:
        raise TmsError(f"resampling step must be one of {STEPS}; got {name!r}")


STEPS = ("[1]", "[1*]", "[2]", "[3a]", "[3b]")

# name -> (composition, the steps in order). H&H's notebook runs [2], [3a], [3b] on top of [1] and the
# "all possible" set as [1], [2], [3a], then [3b] with α recomputed (masks are always read from the
# current values here, which is the same thing).
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "[1]": ("alone", ("[1]",)),
    "[1*]": ("alone", ("[1*]",)),
    "[2]": ("alone", ("[2]",)),
    "[3a]": ("alone", ("[3a]",)),
    "[3b]": ("alone", ("[3b]",)),
    "[1]+[2]": ("on top of [1]", ("[1]", "[2]")),
    "[1]+[3a]": ("on top of [1]", ("[1]", "[3a]")),
    "[1]+[3b]": ("on top of [1]", ("[1]", "[3b]")),
    "[1]+[2]+[3a]": ("on top of [1]", ("[1]", "[2]", "[3a]")),
    "[1]+[2]+[3b]": ("on top of [1]", ("[1]", "[2]", "[3b]")),
    "all": ("all together", ("[1]", "[2]", "[3a]", "[3b]")),
}


def ablate(variant: str, f, rest, t, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(f, rest) after the steps of ``variant`` (copies; the inputs are untouched)."""
    f, rest = np.array(f, np.float64), np.array(rest, np.float64)
    for name in VARIANTS[variant][1]:
        _step(name, f, rest, np.asarray(t, np.float64), rng)
    return f, rest


def variant_seed(seed: int, variant: str, repeat: int) -> list[int]:
    """The NumPy seed sequence of one permutation draw: (seed, index of the variant in VARIANTS, repeat)."""
    return [int(seed), list(VARIANTS).index(variant), int(repeat)]


def resample_ablation(params, resid_mid, pc: PCA, rule: AndRule, truth, full_labels=None, seed: int = 0,
                      repeats: int = 5, variants=tuple(VARIANTS)) -> pd.DataFrame:
    """Each resampling variant on (N, d) ``resid_mid`` with the PC basis ``pc`` and the PC1–PC2 ``rule``.

    Columns: variant, composition (alone / on top of [1] / all together), repeats, seed, and the mean and
    standard deviation over ``repeats`` permutation draws of: agreement_full (labels identical to
    ``full_labels``, the full model's: H&H's measure, also for the fixed-attention model), agreement_clean
    (with the unablated labels of this resid_mid), accuracy (against ``truth``). Draw r of a variant uses
    ``numpy.random.default_rng(variant_seed(seed, variant, r))``."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise TmsError(f"variants must be among {list(VARIANTS)}; got {unknown}")
    basis = Basis(pc, rule)
    f, rest = basis.split(resid_mid)
    clean = tail_logit_diff(params, resid_mid) > 0
    full = clean if full_labels is None else np.asarray(full_labels).reshape(-1).astype(bool)
    truth = np.asarray(truth).reshape(-1).astype(bool)
    t = np.asarray(rule.thresholds, np.float64)
    refs = {"agreement_full": full, "agreement_clean": clean, "accuracy": truth}
    rows = [{"variant": "clean", "composition": "none", "repeats": 0, "seed": seed,
             **{k: float((clean == v).mean()) for k, v in refs.items()}, **{f"{k}_std": 0.0 for k in refs}}]
    for name in variants:
        scores = {k: [] for k in refs}
        for r in range(repeats):
            rng = np.random.default_rng(variant_seed(seed, name, r))
            pred = tail_logit_diff(params, basis.join(*ablate(name, f, rest, t, rng))) > 0
            for k, v in refs.items():
                scores[k].append(float((pred == v).mean()))
        row = {"variant": name, "composition": VARIANTS[name][0], "repeats": repeats, "seed": seed}
        for k, vals in scores.items():
            row[k], row[f"{k}_std"] = float(np.mean(vals)), float(np.std(vals))
        rows.append(row)
    return pd.DataFrame(rows)


def variant_key(variant: str) -> str:
    """Summary-key form of a variant name: "[1]+[2]" -> "1_2", "[1*]" -> "1star"."""
    return variant.replace("*", "star").replace("[", "").replace("]", "").replace("+", "_")


@register("resampling", "H&H's resampling ablations [1], [1*], [2], [3a], [3b] alone, on top of [1] and all "
                        "together (permutation donors), on the full and the fixed-attention model")
def resampling_diagnostic(dx) -> Outcome:
    """dx: the shared :class:`~.context.Diagnosis`."""
    seed, reps = dx.settings.seed, dx.settings.resampling_repeats
    tables, numbers = [], {}
    for model, run, pc, rule in (("full", dx.full, dx.pca, dx.rule),
                                 ("fixed_attention", dx.fixed.run, dx.pca_fixed, dx.rule_fixed_attention)):
        tab = resample_ablation(dx.params, run.resid_mid, pc, rule, dx.truth, full_labels=dx.full.pred,
                                seed=seed, repeats=reps)
        tab.insert(0, "model", model)
        tables.append(tab)
        for _, row in tab[tab["variant"] != "clean"].iterrows():
            key = f"resampling_{model}_{variant_key(row['variant'])}"
            for metric in ("agreement_full", "agreement_clean", "accuracy"):
                numbers[f"{key}_{metric}"] = row[metric]
                numbers[f"{key}_{metric}_std"] = row[f"{metric}_std"]
    numbers["resampling_repeats"], numbers["resampling_seed"] = reps, seed
    table = pd.concat(tables, ignore_index=True)
    figures = {"resampling": plots_methods.resampling_figure(table)} if dx.settings.figures else {}
    return Outcome(numbers, {"resampling": table}, figures)
