"""Sparse autoencoders against ground truth (``tms reproduce sae``).

- :func:`sae_sweep`: the Python API of an SAE sweep: every architecture × dictionary size × sparsity knob ×
  seed on one activation source, trained with one compiled call per (architecture, size), scored against the
  truth into one tidy frame (a row per SAE).
- The experiment: the pentagon (n = 5 features in m = 2, the toy model's solution drawn exactly, sparsity
  0.9), the Sharkey et al. sweep at reduced size (:data:`REDUCED`; :data:`FULL` is the 512-feature setting, run
  with ``sae_sweep(**FULL)``, outside ``reproduce all``), dead latents over training with and without
  resampling, the L0–FVU frontier, and feature absorption on hierarchical features
  (:func:`tms.experiments.sae_absorption.absorption_study`).
"""

from __future__ import annotations

import time

import jax
import numpy as np
import pandas as pd

from ..analysis import dictionary
from ..engine.sae import (
    SaeConfig,
    SaeError,
    encode_many,
    get_arch,
    init_sae,
    pentagon,
    sae_hparams,
    source_parents,
    synthetic_source,
    toy_model_source,
    train_sae_sizes,
)
from ..io import save_figure, write_json
from ..plots.sae import (
    absorption_figure,
    dead_latents_figure,
    frontier_figure,
    mmcs_heatmap_figure,
    pentagon_figure,
)
from ..runs.kinds.sae import call_seconds, make_source
from ..runs.progress import WorkBar
from ..runs.side_by_side import each
from .registry import Context, register
from .sae_absorption import QUICK as ABSORPTION_QUICK
from .sae_absorption import absorption_numbers, absorption_study
from .sae_signs import signs_figures

ARCHS = ("relu", "topk", "batchtopk", "jumprelu", "gated")
PENALTIES = {  # α = 10^(j/4) over the range where the SAEs are neither dead nor dense on these sources
    arch: 10.0 ** (np.arange(-12, -1) / 4) for arch in ("relu", "gated", "jumprelu")}
KS = (1, 2, 3, 4, 6, 8)
# The pentagon study reaches further up: at 2x its size ReLU recovers the five directions only from α ≈ 0.3, Gated
# from α ≈ 1 (measured with this range, docs/sae.md); above α ≈ 3 the latents die.
PENTAGON_PENALTIES = {arch: 10.0 ** (np.arange(-12, 7) / 4) for arch in ("relu", "gated", "jumprelu")}
# BatchTopK's k is an average per example, so it goes below 1, down to half the pentagon's true L0 (0.5); TopK's is a
# per-example count.
PENTAGON_KS = {"topk": (1, 2, 3, 4), "batchtopk": (0.25, 0.5, 0.75, 1, 2, 3, 4)}
# JumpReLU starts its thresholds at θ₀ = 0.1 with a rectangle kernel ε = 0.1 wide, a tenth of the largest feature
# magnitude (1) of these sources. At the paper's θ₀ = ε = 0.001 (Rajamanoharan et al.: inputs of unit mean squared
# norm, hundreds of thousands of steps) the thresholds cannot get far in a few thousand steps: Adam moves
# log θ by about lr per step, so 3,000 steps at lr 1e-3 take θ at most ×20, and only pre-activations within ε of θ
# pull it at all; measured, θ went from 0.001 to 0.0016 and the MMCS stayed at its initial 0.48 (docs/sae.md).
JUMPRELU = {"bandwidth": 0.1, "init_threshold": 0.1}
SYNTHETIC_CONFIG = {"jumprelu": JUMPRELU}
# On the pentagon, JumpReLU also resamples dead latents (ARENA's advanced rule, every 2,500 steps): without it one
# seed in three kept a direction without a latent at every penalty (docs/sae.md).
PENTAGON_CONFIG = {"jumprelu": {**JUMPRELU, "resample": "advanced"}}

REDUCED = {"n_true": 64, "d_in": 32, "mean_active": 2.5, "ratios": (0.5, 1.0, 2.0), "steps": 3000, "batch": 128,
           "seeds": (0,), "penalty_stride": 2}
FULL = {"n_true": 512, "d_in": 256, "mean_active": 5.0, "ratios": (0.5, 1.0, 2.0, 4.0, 8.0), "steps": 20000,
        "batch": 256, "seeds": (0,), "penalty_stride": 1}


def _knobs(arch: str, stride: int = 1, ks=KS, table=None):
    if get_arch(arch).knob == "k":
        return {"penalties": (0.0,), "ks": ks}
    return {"penalties": tuple((table or PENALTIES)[arch][::stride]), "ks": (1,)}


def score_grid(config: SaeConfig, grid, source, eval_seed: int = 12345, n_eval: int = 4096) -> pd.DataFrame:
    """One row per SAE of ``grid`` (one size): its knob, seed and every :func:`dictionary.scores` value, on
    ``n_eval`` fresh inputs drawn with ``eval_seed``."""
    cfg = SaeConfig(**{**config.to_dict(), "d_sae": grid.d_sae})
    return _score(cfg, grid.output.params, grid.coords, source, eval_seed, n_eval)


def _score(cfg: SaeConfig, params, coords, source, eval_seed: int = 12345, n_eval: int = 4096) -> pd.DataFrame:
    """The rows of :func:`score_grid`; on a hierarchical source also the absorption scores
    (:func:`dictionary.absorption_scores`: ``absorption``, ``absorbed``, ``miss_child``, ``miss_alone``,
    ``absorbing_latents``) on the same inputs."""
    H, X = source.sample(jax.random.PRNGKey(eval_seed), n_eval)
    hp = sae_hparams(cfg, coords[:, 0], coords[:, 1], [1e-3])
    Z = np.asarray(encode_many(cfg, params, hp, H))
    W_dec, b_dec = np.asarray(params["W_dec"]), np.asarray(params["b_dec"])
    parents = source_parents(source) if source.name == "hierarchical" else None
    rows = []
    for i, (penalty, k, seed) in enumerate(coords):
        H_hat = Z[i] @ W_dec[i] + b_dec[i]
        s = dictionary.scores(W_dec[i], source.directions, Z[i], np.asarray(H), H_hat)
        if parents is not None:
            s.update(dictionary.absorption_scores(W_dec[i], source.directions, Z[i], np.asarray(X), parents))
        rows.append({"arch": cfg.arch, "d_sae": cfg.d_sae, "ratio": cfg.d_sae / source.n_true,
                     "penalty": penalty, "k": float(k), "seed": int(seed), **s})
    return pd.DataFrame(rows)


def score_results(res) -> pd.DataFrame:
    """Scores against the truth of every SAE of an SAE sweep's results (``kind = "sae"``): the rows
    :func:`score_grid` gives for the same SAEs, from the stored parameters (tested equal)."""
    s = res.settings
    source = make_source(s["source"])
    frames = []
    for a, arch in enumerate(res.archs):
        for r, size in enumerate(res.sizes):
            keep = np.asarray(res.valid[a, r])
            cfg = SaeConfig(**{**s["config"], **s.get("config_by_arch", {}).get(arch, {}), "arch": arch,
                               "d_sae": int(size)})
            params = {"W_enc": res.W_enc[a, r, keep, :, :size], "b_enc": res.b_enc[a, r, keep, :size],
                      "W_dec": res.W_dec[a, r, keep, :size], "b_dec": res.b_dec[a, r, keep]}
            for name in init_sae(jax.random.PRNGKey(0), cfg).keys() - params.keys():  # the architecture's own
                x = res.arrays[name][a, r, keep]
                params[name] = x[:, :size] if x.ndim == 2 else x
            coords = np.stack([res.penalty[a, r, keep], res.k[a, r, keep], res.seed[a, r, keep]], axis=1)
            frames.append(_score(cfg, params, coords, source))
    return pd.concat(frames, ignore_index=True)


def sae_sweep(source, archs=ARCHS, ratios=(1.0,), steps: int = 3000, batch: int = 256, seeds=(0,), lr: float = 1e-3,
              penalty_stride: int = 1, resample: str = "none", progress: bool = False, penalties=None, ks=None,
              extras=None, desc: str = "sweep", **_) -> tuple[pd.DataFrame, dict]:
    """Train and score every (architecture, size ratio × n_true, knob, seed) SAE; ``(frame, params by (arch, d_sae))``.
    ``penalties``: the α values per penalty architecture (default :data:`PENALTIES`); ``ks``: the k values per k
    architecture (default :data:`KS` up to the smallest size); ``extras``: more :class:`SaeConfig` fields per
    architecture (e.g. ``{"jumprelu": {"bandwidth": 0.1}}``). ``progress``: a bar with an ETA over the trainings
    (weighted by :func:`tms.runs.kinds.sae.call_seconds`), named ``desc``, then one line of times."""
    frames, params = [], {}
    sizes = [round(r * source.n_true) for r in ratios]
    if min(sizes) < 1:
        raise SaeError(f"sae.d_sae (dictionary size) must be >= 1: ratios {list(ratios)} × {source.n_true} true "
                       f"features give sizes {sizes}")
    knobs = {arch: _knobs(arch, penalty_stride, (ks or {}).get(arch, tuple(k for k in KS if k <= min(sizes))),
                          penalties) for arch in archs}
    jobs = [(a, j) for a in range(len(archs)) for j in range(len(sizes))]  # one compiled call each
    cost = [call_seconds(len(knobs[archs[a]]["penalties"]) * len(knobs[archs[a]]["ks"]) * len(seeds), steps,
                         source.d_in, sizes[j], batch, archs[a]) for a, j in jobs]
    bar = WorkBar(sum(cost), f"[sae] {desc}", enabled=progress)

    def one(i: int):  # one architecture at one size, trained and scored (on its own device when side by side)
        t0 = time.perf_counter()
        a, j = jobs[i]
        config = SaeConfig(archs[a], source.d_in, sizes[j], **{"batch": batch, "steps": steps, "resample": resample,
                                                                **(extras or {}).get(archs[a], {})})
        (grid,) = train_sae_sizes(config, source, [sizes[j]], seeds=seeds, lr=lr, **knobs[archs[a]])
        got = (score_grid(config, grid, source), grid.d_sae, jax.tree.map(np.asarray, grid.output.params))
        return got, time.perf_counter() - t0

    # side by side where there are several devices (same bits), the calls estimated longest first, so that the
    # last ones to start are short and the devices finish close together
    done = {}
    for i, result in each(one, sorted(range(len(jobs)), key=lambda i: -cost[i])):
        done[i] = result
        bar.update(cost[i], f"{archs[jobs[i][0]]} {sizes[jobs[i][1]]} done")
    bar.close()
    for i, (a, j) in enumerate(jobs):  # in the architectures' and sizes' order, however they finished
        frame, d_sae, p = done[i][0]
        frames.append(frame)
        params[(archs[a], d_sae)] = p
    if progress:
        seconds = [sum(done[i][1] for i, (a, _) in enumerate(jobs) if a == b) for b in range(len(archs))]
        print(f"[sae] {desc}: {len(sizes)} size(s) each: "
              + ", ".join(f"{arch} {seconds[a]:.1f} s" for a, arch in enumerate(archs)), flush=True)
    return pd.concat(frames, ignore_index=True), params


def synthetic_sweep(settings: dict = REDUCED, archs=ARCHS, progress: bool = False):
    """The Sharkey et al. sweep at ``settings`` (:data:`REDUCED` or :data:`FULL`)."""
    source = synthetic_source(settings["n_true"], settings["d_in"], settings["mean_active"])
    return sae_sweep(source, archs, progress=progress, desc="synthetic", extras=SYNTHETIC_CONFIG, **settings)


def pentagon_study(steps: int = 4000, seeds=(0, 1, 2), ratios=(1.0, 2.0), progress: bool = False):
    """Every architecture with 5 and 10 latents on the pentagon's hidden activations (S = 0.9), over its knob
    (:data:`PENTAGON_PENALTIES` or :data:`PENTAGON_KS`; JumpReLU with :data:`PENTAGON_CONFIG`); returns the
    source, the scores and each architecture's best decoder."""
    source = toy_model_source(pentagon(), 0.9)
    frame, params = sae_sweep(source, ARCHS, ratios, steps=steps, batch=256, seeds=seeds, lr=3e-3, progress=progress,
                              penalties=PENTAGON_PENALTIES, ks=PENTAGON_KS, extras=PENTAGON_CONFIG,
                              desc="pentagon")
    best = {}
    for arch in ARCHS:
        rows = frame[frame.arch == arch]
        top = rows.loc[rows["mmcs"].idxmax()]
        same = rows[rows.d_sae == top.d_sae]  # the rows of that size's grid, in grid order
        best[arch] = params[(arch, int(top.d_sae))]["W_dec"][same.index.get_loc(top.name)]
    return source, frame, best


def resampling_study(steps: int = 12000, every: int = 2500, window: int = 500, progress: bool = False):
    """ReLU SAEs (2× the true size) on the reduced synthetic source, penalty high enough to kill latents,
    without and with each resampling; returns ``{mode: dead latents per step (seeds averaged)}`` and scores.

    ARENA's schedule: resample every 2,500 steps the latents that fired on no input in the last 500. (With
    6,000 steps every 1,500, the first version, latents at this penalty died only after the last resampling,
    so the three modes trained identically.) ``progress``: a bar with an ETA over the three modes."""
    source = synthetic_source(REDUCED["n_true"], REDUCED["d_in"], REDUCED["mean_active"])
    modes = ("none", "simple", "advanced")
    bar = WorkBar(3, "[sae] resampling", enabled=progress)

    def one(i: int):  # one mode (on its own device when side by side)
        config = SaeConfig("relu", source.d_in, 2 * source.n_true, batch=128, steps=steps, resample=modes[i],
                           resample_every=every, dead_window=window)
        (grid,) = train_sae_sizes(config, source, [config.d_sae], penalties=(0.3,), seeds=(0, 1), lr=1e-3)
        return (np.asarray(grid.output.metrics["dead"]).mean(axis=0),
                score_grid(config, grid, source).assign(resample=modes[i],
                                                        resampled=np.asarray(grid.output.metrics["resampled"]).sum(axis=1)))

    done = {}
    for i, result in each(one, range(len(modes))):
        done[i] = result
        bar.update(1, f"{modes[i]} done")
    bar.close()
    curves = {mode: done[i][0] for i, mode in enumerate(modes)}
    return curves, pd.concat([done[i][1] for i in range(len(modes))], ignore_index=True)


def sae_figures(res, out, fmt: str = "png") -> list:
    """The figures of an SAE sweep's results (``tms plot``): the MMCS heat map and the L0–FVU frontier, on a
    2-dimensional source the best decoder of each architecture over the true directions, on a hierarchical
    source the absorption against the knob; the scores (:func:`score_results`) as ``sae_scores.csv``; with two
    sizes or more the size-choosing signs (:func:`tms.experiments.sae_signs.signs_figures`)."""
    frame = score_results(res)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "sae_scores.csv", index=False)
    files = [save_figure(mmcs_heatmap_figure(frame), out / f"sae_mmcs_heatmap.{fmt}"),
             save_figure(frontier_figure(frame), out / f"sae_frontier.{fmt}")]
    if "absorption" in frame:
        files.append(save_figure(absorption_figure(frame), out / f"sae_absorption.{fmt}"))
    truth = res.directions()
    if truth.shape[1] == 2:
        best = {}
        for a, arch in enumerate(res.archs):
            top = frame.loc[frame[frame.arch == arch]["mmcs"].idxmax()]
            r = res.sizes.index(int(top.d_sae))
            c = int(np.flatnonzero((res.penalty[a, r] == top.penalty) & (res.k[a, r] == top.k)
                                   & (res.seed[a, r] == top.seed))[0])
            best[arch] = res.W_dec[a, r, c, : res.sizes[r]]
        files.append(save_figure(pentagon_figure(truth, best), out / f"sae_decoders.{fmt}"))
    return files + signs_figures(res, frame, out, fmt)


def _numbers(pent: pd.DataFrame, synth: pd.DataFrame, res: pd.DataFrame) -> dict:
    out = {"pentagon": {}, "synthetic": {}, "resampling": {}}
    for (arch, ratio), rows in pent.groupby(["arch", "ratio"]):
        by = rows.groupby(["penalty", "k"])["recovered_0.99"]
        every, some = by.min(), by.max()  # all seeds / at least one seed recover all five directions
        out["pentagon"][f"{arch}@{ratio:g}x"] = {
            "settings_all_seeds_recover_5": [list(map(float, i)) for i in every[every == 1.0].index],
            "settings_some_seed_recovers_5": [list(map(float, i)) for i in some[some == 1.0].index],
            "settings": len(every), "best_mmcs": round(float(rows.mmcs.max()), 4)}
    for (arch, ratio), rows in synth.groupby(["arch", "ratio"]):
        out["synthetic"][f"{arch}@{ratio:g}x"] = {"best_mmcs": round(float(rows.mmcs.max()), 4),
                                                  "best_recovered_0.9": round(float(rows["recovered_0.9"].max()), 4)}
    for mode, rows in res.groupby("resample"):
        out["resampling"][mode] = {"dead_final": float(rows.dead.mean()), "mmcs": round(float(rows.mmcs.mean()), 4),
                                   "resampled_total": float(rows.resampled.mean())}
    return out


@register("sae", description="SAEs against ground truth: pentagon, Sharkey et al. sweep (reduced), resampling, "
          "L0-FVU frontier, absorption", seconds=203)
def draw(ctx: Context):
    """Long because: one stage per figure, each timed (timings go apart from the numbers)."""
    timings, files = {}, []
    t = time.perf_counter()
    steps = 800 if ctx.quick else None
    source, pent, best = pentagon_study(**({"steps": steps} if steps else {}), progress=ctx.progress)
    timings["pentagon"] = round(time.perf_counter() - t, 2)
    files.append(save_figure(pentagon_figure(source.directions, best), ctx.out / f"sae_pentagon.{ctx.fmt}"))
    t = time.perf_counter()
    settings = {**REDUCED, "steps": 600} if ctx.quick else REDUCED
    synth, _ = synthetic_sweep(settings, progress=ctx.progress)
    timings["synthetic"] = round(time.perf_counter() - t, 2)
    files.append(save_figure(mmcs_heatmap_figure(synth), ctx.out / f"sae_mmcs_heatmap.{ctx.fmt}"))
    files.append(save_figure(frontier_figure(synth), ctx.out / f"sae_frontier.{ctx.fmt}"))
    t = time.perf_counter()
    curves, res = resampling_study(**({"steps": 1200, "every": 300, "window": 100} if ctx.quick else {}),
                                   progress=ctx.progress)
    timings["resampling"] = round(time.perf_counter() - t, 2)
    files.append(save_figure(dead_latents_figure(curves), ctx.out / f"sae_dead_latents.{ctx.fmt}"))
    t = time.perf_counter()
    absorption = absorption_study(**(ABSORPTION_QUICK if ctx.quick else {}), progress=ctx.progress)
    timings["absorption"] = round(time.perf_counter() - t, 2)
    files.append(save_figure(absorption_figure(absorption), ctx.out / f"sae_absorption.{ctx.fmt}"))
    numbers = {**_numbers(pent, synth, res), "absorption": absorption_numbers(absorption)}
    write_json(ctx.out / "sae_numbers.json", numbers)
    write_json(ctx.out / "sae_timings.json", timings)
    pent.to_csv(ctx.out / "sae_pentagon.csv", index=False)
    synth.to_csv(ctx.out / "sae_synthetic.csv", index=False)
    absorption.to_csv(ctx.out / "sae_absorption.csv", index=False)
    return files, numbers
