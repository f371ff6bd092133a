"""Geometry of the transformer's weights with the lab's superposition measures (``tms.analysis``).

Token embeddings, neuron input and output directions and the extended embeddings, each as W: (d, n) with
features as columns, beside a random baseline of the same shape and column norms: do the learned matrices
look like an overcomplete frame in superposition, or like a low-dimensional code?
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tms.challenge import plots
from tms.challenge.diagnostics.embeddings import ExtendedEmbeddings, params_float64
from tms.challenge.diagnostics.registry import Outcome, register


def geometry_objects(params, ext: ExtendedEmbeddings | None = None) -> dict[str, np.ndarray]:
    """The weight matrices examined with tms.analysis, each as W: (d_model, n) with features as columns."""
    p = params_float64(params)
    objs = {
        "token_embeddings": p["W_E"].T,  # (d, d_vocab)
        "neuron_inputs": p["W_in"],  # (d, m)
        "neuron_outputs": p["W_out"].T,  # (d, m)
    }
    if ext is not None:  # centred over the 113 values: the shared part (W_pos, mean token) is no feature
        objs["extended_x"] = (ext.x - ext.x.mean(0)[None, :]).T
        objs["extended_y"] = (ext.y - ext.y.mean(0)[None, :]).T
    return objs


def geometry_table(objects: dict[str, np.ndarray], seed: int = 0, relative_threshold: float = 0.5) -> pd.DataFrame:
    """The lab's geometric measures (tms.analysis) on each W (d, n), beside a random baseline.

    The baseline ("<name>:random", :func:`random_baseline`) is a Gaussian matrix of the same shape rescaled to
    the same column norms, i.e. directions with no learned structure; ``seed`` seeds the baselines. A feature
    is "represented" when its norm exceeds ``relative_threshold`` × the largest norm. Columns: object, m, n,
    frobenius, dims_per_feature, median_norm, mean_dimensionality, median_dimensionality, mean_superposition,
    max_abs_cosine (mean over features of the largest |cos| with another feature), effective_rank,
    n_represented, census (polytope census label).
    """
    from tms import analysis

    rng = np.random.default_rng(seed)
    rows = []
    for name, W in objects.items():
        W = np.asarray(W, np.float64)
        for label, A in ((name, W), (f"{name}:random", random_baseline(W, rng))):
            norms = analysis.feature_norms(A)
            dims = analysis.feature_dimensionality(A)
            cos = np.abs(analysis.cosines(A))
            np.fill_diagonal(cos, 0.0)
            census = analysis.polytope_census(A, norm_threshold=relative_threshold, relative=True)
            rows.append({
                "object": label, "m": A.shape[0], "n": A.shape[1], "frobenius": float(analysis.frobenius_count(A)),
                "dims_per_feature": float(analysis.dims_per_feature(A)), "median_norm": float(np.median(norms)),
                "mean_dimensionality": float(dims.mean()), "median_dimensionality": float(np.median(dims)),
                "mean_superposition": float(analysis.superposition(A).mean()),
                "max_abs_cosine": float(cos.max(1).mean()), "effective_rank": effective_rank(A),
                "n_represented": int(census["n_represented"].iloc[0]), "census": census["label"].iloc[0],
            })
    return pd.DataFrame(rows)


def effective_rank(W) -> float:
    """Participation ratio (Σσ²)² / Σσ⁴ of the singular values of W (d, n): how many dimensions it uses."""
    s2 = np.linalg.svd(np.asarray(W, np.float64), compute_uv=False) ** 2
    return float(s2.sum() ** 2 / (s2**2).sum()) if s2.sum() > 0 else 0.0


def random_baseline(W, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian matrix of W's shape (d, n) rescaled to W's column norms: directions with no structure."""
    W = np.asarray(W, np.float64)
    R = rng.normal(size=W.shape)
    return R * (np.linalg.norm(W, axis=0) / np.linalg.norm(R, axis=0))[None, :]


@register("geometry", "superposition measures of the weight matrices beside random baselines")
def geometry_diagnostic(dx) -> Outcome:
    objects = geometry_objects(dx.params, dx.extended)
    table = geometry_table(objects, seed=dx.settings.seed)
    numbers = {"geometry": table.round(4).to_dict(orient="records")}
    figures = {}
    if dx.settings.figures:
        from tms.analysis import measures

        rng = np.random.default_rng(dx.settings.seed)
        dims = {}
        for name, W in objects.items():
            dims[name] = measures.feature_dimensionality(W)
            dims[f"{name}:random"] = measures.feature_dimensionality(random_baseline(W, rng))
        figures["geometry"] = plots.geometry_figure(dims)
    return Outcome(numbers, {"geometry": table}, figures)
