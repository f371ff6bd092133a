"""``tms reproduce``: run the shipped sweeps of named experiments and draw their figures.

Sweeps run through the resumable store in ``<out>/runs/NAME`` (a second ``tms reproduce`` reuses finished
sweeps). The numbers the docs quote go to ``<out>/figures/summary.json``; wall times go to their own file,
``timings.json``, so that two runs give byte-identical summaries.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..analysis import theory
from ..io import write_json
from ..plots import (
    census_figure,
    feature_geometry_figure,
    intro_figure,
    phase_diagram_figure,
    training_dynamics_figure,
    trajectories_3d_figure,
    varying_sparsity_figure,
)
from ..runs.backends import LocalBackend
from ..runs.progress import WorkBar
from ..runs.results import Results
from ..runs.side_by_side import granted_devices, side_by_side
from ..runs.store import load, run_sweep

from . import paper  # noqa: F401  isort: skip  (registers the paper's experiments first)
from . import challenge  # noqa: F401  isort: skip
from . import finite_data  # noqa: F401  isort: skip
from . import slt  # noqa: F401  isort: skip
from . import geometry  # noqa: F401  isort: skip
from . import neurons  # noqa: F401  isort: skip
from . import sae  # noqa: F401  isort: skip
from ..io import save_figure
from .registry import EXPERIMENTS, Context, get, shipped_spec


def run_named_sweep(name: str, runs: Path, quick: bool = False, progress: bool = True, backend=None,
                    listen: bool = True) -> Results:
    """Run (or resume) shipped sweep ``name`` into ``runs/name`` (``runs/quick/name`` with ``quick``); ``backend``
    and ``listen`` as :func:`~tms.runs.store.run_sweep` takes them."""
    spec = _named_spec(name, quick)
    runs = runs / "quick" if quick else runs
    print(f"[sweep] {name}: {spec.summary()} (est. {spec.estimate_seconds():.0f} s)", flush=True)
    return run_sweep(spec, runs / name, progress=progress, overwrite=quick, backend=backend, listen=listen)


def _named_spec(name: str, quick: bool):
    spec = shipped_spec(name)
    return spec.quick() if quick else spec


def run_side_by_side(names: list[str], runs: Path, context=None, quick: bool = False, progress: bool = True):
    """Run the sweeps and draws of experiments ``names`` as jobs, one per local JAX device at a time, the longest
    estimates first (a sweep's ``estimate_seconds``, a draw's registered ``seconds``); a draw starts once its
    sweeps are stored, on one device (its own parts one after another there). ``context=None``: the sweeps only
    (the draws are the caller's). Returns ``({sweep: Results}, {experiment: (files, numbers)}, {timing name:
    seconds})``.

    A program gives the same bits on any device and beside any other, so this changes when the work is done, not
    what it gives. ``context(name, results, progress)`` makes a draw's :class:`Context`; the sweeps' and draws' own
    bars and messages are off, one bar over every job's estimate replaces them."""
    sweeps = list(dict.fromkeys(sweep for n in names for sweep in get(n).sweeps))
    draws = names if context is not None else []
    jobs = [("sweep", s) for s in sweeps] + [("figures", n) for n in draws]
    estimate = [_named_spec(s, quick).estimate_seconds() for s in sweeps] + [get(n).seconds for n in draws]
    after = {len(sweeps) + j: {sweeps.index(s) for s in get(n).sweeps} for j, n in enumerate(draws)}
    results, drawn = {}, {}

    def one(i: int) -> float:  # on its own device; results and drawn are filled before its dependants start
        what, name = jobs[i]
        bar.started(i, estimate[i])
        t0 = time.perf_counter()
        if what == "sweep":
            results[name] = run_named_sweep(name, runs, quick, progress=False, backend=LocalBackend(concurrent=1),
                                            listen=False)
        else:
            drawn[name] = get(name).draw(context(name, {s: results[s] for s in get(name).sweeps}, False))
        return time.perf_counter() - t0

    t0, seconds = time.perf_counter(), {}
    label = f"[reproduce] {len(sweeps)} sweeps, {len(draws)} experiments" if draws else f"[sweeps] {len(sweeps)}"
    bar = WorkBar(sum(estimate), f"{label} side by side", enabled=progress)
    order = sorted(range(len(jobs)), key=lambda i: -estimate[i])
    for i, took in side_by_side(one, order, len(granted_devices()), after=after):
        seconds[" ".join(jobs[i])] = took
        bar.update(estimate[i], f"{jobs[i][1]} done", key=i)
    bar.close()
    seconds[f"sweeps{' and figures' if draws else ''} side by side (wall)"] = time.perf_counter() - t0
    return results, drawn, seconds


def _names(name: str, quick: bool) -> list[str]:
    if name == "all":  # the challenge has no reduced-cost version: name it to run it
        return [n for n, e in EXPERIMENTS.items() if e.in_all and (e.quick or not quick)]
    get(name)
    return [name]


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def reproduce(name: str, out=".", figures=None, runs=None, fmt: str = "png", quick: bool = False,
              progress: bool = True, shipped: bool = False) -> dict:
    """Run the sweeps of experiment ``name`` (or ``all``) and draw its figures; prints where the time went.

    Figures go to ``figures`` (default ``<out>/figures``), sweep results to ``runs`` (default ``<out>/runs``).
    ``shipped``: the challenge diagnoses the shipped model instead of training afresh (``all`` always does).
    Returns the summary (the numbers, also written to ``summary.json``; ``summary-quick.json`` with ``quick``).
    """
    if name == "list":
        width = max(map(len, EXPERIMENTS)) + 2
        print("\n".join(["all"] + [f"{n:{width}s}{e.description}" for n, e in EXPERIMENTS.items()]))
        return {}
    names = _names(name, quick)
    figures = Path(figures) if figures is not None else Path(out) / "figures"
    runs = Path(runs) if runs is not None else Path(out) / "runs"
    suffix = "-quick" if quick else ""
    summary_path, timings_path = figures / f"summary{suffix}.json", figures / f"timings{suffix}.json"
    summary, timings = _read(summary_path), _read(timings_path)
    t_all, spent, drawn, results = time.perf_counter(), {}, {}, {}
    sweeps = list(dict.fromkeys(sweep for n in names for sweep in get(n).sweeps))

    def context(n: str, res: dict, show: bool) -> Context:
        return Context(res, figures / "quick" if quick else figures, fmt, quick, show,
                       retrain=(n == "challenge" and name == "challenge" and not shipped), named=(name == n))

    devices = len(granted_devices())
    if len(names) > 1 and devices > 1:  # several experiments: every sweep and draw a job, one per device
        results, drawn, took = run_side_by_side(names, runs, context, quick=quick, progress=progress)
        spent.update(took)
    elif len(sweeps) > 1 and devices > 1:  # one experiment: its sweeps side by side, then its draw on every device
        results, _, took = run_side_by_side(names, runs, quick=quick, progress=progress)
        spent.update(took)
    for n in names:
        exp = get(n)
        if n not in drawn:
            for sweep in exp.sweeps:
                if sweep not in results:
                    t0 = time.perf_counter()
                    results[sweep] = run_named_sweep(sweep, runs, quick=quick, progress=progress)
                    spent[f"sweep {sweep}"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            drawn[n] = exp.draw(context(n, results, progress))
            spent[f"figures {n}"] = time.perf_counter() - t0
        files, numbers = drawn[n]
        summary[n] = numbers
        for f in files:
            print(f"[figure] {f}", flush=True)
        for k, v in numbers.items():
            print(f"[{n}] {k}: {v}", flush=True)
    total = time.perf_counter() - t_all
    write_json(summary_path, dict(sorted(summary.items())))
    timings.update({k: round(v, 1) for k, v in spent.items()})
    write_json(timings_path, dict(sorted(timings.items())))
    print("where the time went:")
    for k, v in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {v:7.1f} s  {k}")
    print(f"  {total:7.1f} s  total")
    return summary


def plot_folder(folder, out=None, fmt: str = "png") -> list[Path]:
    """Draw what fits a results folder (a ``tms train`` or ``tms sweep run`` output)."""
    folder = Path(folder)
    res = load(folder)
    out = Path(out) if out else folder / "figures"
    return FIGURES[res.kind](res, out, fmt)


def grid_figures(res: Results, out: Path, fmt: str = "png") -> list[Path]:
    """Every figure that fits a grid's results: the neurons of a kind with a hidden ReLU layer; vectors, phase
    diagram, dynamics, geometry, census, weights of a kind with ``W`` and ``b``."""
    s = res.static
    files = neurons.neuron_figures(res, out, fmt)
    if not {"W", "b"} <= set(res.param_names):  # e.g. abs (W1, W2, b): the figures below read W and b
        return files
    if s.n_hidden == 2 and s.n_features <= 12:
        files.append(save_figure(intro_figure(res), out / f"vectors.{fmt}"))
    if "extra_importance" in res.grid.importance_params and (s.n_features, s.n_hidden) in theory.DIAGRAMS:
        th = theory.DIAGRAMS[(s.n_features, s.n_hidden)](res.density, res.grid.importance_params["extra_importance"])
        files.append(save_figure(phase_diagram_figure(res, th), out / f"phase_diagram.{fmt}"))
    if s.n_snapshots and s.n_hidden == 2:
        files.append(save_figure(training_dynamics_figure(res), out / f"dynamics.{fmt}"))
    if s.n_snapshots >= 2 and s.n_hidden == 3:
        files.append(save_figure(trajectories_3d_figure(res), out / f"trajectories3d.{fmt}"))
    if s.n_features >= 50:
        files.append(save_figure(feature_geometry_figure(res), out / f"feature_geometry.{fmt}"))
    if s.n_features > 2:
        files.append(save_figure(census_figure(res), out / f"census.{fmt}"))
    if 12 < s.n_features < 50:
        files.append(save_figure(varying_sparsity_figure(res), out / f"weights.{fmt}"))
    return files


FIGURES = {"grid": grid_figures, "finite": finite_data.finite_figures, "sae": sae.sae_figures}
"""The figures of each sweep kind's results (``tms plot``)."""
