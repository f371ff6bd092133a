"""Every diagnostic on one set of challenge-transformer weights: figures, CSV tables and a summary.

``diagnose(weights, out_dir)`` runs every registered diagnostic (``tms.challenge.diagnostics``) on a weights
file (ours, or an original ``transformer_model.pt``) or a params dict; ``run(out_dir)`` first obtains weights
(the shipped trained model, or a fresh training run) and then diagnoses them. Outputs in ``out_dir``:
``*.png`` figures, ``*.csv`` tables, ``summary.json`` (every number, strict JSON, 6 significant digits),
``summary.md`` (our numbers beside the published ones for the original model) and ``timings.json``.
Two runs on one machine write byte-identical CSV, JSON and markdown files (timings apart).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import jax
import pandas as pd

from tms.challenge import model as challenge_model
from tms.challenge import plots
from tms.challenge.diagnostics import DIAGNOSTICS, Diagnosis, Settings
from tms.challenge.diagnostics.report import write_summary, write_table
from tms.io import save_figure, write_json

from ..errors import TmsError


def load_params(weights) -> tuple[dict, str | None]:
    """(params, file name or None) from a path to our .npz or an original ``.pt``/``.pth``, or a params dict."""
    if isinstance(weights, (str, Path)):
        from tms.challenge import weights as challenge_weights
        path = Path(weights)
        return challenge_weights.load_any(path), path.name
    challenge_model.check_params(weights)
    return weights, None


def diagnose(weights, out_dir="figures/challenge", seed: int = 0, figures: bool = True,
             history: pd.DataFrame | None = None, quick: bool = False, alternative=None) -> dict:
    """Run every registered diagnostic on ``weights`` (path to our .npz, a ``transformer_model.pt``, or a
    params dict) and write the results into ``out_dir``.

    Returns the summary exactly as written to ``summary.json`` (floats rounded to 6 significant digits,
    missing values None; ``weights`` is the file's name, never a path). ``seed`` seeds every random choice
    (AND searches, resampling draws, random baselines). ``quick`` shortens the searches for smoke tests;
    its numbers are not the reported ones. ``history``: training curves to draw (``training.png``).
    The seconds taken go to ``timings.json``, apart from the results. ``alternative``: a second model
    (weights as ``weights``) diagnosed the same way (numbers and tables, no figures) into
    ``out_dir/alternative``; its numbers join the comparison table as a column.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params, name = load_params(weights)
    dx = Diagnosis(params, Settings(seed=seed, quick=quick, figures=figures))
    numbers, figs, seconds = ({} if name is None else {"weights": name}), {}, {}
    for diagnostic in DIAGNOSTICS.values():
        t = time.perf_counter()
        outcome = diagnostic.run(dx)
        seconds[diagnostic.name] = round(time.perf_counter() - t, 2)
        numbers.update(outcome.numbers)
        figs.update(outcome.figures)
        for table, frame in outcome.tables.items():
            write_table(out / f"{table}.csv", frame)
    if figures and history is not None:
        figs["training"] = plots.history_figure(history)
    for fig_name, fig in figs.items():
        save_figure(fig, out / f"{fig_name}.png", dpi=110)  # says so on stderr when it replaces a differing file
    numbers["figures"] = [f"{n}.png" for n in figs]
    alt = None
    if alternative is not None:
        alt = diagnose(alternative, out / "alternative", seed=seed, figures=False, quick=quick)
    res = write_summary(out, numbers, alt)
    write_json(out / "timings.json", {"diagnose_seconds": round(time.perf_counter() - t0, 1),
                                      "diagnostic_seconds": seconds})
    return res


def _train(out: Path, epochs: int | None, seed: int, progress: bool) -> tuple[Path, pd.DataFrame]:
    """Train afresh (the default schedule, ``epochs`` long if given); write weights.npz and history.csv."""
    from tms.challenge import train
    from tms.challenge import weights as challenge_weights
    tcfg = train.TrainConfig()
    if epochs is not None:
        if epochs < tcfg.log_every:
            raise TmsError(f"epochs must be >= {tcfg.log_every}; got {epochs}")
        tcfg = dataclasses.replace(tcfg, epochs=int(epochs) - int(epochs) % tcfg.log_every)
    params, history = train.train(challenge_model.Config(), tcfg, jax.random.PRNGKey(seed), progress=progress)
    meta = {"epochs": tcfg.epochs, "seed": seed, "diverged": bool(history.attrs["diverged"])}
    weights = challenge_weights.save(out / "weights.npz", params, challenge_model.Config(), meta=meta)
    history.to_csv(out / "history.csv", index=False)
    return weights, history


def run(out_dir="figures/challenge", weights=None, retrain: bool = False, epochs: int | None = None,
        seed: int = 0, progress: bool = True, alternative: bool = True) -> dict:
    """Obtain weights and diagnose them. ``weights``: a weights path (ours or ``.pt``); by default the shipped
    trained model (the challenge's original recipe), or, if there is none or ``retrain`` is set, a fresh
    training run of the default schedule (the shorter recipe of the alternative model; ``epochs`` overrides
    its length) whose weights and history are written to ``out_dir``. Returns the summary
    (as :func:`diagnose`); ``timings.json`` gets the total seconds beside the diagnosis's. With the shipped
    model, the shipped alternative model (``weights.ALTERNATIVE``) is diagnosed beside it unless
    ``alternative`` is False."""
    from tms.challenge import weights as challenge_weights

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    history = alt = None
    if weights is None and not retrain:
        weights = challenge_weights.shipped_weights_path()
        if alternative:
            alt = challenge_weights.shipped_weights_path(challenge_weights.ALTERNATIVE)
    if weights is None:
        weights, history = _train(out, epochs, seed, progress)
    if history is None:  # a history saved beside the weights (the shipped model has one)
        hpath = Path(weights).with_name(Path(weights).stem + "_history.csv")
        history = pd.read_csv(hpath) if hpath.is_file() else None
    t1 = time.perf_counter()
    res = diagnose(weights, out, seed=seed, history=history, alternative=alt)
    t2 = time.perf_counter()
    timings = json.loads((out / "timings.json").read_text())
    write_json(out / "timings.json", {**timings, "diagnose_seconds": round(t2 - t1, 1),
                                      "total_seconds": round(t2 - t0, 1)})
    return res
