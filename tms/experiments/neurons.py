"""Neurons in a privileged basis and computation in superposition (Elhage et al. 2022): ``tms reproduce
privileged`` and ``tms reproduce computation``.

The models train through the engine (:func:`tms.engine.make_train_cells`, one compiled call per setting, every
density a cell, the lowest-loss of ``restarts`` kept); the sweep store holds the tied kinds' ``W`` and ``b``
only, so these settings are written here as :class:`Setting` records rather than sweep files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..analysis.neurons import abs_census, feature_neurons, neuron_frame
from ..engine.config import StaticConfig, hparams
from ..engine.train import make_train_cells
from ..io import save_figure
from ..plots.neurons import abs_units_figure, asymmetric_figure, monosemantic_figure, neuron_bars_figure
from .registry import Context, register

PRIVILEGED_DENSITIES = (1.0, 0.75, 0.35, 0.15, 0.1, 0.06, 0.02, 0.01)
COMPUTATION_DENSITIES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)


@dataclass(frozen=True)
class Setting:
    """One trained set of models: a kind at ``n`` features, ``m`` neurons, importance ``decay**i``, one model
    per density (the best of ``restarts``), Adam at ``lr`` for ``steps`` steps of ``batch`` examples."""

    kind: str
    n: int
    m: int
    decay: float
    densities: tuple[float, ...]
    steps: int = 5000
    batch: int = 1024
    restarts: int = 4
    lr: float = 1e-3
    seed: int = 0

    def quick(self) -> Setting:
        return replace(self, steps=min(self.steps, 300), restarts=1)

    @property
    def importance(self) -> np.ndarray:
        return self.decay ** np.arange(self.n)


SETTINGS = {
    "privileged": Setting("relu_hidden", 10, 5, 0.75, PRIVILEGED_DENSITIES, steps=3000),
    "privileged_bias": Setting("relu_hidden_bias", 10, 5, 0.75, PRIVILEGED_DENSITIES, steps=3000),
    "privileged_relu_output": Setting("relu", 10, 5, 0.75, PRIVILEGED_DENSITIES, steps=3000),
    "abs_baseline": Setting("abs", 3, 6, 1.0, (1.0,), steps=3000),
    "abs_sweep": Setting("abs", 100, 40, 0.8, COMPUTATION_DENSITIES, steps=3000, batch=256, restarts=1),
    "abs_asymmetric": Setting("abs", 20, 10, 0.8, (0.5,), steps=3000),
}


def train_setting(s: Setting):
    """``(params with a leading density axis (NumPy), final losses (densities,))``."""
    static = StaticConfig(n_features=s.n, n_hidden=s.m, kind=s.kind, batch_size=s.batch, steps=s.steps,
                          restarts=s.restarts, eval_batch=8192)
    cells = [hparams(static, sparsity=1.0 - d, importance=s.importance, lr=s.lr) for d in s.densities]
    hp = jax.tree.map(lambda *a: jnp.stack(a), *cells)
    out = jax.jit(make_train_cells(static))(hp, jax.random.PRNGKey(s.seed))
    return jax.tree.map(np.asarray, out.params), np.asarray(out.final_loss)


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


@register("privileged", (), "n=10, m=5 hidden-ReLU neurons across density: mono- and polysemantic neurons")
def privileged(ctx: Context):
    pick = (lambda s: s.quick()) if ctx.quick else (lambda s: s)
    runs = {k: train_setting(pick(SETTINGS[k])) for k in ("privileged", "privileged_bias", "privileged_relu_output")}
    dens = SETTINGS["privileged"].densities
    table = privileged_table(runs["privileged"][0].W, runs["privileged_relu_output"][0].W, dens)
    biased = runs["privileged_bias"][0]
    files = [save_figure(neuron_bars_figure(runs["privileged"][0].W, dens), ctx.out / f"privileged_neurons.{ctx.fmt}"),
             save_figure(neuron_bars_figure(biased.W, dens, "With a hidden bias (relu_hidden_bias)"),
                         ctx.out / f"privileged_neurons_bias.{ctx.fmt}"),
             save_figure(monosemantic_figure(table), ctx.out / f"privileged_monosemantic.{ctx.fmt}")]
    numbers = {"table": table.round(3).to_dict(orient="list"),
               "hidden_bias_mean": [round(float(v), 3) for v in biased.b_hidden.mean(axis=1)],
               "hidden_bias_positive_share": [round(float(v), 3) for v in (biased.b_hidden > 0).mean(axis=1)],
               "restarts": SETTINGS["privileged"].restarts if not ctx.quick else 1}
    return files, numbers


def computation_numbers(baseline, sweep, asym) -> dict:
    """The census's numbers for the three absolute-value settings (params with a leading density axis)."""
    _, base_f = abs_census(baseline.W1[0], baseline.W2[0])
    sweep_rows = []
    for d, W1, W2 in zip(SETTINGS["abs_sweep"].densities, sweep.W1, sweep.W2):
        neurons, features = abs_census(W1, W2)
        sweep_rows.append({"density": d, "computed": int(features.computed.sum()),
                           "monosemantic_neurons": int((neurons.label == "monosemantic").sum()),
                           "asymmetric_neurons": int((neurons.label == "asymmetric").sum()),
                           "dead_neurons": int((neurons.label == "dead").sum())})
    neurons, features = abs_census(asym.W1[0], asym.W2[0])
    motif = neurons[neurons.label == "asymmetric"]
    return {"baseline_pairs": int(base_f.pair.sum()), "baseline_computed": int(base_f.computed.sum()),
            "sweep": pd.DataFrame(sweep_rows).to_dict(orient="list"),
            "asymmetric_neurons": motif[["neuron", "motif_strong", "motif_weak", "inhibitor"]].to_dict(orient="list"),
            "asymmetric_computed": int(features.computed.sum())}


@register("computation", (), "|x| in superposition: (+x, -x) pairs, n=100, m=40 across density, the asymmetric motif")
def computation(ctx: Context):
    pick = (lambda s: s.quick()) if ctx.quick else (lambda s: s)
    base, sweep, asym = (train_setting(pick(SETTINGS[k]))[0] for k in ("abs_baseline", "abs_sweep", "abs_asymmetric"))
    numbers = computation_numbers(base, sweep, asym)
    s = SETTINGS["abs_sweep"]
    files = [save_figure(abs_units_figure(sweep.W1, s.densities, s.importance),
                         ctx.out / f"computation_units.{ctx.fmt}"),
             save_figure(abs_units_figure(base.W1, (1.0,), np.ones(3)), ctx.out / f"computation_baseline.{ctx.fmt}")]
    motif = numbers["asymmetric_neurons"]
    if motif["neuron"]:
        j = 0
        fig = asymmetric_figure(asym.W1[0], asym.W2[0], motif["neuron"][j], motif["motif_strong"][j],
                                motif["motif_weak"][j], motif["inhibitor"][j])
        files.append(save_figure(fig, ctx.out / f"computation_asymmetric.{ctx.fmt}"))
    return files, numbers
