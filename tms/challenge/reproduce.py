"""Reproduce issue 5's diagnostics on one set of challenge-transformer weights: figures + a summary table.

``diagnose(weights, out_dir)`` runs every diagnostic on a weights file (ours, or an imported original
checkpoint) or a params dict; ``run(out_dir)`` first obtains weights (the shipped trained model, or a fresh
training run) and then diagnoses them. Outputs in ``out_dir``: ``*.png`` figures, ``summary.json`` (every
number), ``summary.md`` (our numbers beside the published ones for the original model) and CSV tables.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import jax
import numpy as np
import pandas as pd

from tms.challenge import data as D
from tms.challenge import diagnostics as Dg
from tms.challenge import directions as Dr
from tms.challenge import model as M
from tms.challenge import neurons as N
from tms.challenge import plots as P

# Published figures for the original challenge model, as quoted in issue 5 from the published solutions of
# Casper's challenge #2; the accuracies are those of the original model's labels in the shared reference file.
PUBLISHED = {
    "accuracy_full": 0.9864, "accuracy_train": 0.9970, "accuracy_test": 0.9757,
    "fixed_attention_agreement": 0.929, "fixed_attention_accuracy": 0.927,
    "and_agreement_full": 0.974, "and_agreement_fixed_attention": 0.979,
    "probe_x": 1.00, "probe_y": 0.78, "neurons_4_agreement": 0.987, "resampling_agreement": 0.94,
}

ROWS = (  # (key, description) of the markdown table
    ("accuracy_full", "accuracy, full grid"),
    ("accuracy_train", "accuracy, train half"),
    ("accuracy_test", "accuracy, test half"),
    ("fixed_attention_agreement", "fixed attention: agreement with the full model"),
    ("fixed_attention_accuracy", "fixed attention: accuracy"),
    ("and_agreement_full", "α/β AND of thresholds: agreement, full model"),
    ("and_agreement_fixed_attention", "α/β AND of thresholds: agreement, fixed attention"),
    ("probe_x", "linear probe for x from resid_mid (test accuracy)"),
    ("probe_y", "linear probe for y from resid_mid (test accuracy)"),
    ("neurons_4_agreement", "best 4 neurons: agreement"),
    ("resampling_agreement", "resampling ablation of α/β: retained agreement"),
)


AND_VARIANCE = 0.98  # the AND search runs in the top PCs holding this fraction of resid_mid's variance
WIDE = 16  # principal components of the "wide" AND search reported beside it


def n_components_for(explained, fraction: float = AND_VARIANCE) -> int:
    """Smallest number (at least 2) of leading components whose explained variance reaches ``fraction``."""
    return max(2, int(np.searchsorted(np.cumsum(explained), fraction) + 1))


def _params_of(weights):
    if isinstance(weights, (str, Path)):
        from tms.challenge import weights as W

        p = Path(weights)
        params = W.import_original(p) if p.suffix == ".pt" else W.load(p)[0]
    else:
        params = weights
    M.check_params(params)
    return {k: jax.numpy.asarray(v, jax.numpy.float32) for k, v in params.items()}


def _save(fig, path: Path) -> str:
    fig.savefig(path, dpi=110)
    return path.name


def diagnose(weights, out_dir="figures/challenge", seed: int = 0, figures: bool = True,
             history: pd.DataFrame | None = None, quick: bool = False) -> dict:
    """Run diagnostics 1-8 on ``weights`` (path to our .npz, a ``transformer_model.pt``, or a params dict).

    Returns the dict of numbers also written to ``summary.json``; ``summary.md`` holds the comparison
    table. ``seed`` seeds the AND search and the resampling draws. ``quick`` shortens the searches (AND
    fit, probes, neuron sets, resampling repeats) for smoke tests; its numbers are not the reported ones.
    """
    and_kw = dict(restarts=2, steps=60) if quick else {}
    probe_steps, max_k, repeats = (40, 3, 1) if quick else (300, 8, 3)
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = _params_of(weights)
    key = jax.random.PRNGKey(seed)
    res: dict = {}
    ref = D.load_reference()
    truth = D.label_grid().ravel()

    # 1. label maps and accuracy
    full = Dg.run_grid(params)
    acc = Dg.accuracy_table(full.pred, original=None if ref is None else ref["model_labels"])
    acc.to_csv(out / "accuracy.csv", index=False)
    a = acc.set_index("set")
    res.update(accuracy_full=a.loc["full", "accuracy"], accuracy_train=a.loc["train", "accuracy"],
               accuracy_test=a.loc["test", "accuracy"], agreement_original=a.loc["full", "agreement_original"])
    figs = {}
    if figures:
        maps = {"ground truth": Dg.as_grid(truth), "this model": Dg.as_grid(full.pred),
                "this model: errors": Dg.as_grid(full.pred != truth)}
        if ref is not None:
            maps["original model"] = ref["model_labels"]
            maps["original model: errors"] = ref["model_labels"] != ref["labels"]
            maps["disagreement with the original"] = Dg.as_grid(full.pred) != ref["model_labels"]
        figs["label_maps"] = P.label_maps_figure(maps)
        figs["logit_diff"] = P.value_map_figure({"logit[1] − logit[0]": Dg.as_grid(full.logit_diff)})

    # 2. where the errors are
    ed = Dg.error_distances(full.pred)
    summ = Dg.error_distance_summary(ed)
    summ.to_csv(out / "error_distances.csv", index=False)
    s = summ.set_index("group")
    res.update(errors_n=int(s.loc["errors", "n"]), errors_median_d_min=s.loc["errors", "median_d_min"],
               all_median_d_min=s.loc["all", "median_d_min"], errors_frac_d_min_le_2=s.loc["errors", "frac_d_min_le_2"],
               all_frac_d_min_le_2=s.loc["all", "frac_d_min_le_2"],
               errors_frac_nearest_curved=s.loc["errors", "frac_nearest_curved"],
               errors_median_d_label=s.loc["errors", "median_d_label"], all_median_d_label=s.loc["all", "median_d_label"])
    if ref is not None:
        so = Dg.error_distance_summary(Dg.error_distances(ref["model_labels"])).set_index("group")
        res.update(original_errors_median_d_min=so.loc["errors", "median_d_min"],
                   original_errors_frac_d_min_le_2=so.loc["errors", "frac_d_min_le_2"],
                   original_errors_median_d_label=so.loc["errors", "median_d_label"])
    if figures:
        figs["error_distances"] = P.error_distance_figure(ed)

    # 3. fixed attention
    fa = Dg.fixed_attention(params, full)
    ft = fa.table.iloc[0]
    res.update(fixed_attention_agreement=ft["agreement_full_model"], fixed_attention_accuracy=ft["accuracy_full"],
               attention_max_std=ft["max_pattern_std"], mean_pattern=fa.mean_pattern.round(4).tolist())
    if figures:
        figs["attention"] = P.attention_figure(fa.mean_pattern, np.asarray(full.pattern, np.float64).std(0))

    # 4. resid_mid: PCA, AND rule, probes
    pc = Dr.pca(full.resid_mid)
    res["resid_mid_pca_explained_top4"] = pc.explained[:4].round(4).tolist()
    k1, k2 = jax.random.split(key)
    # α, β are sought in the top principal components that hold AND_VARIANCE of resid_mid's variance (a
    # search over more, low-variance components fits slightly better but is not causal: see the resampling
    # of the "wide" rule below)
    k_main = n_components_for(pc.explained)
    rule = Dr.fit_and_rule(full.resid_mid, full.pred, k1, n_components=k_main, polarity="both", **and_kw)
    k_fa = n_components_for(Dr.pca(fa.run.resid_mid).explained)
    rule_fa = Dr.fit_and_rule(fa.run.resid_mid, fa.run.pred, k2, n_components=k_fa, polarity="both", **and_kw)
    rule_wide = None if quick else Dr.fit_and_rule(full.resid_mid, full.pred, jax.random.fold_in(key, 3),
                                                   n_components=WIDE, polarity="both")
    res.update(and_n_components=k_main, and_wide_n_components=WIDE,
               and_wide_agreement_full=np.nan if quick else rule_wide.agreement)
    res.update(and_agreement_full=rule.agreement, and_agreement_fixed_attention=rule_fa.agreement,
               and_full_rule_on_fixed_attention=float((Dr.and_predict(rule, fa.run.resid_mid) == fa.run.pred).mean()),
               and_accuracy_full=float((Dr.and_predict(rule, full.resid_mid) == truth).mean()),
               and_cos_alpha_beta=float(rule.directions[0] @ rule.directions[1]), and_positive=bool(rule.positive),
               and_alpha_pca_cos=np.abs(pc.components[:4] @ rule.directions[0]).round(3).tolist(),
               and_beta_pca_cos=np.abs(pc.components[:4] @ rule.directions[1]).round(3).tolist())
    tr, te = D.split()
    pairs = D.all_pairs()
    for i, name in enumerate(("x", "y")):
        pr = Dr.linear_probe(full.resid_mid, pairs[:, i], tr, te, n_classes=D.N_VALUES, steps=probe_steps)
        res[f"probe_{name}"], res[f"probe_{name}_train"] = pr.test_accuracy, pr.train_accuracy
    if figures:
        proj = np.asarray(full.resid_mid, np.float64) @ rule.directions.T
        figs["resid_mid"] = P.resid_mid_figure(pc.explained, proj, full.pred, rule.thresholds, rule.agreement)

    # 5. extended embeddings
    ext = N.extended_embeddings(params, fa.mean_pattern)

    # 6. neurons
    C = N.neuron_contributions(params, full.post)
    rest = N.direct_contribution(params, full.resid_mid)
    sub = N.neuron_subset_search(C, full.pred, rest, max_k=max_k)
    sub.table.to_csv(out / "neuron_subsets.csv", index=False)
    for _, row in sub.table.iterrows():
        res[f"neurons_{int(row['k'])}_agreement"] = row["agreement"]
        res[f"neurons_{int(row['k'])}_agreement_best_offset"] = row["agreement_best_offset"]
    k4 = min(4, max_k) - 1
    res["neurons_best_4"] = [int(n) for n in sub.neurons[k4]]
    res["neurons_4_accuracy"] = float(((C[:, sub.neurons[k4]].sum(1) + sub.table["offset"].iloc[k4] > 0) == truth).mean())
    fam = N.neuron_families(C)
    fam.to_csv(out / "neuron_families.csv", index=False)
    res["neuron_family_sizes"] = fam[fam["family"] >= 0]["family"].value_counts().sort_index().tolist()
    res["neurons_negligible"] = int((fam["family"] < 0).sum())  # RMS contribution < 1e-3 of the largest
    res["neurons_never_active"] = int((np.asarray(full.post).max(0) <= 0).sum())
    rms = fam["rms"].to_numpy()
    res["neurons_for_half_rms"] = int(np.searchsorted(np.cumsum(np.sort(rms)[::-1]) / rms.sum(), 0.5) + 1)
    if figures:
        figs["extended_embeddings"] = P.extended_embedding_figure(ext, rule.directions, rule.thresholds,
                                                                  neurons=res["neurons_best_4"])
        figs["subsets"] = P.subset_figure(sub.table)
        figs["neuron_maps"] = P.value_map_figure(
            {f"neuron {n}": Dg.as_grid(C[:, n]) for n in sub.neurons[k4]},
            suptitle="contribution to logit[1] − logit[0] of the best 4-neuron set")
        fmaps = {}
        for f in range(min(8, fam["family"].max() + 1)):
            members = fam.index[fam["family"] == f].to_numpy()
            fmaps[f"family {f} ({len(members)} neurons)"] = Dg.as_grid(C[:, members].sum(1))
        figs["neuron_families"] = P.value_map_figure(fmaps, suptitle="summed contribution of each neuron family")

    # 7. geometry
    geo = N.geometry_table(N.geometry_objects(params, ext), key_seed=seed)
    geo.to_csv(out / "geometry.csv", index=False)
    res["geometry"] = geo.round(4).to_dict(orient="records")
    if figures:
        from tms.analysis import measures as G

        objs = N.geometry_objects(params, ext)
        rng = np.random.default_rng(seed)
        dims = {}
        for name, W in objs.items():
            R = rng.normal(size=W.shape)
            R *= (np.linalg.norm(W, axis=0) / np.linalg.norm(R, axis=0))[None, :]
            dims[name], dims[f"{name}:random"] = G.feature_dimensionality(W), G.feature_dimensionality(R)
        figs["geometry"] = P.geometry_figure(dims)

    # 8. resampling ablation
    rs = Dg.resample_ablation(params, full.resid_mid, full.pred, rule, seed=seed, repeats=repeats)
    rs.to_csv(out / "resampling.csv", index=False)
    for _, row in rs.iterrows():
        res[f"resampling_{row['variant']}"] = row["agreement"]
    res["resampling_agreement"] = res["resampling_both"]
    if rule_wide is not None:
        rw = Dg.resample_ablation(params, full.resid_mid, full.pred, rule_wide, seed=seed, repeats=1)
        for _, row in rw.iterrows():
            res[f"resampling_wide_{row['variant']}"] = row["agreement"]
    if figures:
        figs["resampling"] = P.resampling_figure(rs)
        if history is not None:
            figs["training"] = P.history_figure(history)

    res["figures"] = [_save(f, out / f"{name}.png") for name, f in figs.items()]
    res["diagnose_seconds"] = round(time.perf_counter() - t0, 1)
    res = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in res.items()}
    (out / "summary.json").write_text(json.dumps(res, indent=1, default=_json_default))
    (out / "summary.md").write_text(summary_markdown(res))
    return res


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def summary_markdown(res: dict) -> str:
    """Markdown table: our model's numbers beside the published ones for the original model."""
    lines = ["| measure | this model | original model (published) |", "|---|---|---|"]
    for key, desc in ROWS:
        ours = res.get(key)
        ours_s = "n/a" if ours is None or (isinstance(ours, float) and np.isnan(ours)) else f"{100 * ours:.1f}%"
        lines.append(f"| {desc} | {ours_s} | {100 * PUBLISHED[key]:.1f}% |")
    extra = [("errors_n", "mistakes on the full grid", "{:.0f}"),
             ("errors_frac_d_min_le_2", "mistakes within 2 units of a boundary", "{:.1%}"),
             ("all_frac_d_min_le_2", "all inputs within 2 units of a boundary", "{:.1%}"),
             ("errors_frac_nearest_curved", "mistakes whose nearest boundary is curved", "{:.1%}"),
             ("original_errors_frac_d_min_le_2", "original model's mistakes within 2 units", "{:.1%}"),
             ("and_n_components", "principal components searched for α, β", "{:.0f}"),
             ("resampling_others", "resampling: other directions only", "{:.1%}"),
             ("resampling_alpha_beta", "resampling: α/β within their sides only", "{:.1%}"),
             ("resampling_random", "resampling control: a random input's resid_mid", "{:.1%}"),
             ("and_wide_agreement_full", "AND searched in 16 PCs: agreement", "{:.1%}"),
             ("resampling_wide_both", "AND searched in 16 PCs: resampling, both", "{:.1%}"),
             ("neurons_4_agreement_best_offset", "best 4 neurons, threshold re-optimised", "{:.1%}"),
             ("neurons_8_agreement", "best 8 neurons", "{:.1%}"),
             ("neurons_for_half_rms", "neurons carrying half the total RMS contribution", "{:.0f}"),
             ("neurons_never_active", "neurons never active on any input", "{:.0f}")]
    lines += ["", "| other measures of this model | value |", "|---|---|"]
    for key, desc, fmt in extra:
        v = res.get(key)
        if v is not None and not (isinstance(v, float) and np.isnan(v)):
            lines.append(f"| {desc} | {fmt.format(v)} |")
    return "\n".join(lines) + "\n"


def run(out_dir="figures/challenge", weights=None, retrain: bool = False, epochs: int | None = None,
        seed: int = 0, progress: bool = True) -> dict:
    """Obtain weights and diagnose them. ``weights``: a weights path (ours or ``.pt``); by default the shipped
    trained model, or, if there is none or ``retrain`` is set, a fresh training run (``epochs`` overrides the
    default schedule's length) whose weights and history are written to ``out_dir``."""
    from tms.challenge import weights as W

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    history = None
    t0 = time.perf_counter()
    if weights is None and not retrain:
        weights = W.shipped_weights_path()
    if weights is None:
        from tms.challenge import train as T

        tcfg = T.TrainConfig()
        if epochs is not None:
            if epochs < tcfg.log_every:
                raise ValueError(f"epochs must be >= {tcfg.log_every}; got {epochs}")
            tcfg = dataclasses.replace(tcfg, epochs=int(epochs) - int(epochs) % tcfg.log_every)
        params, history = T.train(M.Config(), tcfg, jax.random.PRNGKey(seed), progress=progress)
        weights = W.save(out / "weights.npz", params, M.Config(), meta={"epochs": tcfg.epochs, "seed": seed})
        history.to_csv(out / "history.csv", index=False)
    if history is None:  # a history saved beside the weights (the shipped model has one)
        hpath = Path(weights).with_name(Path(weights).stem + "_history.csv")
        history = pd.read_csv(hpath) if hpath.is_file() else None
    res = diagnose(weights, out, seed=seed, history=history)
    res["weights"] = str(weights)
    res["total_seconds"] = round(time.perf_counter() - t0, 1)
    (out / "summary.json").write_text(json.dumps(res, indent=1, default=_json_default))
    return res
