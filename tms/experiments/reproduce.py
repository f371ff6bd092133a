"""``tms reproduce``: run the shipped sweeps of named experiments and draw their figures.

Sweeps run through the resumable store in ``<out>/runs/NAME`` (a second ``tms reproduce`` reuses finished
sweeps). The numbers the docs quote go to ``<out>/figures/summary.json``; wall times go to their own file,
``timings.json``, so that two runs give byte-identical summaries.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import jax

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
from ..runs.results import Results
from ..runs.side_by_side import CHUNK_THREAD, each
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


class SweepsBehind:
    """Shipped sweeps ``names`` trained in the background, one per local JAX device at a time (each sweep's chunks
    one after another on its device), the longest estimates first, while the caller's thread draws the
    experiments whose sweeps are done (:func:`reproduce`).

    Every sweep stores the arrays it would store alone (a device runs the same programs whatever runs beside it),
    so this changes when sweeps are trained, not what. A line is printed as each one finishes; their own bars are
    off (two at once would garble them)."""

    def __init__(self, names: list[str], runs: Path, quick: bool = False):
        self.order = sorted(names, key=lambda n: -_named_spec(n, quick).estimate_seconds())
        self.runs, self.quick = runs, quick
        self.results: dict[str, Results] = {}
        self.seconds: dict[str, float] = {}
        self.error: BaseException | None = None
        self.wall: float | None = None
        self._changed = threading.Condition()
        self._t0 = time.perf_counter()
        threading.Thread(target=self._drive, daemon=True, name=CHUNK_THREAD).start()

    def _one(self, i: int):
        t0 = time.perf_counter()
        res = run_named_sweep(self.order[i], self.runs, self.quick, progress=False, backend=LocalBackend(concurrent=1),
                              listen=False)
        return res, time.perf_counter() - t0

    def _drive(self):
        try:
            for i, (res, took) in each(self._one, range(len(self.order))):
                with self._changed:
                    self.results[self.order[i]], self.seconds[self.order[i]] = res, took
                    self._changed.notify_all()
                print(f"[sweep] {self.order[i]} done in {took:.1f} s", flush=True)
        except BaseException as e:  # noqa: BLE001  (raised in the drawing thread by wait)
            with self._changed:
                self.error = e
        finally:
            with self._changed:
                self.wall = time.perf_counter() - self._t0
                self._changed.notify_all()

    def done(self, sweeps) -> bool:
        """Whether every sweep of ``sweeps`` is trained; raises what stopped the background, if anything did."""
        with self._changed:
            if self.error is not None:
                raise self.error
            return all(s in self.results for s in sweeps)

    def finish(self) -> float:
        """Wait for the background to end; returns its wall time (seconds)."""
        with self._changed:
            while self.wall is None:
                self._changed.wait(timeout=1.0)
            if self.error is not None:
                raise self.error
            return self.wall

    def wait(self) -> None:
        """Until another sweep finishes (or the background stops)."""
        with self._changed:
            if self.error is None and self.wall is None:
                self._changed.wait(timeout=1.0)  # a timeout, so Ctrl-C reaches the caller at once


def _names(name: str, quick: bool) -> list[str]:
    if name == "all":  # the challenge has no reduced-cost version: name it to run it
        return [n for n, e in EXPERIMENTS.items() if e.in_all and (e.quick or not quick)]
    get(name)
    return [name]


def _next_ready(todo: list[str], behind: SweepsBehind | None) -> str:
    """Take from ``todo`` the first experiment whose sweeps are trained (waiting for one if none is)."""
    while True:
        n = next((n for n in todo if behind is None or behind.done(get(n).sweeps)), None)
        if n is not None:
            todo.remove(n)
            return n
        behind.wait()


def _draw(exp, ctx: Context, spent: dict) -> dict:
    """Draw experiment ``exp`` (its sweeps trained), print its files and numbers; returns the numbers."""
    t0 = time.perf_counter()
    files, numbers = exp.draw(ctx)
    spent[f"figures {exp.name}"] = time.perf_counter() - t0
    for f in files:
        print(f"[figure] {f}", flush=True)
    for k, v in numbers.items():
        print(f"[{exp.name}] {k}: {v}", flush=True)
    return numbers


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
    results: dict[str, Results] = {}
    t_all, spent = time.perf_counter(), {}
    sweeps = list(dict.fromkeys(sweep for n in names for sweep in get(n).sweeps))
    # several devices: the sweeps train side by side behind the drawing, which takes each experiment as soon as its
    # sweeps are done (those without sweeps at once); the summary and figures are the same, only the order moves
    behind = SweepsBehind(sweeps, runs, quick) if len(sweeps) > 1 and jax.local_device_count() > 1 else None
    todo = list(names)
    while todo:
        n = _next_ready(todo, behind)
        exp = get(n)
        if behind is not None:
            results.update({sweep: behind.results[sweep] for sweep in exp.sweeps})
        for sweep in exp.sweeps:
            if sweep not in results:
                t0 = time.perf_counter()
                results[sweep] = run_named_sweep(sweep, runs, quick=quick, progress=progress)
                spent[f"sweep {sweep}"] = time.perf_counter() - t0
        ctx = Context(results, figures / "quick" if quick else figures, fmt, quick, progress,
                      retrain=(n == "challenge" and name == "challenge" and not shipped), named=(name == n))
        summary[n] = _draw(exp, ctx, spent)
    if behind is not None:
        spent.update({f"sweep {k}": v for k, v in behind.seconds.items()})
        spent["sweeps side by side (wall)"] = behind.finish()
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
