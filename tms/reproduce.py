"""``tms reproduce``: run the shipped sweeps and draw the paper's figures into ``figures/``.

Each named figure set lists the sweep files it needs (in ``sweeps/``) and how to draw them. Sweeps run
through the resumable store in ``runs/NAME`` (a second ``tms reproduce`` reuses finished sweeps), and the
numbers the README quotes (phase-diagram agreement, the intro census, timings) go to
``figures/summary.json``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from .grid import Grid
from .results import Results
from .sweep import SweepSpec, load_spec, run_sweep

SWEEPS_DIR = Path(__file__).resolve().parents[1] / "sweeps"

FIGURE_SETS = {
    "intro": ["intro"],
    "varying_sparsity": ["varying_sparsity_relu", "varying_sparsity_linear"],
    "phase_n2m1": ["phase_n2m1"],
    "phase_n3m2": ["phase_n3m2"],
    "feature_geometry": ["feature_geometry"],
    "dynamics": ["dynamics"],
    "census": ["feature_geometry"],
    "challenge": [],
}


def quick_spec(spec: SweepSpec) -> SweepSpec:
    """A reduced-cost version of a spec for smoke tests: fewer steps, at most 6 values per grid axis."""
    s = spec.static
    static = dataclasses.replace(s, steps=max(50, s.steps // 40), restarts=min(s.restarts, 2),
                                 eval_batch=min(s.eval_batch, 4096), batch_size=min(s.batch_size, 256),
                                 log_every=(10 if s.log_every else 0), n_snapshots=min(s.n_snapshots, 8))
    if static.log_every and static.steps % static.log_every:
        static = dataclasses.replace(static, steps=static.steps - static.steps % static.log_every)
    g = spec.grid

    def sub(a):
        idx = np.unique(np.round(np.linspace(0, len(a) - 1, min(len(a), 6))).astype(int))
        return idx

    si, ii = sub(g.sparsity), sub(g.importance)
    grid = Grid(g.sparsity[si], g.importance[ii], g.lr, g.seeds[:2], g.weight_decay,
                {k: v[ii] for k, v in g.importance_params.items()})
    return dataclasses.replace(spec, static=static, grid=grid, chunk_size=min(spec.chunk_size, grid.n_cells))


def run_named_sweep(name: str, runs: Path, quick: bool = False, progress: bool = True) -> Results:
    spec = load_spec(SWEEPS_DIR / f"{name}.toml")
    if quick:
        spec = quick_spec(spec)
        runs = runs / "quick"
    print(f"[sweep] {name}: {spec.grid.n_cells} cells x {len(spec.grid.seeds)} seed(s) x "
          f"{spec.static.restarts} restart(s), {spec.static.steps} steps (est. {spec.estimate_seconds():.0f} s)",
          flush=True)
    return run_sweep(spec, runs / name, progress=progress, overwrite=quick)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def draw(name: str, results: dict[str, Results], out: Path, fmt: str = "png") -> tuple[list[Path], dict]:
    """Draw figure set ``name`` from its sweeps' results; returns the files and the numbers worth quoting."""
    from . import plots, theory
    from .geometry import polytope_census

    numbers: dict = {}
    files: list[Path] = []
    if name == "intro":
        res = results["intro"]
        files.append(_save(plots.intro_figure(res), out / f"intro.{fmt}"))
        census = polytope_census(res.W[:, 0, 0, 0], res.b[:, 0, 0, 0])
        numbers["census"] = {f"S={s:g}": str(lbl) for s, lbl in zip(res.grid.sparsity, census["label"])}
    elif name == "varying_sparsity":
        fig = plots.varying_sparsity_figure(results["varying_sparsity_relu"], results["varying_sparsity_linear"])
        files.append(_save(fig, out / f"varying_sparsity.{fmt}"))
    elif name in ("phase_n2m1", "phase_n3m2"):
        res = results[name]
        diagram = theory.n2m1_diagram if name == "phase_n2m1" else theory.n3m2_diagram
        th = diagram(res.density, res.grid.importance_params["extra_importance"])
        title = ("2 features in 1 dimension" if name == "phase_n2m1" else "3 features in 2 dimensions")
        files.append(_save(plots.phase_diagram_figure(res, th, title=title), out / f"{name}.{fmt}"))
        numbers["agreement"] = float(plots.phase_agreement(res, th))
    elif name == "feature_geometry":
        files.append(_save(plots.feature_geometry_figure(results["feature_geometry"]), out / f"feature_geometry.{fmt}"))
    elif name == "dynamics":
        res = results["dynamics"]
        files.append(_save(plots.training_dynamics_figure(res), out / f"dynamics.{fmt}"))
    elif name == "census":
        files.append(_save(plots.census_figure(results["feature_geometry"]), out / f"census.{fmt}"))
    return files, numbers


def reproduce(name: str, figures="figures", runs="runs", fmt: str = "png", quick: bool = False,
              progress: bool = True, shipped: bool = False) -> dict:
    """Run the sweeps of figure set ``name`` (or ``all``) and draw its figures; prints where the time went."""
    if name == "list":
        print("\n".join(["all", *FIGURE_SETS]))
        return {}
    names = list(FIGURE_SETS) if name == "all" else [name]
    if quick and name == "all":  # the challenge has no reduced-cost version: name it to run it
        names.remove("challenge")
    for n in names:
        if n not in FIGURE_SETS:
            raise ValueError(f"unknown figure set {n!r}; choose one of: all, {', '.join(FIGURE_SETS)}")
    figures, runs = Path(figures), Path(runs)
    timings: dict[str, float] = {}
    summary: dict = {}
    summary_path = figures / ("summary-quick.json" if quick else "summary.json")
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
    results: dict[str, Results] = {}
    t_all = time.perf_counter()
    for n in names:
        if n == "challenge":
            t0 = time.perf_counter()
            from .challenge import reproduce as challenge_reproduce

            # Named alone it trains the model afresh (under 20 min on 2 cores); inside "all" it diagnoses the
            # shipped model, which was trained by that same command (README, "The challenge transformer").
            retrain = name == "challenge" and not shipped
            res = challenge_reproduce.run(out_dir=str(figures / "challenge"), retrain=retrain, progress=progress)
            summary["challenge"] = {k: v for k, v in res.items() if isinstance(v, (int, float, str))}
            timings["challenge"] = time.perf_counter() - t0
            continue
        for sweep in FIGURE_SETS[n]:
            if sweep not in results:
                t0 = time.perf_counter()
                results[sweep] = run_named_sweep(sweep, runs, quick=quick, progress=progress)
                timings[f"sweep {sweep}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        files, numbers = draw(n, results, figures / "quick" if quick else figures, fmt)
        timings[f"figures {n}"] = time.perf_counter() - t0
        summary[n] = numbers
        for f in files:
            print(f"[figure] {f}", flush=True)
        for k, v in numbers.items():
            print(f"[{n}] {k}: {v}", flush=True)
    total = time.perf_counter() - t_all
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary["timings_s"] = {**summary.get("timings_s", {}), **{k: round(v, 1) for k, v in timings.items()}}
    summary_path.write_text(json.dumps(summary, indent=1))
    print("where the time went:")
    for k, v in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"  {v:7.1f} s  {k}")
    print(f"  {total:7.1f} s  total")
    return summary


def plot_folder(folder, out=None, fmt: str = "png") -> list[Path]:
    """Draw what fits a results folder (a ``tms train`` or ``tms sweep run`` output)."""
    from . import plots, theory
    from .sweep import load

    folder = Path(folder)
    res = load(folder)
    out = Path(out) if out else folder / "figures"
    s = res.static
    files = []
    if s.n_hidden == 2 and s.n_features <= 12:
        files.append(_save(plots.intro_figure(res), out / f"vectors.{fmt}"))
    if "extra_importance" in res.grid.importance_params and (s.n_features, s.n_hidden) in ((2, 1), (3, 2)):
        diagram = theory.n2m1_diagram if s.n_features == 2 else theory.n3m2_diagram
        th = diagram(res.density, res.grid.importance_params["extra_importance"])
        files.append(_save(plots.phase_diagram_figure(res, th), out / f"phase_diagram.{fmt}"))
    if s.n_snapshots and s.n_hidden == 2:
        files.append(_save(plots.training_dynamics_figure(res), out / f"dynamics.{fmt}"))
    if s.n_features >= 50:
        files.append(_save(plots.feature_geometry_figure(res), out / f"feature_geometry.{fmt}"))
    if s.n_features > 2:
        files.append(_save(plots.census_figure(res), out / f"census.{fmt}"))
    if 12 < s.n_features < 50:
        files.append(_save(plots.varying_sparsity_figure(res), out / f"weights.{fmt}"))
    return files
