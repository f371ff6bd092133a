"""Neurons in a privileged basis and computation in superposition (Elhage et al. 2022): ``tms reproduce
privileged`` and ``tms reproduce computation``.

Every setting is a shipped sweep file (``sweeps/privileged*.toml``, ``sweeps/computation_*.toml``): one cell
per density, the lowest-loss of the file's restarts kept, trained and stored by ``tms sweep run`` like any
other sweep (the store holds each model kind's own parameters: ``W1``, ``W2``, ``b`` for ``abs``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.neurons import abs_census, feature_neurons, neuron_frame
from ..io import save_figure
from ..plots.neurons import abs_units_figure, asymmetric_figure, monosemantic_figure, neuron_bars_figure
from ..runs.results import Results, best_params
from .registry import Context, register

PRIVILEGED = ("privileged", "privileged_bias", "privileged_relu_output")
COMPUTATION = ("computation_baseline", "computation_sweep", "computation_asymmetric")


def density_params(res: Results) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``(params, densities)`` of a one-importance sweep: each parameter with a leading density axis (the
    lowest-loss model over lr and seed; :func:`tms.runs.results.best_params`), float64. Densities are
    rounded to 10 decimals (1 − (1 − 0.01) is 0.010000000000000009 in float64)."""
    params, _ = best_params(res)
    return {name: a[:, 0] for name, a in params.items()}, np.round(res.density, 10)


NEURON_FIGURES = {
    "relu_hidden": lambda params, dens, importance: neuron_bars_figure(params["W"], dens),
    "relu_hidden_bias": lambda params, dens, importance: neuron_bars_figure(params["W"], dens),
    "abs": lambda params, dens, importance: abs_units_figure(params["W1"], dens, importance),
}
"""The neuron figure of each model kind with a privileged basis (``tms plot`` of a sweep of that kind)."""


def neuron_figures(res: Results, out, fmt: str = "png") -> list:
    """``[neurons.FMT]`` for a grid of a kind in :data:`NEURON_FIGURES` (its first importance setting, the
    lowest-loss model over lr and seed per density), else ``[]``."""
    draw = NEURON_FIGURES.get(res.static.kind)
    if draw is None:
        return []
    params, dens = density_params(res)
    return [save_figure(draw(params, dens, res.grid.importance[0]), out / f"neurons.{fmt}")]


def privileged_table(W, W_relu, densities) -> pd.DataFrame:
    """Per density: monosemantic share, features represented (hidden-ReLU and ReLU-output models), mean
    features per live neuron. ``W, W_relu: (densities, m, n)``."""
    rows = []
    for d, Wd, Wr in zip(densities, W, W_relu):
        neurons = neuron_frame(Wd)
        live = neurons[neurons.label != "dead"]
        rows.append({"density": d, "monosemantic_fraction": float(np.mean(neurons.label == "monosemantic")),
                     "features_represented": int(feature_neurons(Wd).represented.sum()),
                     "relu_output_represented": int(feature_neurons(Wr).represented.sum()),
                     "features_per_neuron": float(live.n_features.mean()) if len(live) else 0.0,
                     "top5_monosemantic": int(((neurons.label == "monosemantic") & (neurons.top_feature < 5)).sum())})
    return pd.DataFrame(rows)


@register("privileged", PRIVILEGED, "n=10, m=5 hidden-ReLU neurons across density: mono- and polysemantic neurons")
def privileged(ctx: Context):
    (hidden, dens), (biased, _), (output, _) = (density_params(ctx.results[k]) for k in PRIVILEGED)
    table = privileged_table(hidden["W"], output["W"], dens)
    files = [save_figure(neuron_bars_figure(hidden["W"], dens), ctx.out / f"privileged_neurons.{ctx.fmt}"),
             save_figure(neuron_bars_figure(biased["W"], dens, "With a hidden bias (relu_hidden_bias)"),
                         ctx.out / f"privileged_neurons_bias.{ctx.fmt}"),
             save_figure(monosemantic_figure(table), ctx.out / f"privileged_monosemantic.{ctx.fmt}")]
    numbers = {"table": table.round(3).to_dict(orient="list"),
               "hidden_bias_mean": [round(float(v), 3) for v in biased["b_hidden"].mean(axis=1)],
               "hidden_bias_positive_share": [round(float(v), 3) for v in (biased["b_hidden"] > 0).mean(axis=1)],
               "restarts": ctx.results["privileged"].static.restarts}
    return files, numbers


def computation_numbers(baseline: dict, sweep: dict, densities, asym: dict, asym_densities=(0.5,)) -> dict:
    """The census's numbers for the three absolute-value settings (params with a leading density axis; the
    sweep's at ``densities``, the asymmetric setting's at ``asym_densities``). ``asymmetric_neurons``: the motif
    neurons of the asymmetric setting at ``asymmetric_density``, its highest density where the census finds one
    (None when it finds none)."""
    _, base_f = abs_census(baseline["W1"][0], baseline["W2"][0])

    def rows(dens, params):
        out, motifs = [], []
        for d, W1, W2 in zip(dens, params["W1"], params["W2"]):
            neurons, features = abs_census(W1, W2)
            motifs.append(neurons[neurons.label == "asymmetric"])
            out.append({"density": float(d), "computed": int(features.computed.sum()),
                        "monosemantic_neurons": int((neurons.label == "monosemantic").sum()),
                        "asymmetric_neurons": int((neurons.label == "asymmetric").sum()),
                        "dead_neurons": int((neurons.label == "dead").sum())})
        return pd.DataFrame(out).to_dict(orient="list"), motifs

    sweep_rows, _ = rows(densities, sweep)
    asym_rows, motifs = rows(asym_densities, asym)
    found = next((k for k, m in enumerate(motifs) if len(m)), None)
    motif = motifs[0] if found is None else motifs[found]
    return {"baseline_pairs": int(base_f.pair.sum()), "baseline_computed": int(base_f.computed.sum()),
            "sweep": sweep_rows, "asymmetric": asym_rows,
            "asymmetric_density": None if found is None else float(asym_densities[found]),
            "asymmetric_neurons": motif[["neuron", "motif_strong", "motif_weak", "inhibitor"]].to_dict(orient="list")}


@register("computation", COMPUTATION,
          "|x| in superposition: (+x, -x) pairs, n=100, m=40 across density, the asymmetric motif")
def computation(ctx: Context):
    (base, _), (sweep, dens), (asym, asym_dens) = (density_params(ctx.results[k]) for k in COMPUTATION)
    numbers = computation_numbers(base, sweep, dens, asym, asym_dens)
    importance = ctx.results["computation_sweep"].grid.importance[0]
    n_base = ctx.results["computation_baseline"].static.n_features
    files = [save_figure(abs_units_figure(sweep["W1"], dens, importance), ctx.out / f"computation_units.{ctx.fmt}"),
             save_figure(abs_units_figure(base["W1"], (1.0,), np.ones(n_base)),
                         ctx.out / f"computation_baseline.{ctx.fmt}")]
    motif = numbers["asymmetric_neurons"]
    if motif["neuron"]:
        k = list(asym_dens).index(numbers["asymmetric_density"])
        fig = asymmetric_figure(asym["W1"][k], asym["W2"][k], motif["neuron"][0], motif["motif_strong"][0],
                                motif["motif_weak"][0], motif["inhibitor"][0],
                                f"n = {asym['W1'].shape[2]}, m = {asym['W1'].shape[1]}, density {asym_dens[k]:g}")
        files.append(save_figure(fig, ctx.out / f"computation_asymmetric.{ctx.fmt}"))
    return files, numbers
