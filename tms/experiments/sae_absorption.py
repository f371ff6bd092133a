"""Feature absorption in SAEs trained on hierarchical features (parents with mutually exclusive children).

:func:`absorption_study` trains ReLU and TopK SAEs as large as the true feature count on
:func:`tms.engine.sae.hierarchical_source` (4 parents × 3 children in 32 dimensions by default, orthonormal
directions), once with independent U[0, 1] magnitudes and once with unit magnitudes (Chanin et al.'s toy
setting), over a few penalties or k, and scores each SAE with :func:`tms.analysis.dictionary.absorption_scores`
beside MMCS, FVU, L0 and the split/shared counters. A stage of ``tms reproduce sae`` (figure
``sae_absorption``, numbers under ``"absorption"`` in ``sae_numbers.json``; ``--quick`` runs :data:`QUICK`), so
not part of ``tms reproduce all``.

Run alone: ``python -m tms.experiments.sae_absorption`` (prints the frame and the means over seeds).
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
    hierarchical_source,
    sae_hparams,
    source_parents,
    train_sae_sizes,
)
from ..runs.progress import WorkBar
from ..runs.side_by_side import each

SOURCE = {"n_parents": 4, "n_children": 3, "d_in": 32, "p_parent": 0.25, "p_child": 0.25}
KNOBS = {"relu": {"penalties": tuple(10.0 ** (np.array([-8, -6, -4, -2]) / 4)), "ks": (1,)},
         "topk": {"penalties": (0.0,), "ks": (1, 2, 3, 4)}}
QUICK = {"steps": 400, "seeds": (0,)}  # ``tms reproduce sae --quick``: a smoke run, not numbers to quote


def score_absorption(config: SaeConfig, grid, source, eval_seed: int = 12345, n_eval: int = 8192) -> pd.DataFrame:
    """One row per SAE of ``grid``: knob, seed, the dictionary scores and the absorption scores, on ``n_eval``
    fresh examples drawn with ``eval_seed``."""
    cfg = SaeConfig(**{**config.to_dict(), "d_sae": grid.d_sae})
    H, X = source.sample(jax.random.PRNGKey(eval_seed), n_eval)
    H, X = np.asarray(H, np.float64), np.asarray(X, np.float64)
    hp = sae_hparams(cfg, grid.coords[:, 0], grid.coords[:, 1], [1e-3])
    params = grid.output.params
    Z = np.asarray(encode_many(cfg, params, hp, H.astype(np.float32)), np.float64)
    W_dec, b_dec = np.asarray(params["W_dec"], np.float64), np.asarray(params["b_dec"], np.float64)
    parents, rows = source_parents(source), []
    for i, (penalty, k, seed) in enumerate(grid.coords):
        s = dictionary.scores(W_dec[i], source.directions, Z[i], H, Z[i] @ W_dec[i] + b_dec[i])
        a = dictionary.absorption_scores(W_dec[i], source.directions, Z[i], X, parents)
        rows.append({"arch": cfg.arch, "d_sae": cfg.d_sae, "penalty": float(penalty), "k": float(k),
                     "seed": int(seed), **{key: s[key] for key in ("mmcs", "mcc", "fvu", "l0", "dead", "split",
                                                                  "shared")}, **a})
    return pd.DataFrame(rows)


def absorption_study(magnitudes=("uniform", "unit"), archs=("relu", "topk"), seeds=(0, 1), steps: int = 2500,
                     batch: int = 128, lr: float = 3e-3, source: dict = SOURCE, progress: bool = False,
                     ) -> pd.DataFrame:
    """ReLU and TopK SAEs with ``d_sae = n_true`` on the hierarchical source (:data:`SOURCE`) for each magnitude
    law, over :data:`KNOBS`; one row per SAE (see :func:`score_absorption`), with the source's magnitudes."""
    unknown = sorted(set(archs) - set(KNOBS))
    if unknown:
        raise SaeError(f"absorption_study: archs must be among {sorted(KNOBS)}; got {unknown}")
    jobs = [(mags, arch) for mags in magnitudes for arch in archs]
    bar = WorkBar(len(jobs), "[sae] absorption", enabled=progress)

    def one(j: int):  # one (magnitudes, architecture) grid (on its own device when side by side: the same bits)
        mags, arch = jobs[j]
        t0 = time.perf_counter()
        src = hierarchical_source(**source, magnitudes=mags)
        config = SaeConfig(arch, src.d_in, src.n_true, batch=batch, steps=steps)
        (grid,) = train_sae_sizes(config, src, [src.n_true], seeds=seeds, lr=lr, **KNOBS[arch])
        return score_absorption(config, grid, src).assign(magnitudes=mags), time.perf_counter() - t0

    done = {}
    for j, result in each(one, range(len(jobs))):
        done[j] = result
        bar.update(1, f"{jobs[j][0]} {jobs[j][1]} done")
    bar.close()
    frames = [done[j][0] for j in range(len(jobs))]  # in the jobs' order, however they finished
    times = [f"{mags} {arch} {done[j][1]:.1f} s" for j, (mags, arch) in enumerate(jobs)]
    if progress:
        print(f"[absorption] {', '.join(times)}", flush=True)
    return pd.concat(frames, ignore_index=True)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds per (magnitudes, arch, penalty, k)."""
    cols = ["mmcs", "fvu", "l0", "split", "shared", "absorption", "absorbed", "absorbing_latents", "miss_child",
            "miss_alone"]
    return frame.groupby(["magnitudes", "arch", "penalty", "k"])[cols].mean().round(3)


def absorption_numbers(frame: pd.DataFrame) -> dict:
    """``{"<magnitudes>/<arch>": [one dict per knob value: the knob, the seed means of the scores, seeds]}``
    for ``sae_numbers.json`` (a NaN mean, a rate over no example, as null)."""
    out = {}
    for (mags, arch), rows in frame.groupby(["magnitudes", "arch"], sort=False):
        knob = "k" if (rows.penalty == 0).all() else "penalty"
        means = rows.groupby(knob)[["absorption", "absorbed", "miss_child", "miss_alone", "absorbing_latents",
                                    "mmcs", "fvu", "l0"]].mean()
        out[f"{mags}/{arch}"] = [{knob: float(v), **{c: round(float(x), 4) if np.isfinite(x) else None for c, x in row.items()},
                                  "seeds": int((rows[knob] == v).sum())} for v, row in means.iterrows()]
    return out


if __name__ == "__main__":
    t = time.perf_counter()
    result = absorption_study(progress=True)
    pd.set_option("display.width", 200)
    print(result.round(3).to_string())
    print(summary(result).to_string())
    print(f"total {time.perf_counter() - t:.1f} s")
