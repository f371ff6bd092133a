"""The SLT testbed as an experiment (``tms reproduce slt``, ``tms llc run``): the k-gon λ̂ table against n, the
ε × γ calibration map, critical sample sizes from the free energy, posterior phases across n, and the training
dynamics with an LLC panel. Sizes come from :class:`tms.slt.settings.SLTSettings` (the defaults are the
reduced size ``reproduce all`` runs; ``tms llc run --preset slt_full`` runs the full one).
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np

from ..io import save_figure, write_json
from ..plots.slt import calibration_figure, kgon_llc_figure, llc_dynamics_figure, posterior_figure, trace_figure
from ..runs.side_by_side import each
from ..slt import bayes, dynamics, kgon, laplace
from ..slt.settings import SLTSettings, load_settings
from .registry import Context, register

QUICK_PRESET = "slt_quick"


def _f(v):
    v = float("nan") if v is None else float(v)
    return round(v, 6) if np.isfinite(v) else None


def _say(msg: str, progress: bool) -> None:
    if progress:
        print(f"[slt] {msg}", flush=True)


def critical_sizes(table, prior_precision: float = 1.0) -> dict:
    """Critical sample sizes from the Laplace-type free energy (:mod:`tms.slt.laplace`) under the prior the
    posterior sampling uses (N(0, 1/prior_precision)): for 5 → 6 and 5+ → 6, n_cr under every choice of
    O(1) terms, with theoretical λ and with λ̂ of the 6-gon and 5+-gon at the table's largest n (the plain
    5-gon's λ̂ is not measurable: its theoretical 7 stays). ``paper_convention_5_6``: the prior term alone
    under N(0, I), the convention that gives the published ≈ 601."""
    var = 1.0 / prior_precision
    big = table[table.n == table.n.max()].set_index("label")
    measured = {lab: float(big.llc[lab]) for lab in ("5+", "6") if lab in big.index and _f(big.llc[lab]) is not None}
    out = {"prior_variance": var}
    for lo, hi in (("5", "6"), ("5+", "6")):
        key = f"{lo.replace('+', 'p')}_{hi}"
        theory = laplace.ncr_table(lo, hi, (var,))
        out[f"n_cr_{key}"] = {r.terms: _f(r.n_cr) for r in theory.itertuples()}
        out[f"delta_c_{key}"] = {r.terms: _f(r.delta_c) for r in theory.itertuples()}
        if hi in measured and (lo in measured or lo == "5"):
            m = laplace.ncr_table(lo, hi, (var,), llc=measured)
            out[f"n_cr_{key}_measured_llc"] = {r.terms: _f(r.n_cr) for r in m.itertuples()}
    paper = laplace.ncr_table("5", "6", (1.0,))
    out["paper_convention_5_6"] = _f(paper[paper.terms == "prior"].n_cr.iloc[0])
    return out


def _compute(s: SLTSettings, progress: bool, timings: dict):
    """The testbed's four stages (k-gon table, calibration, posterior, SGD dynamics), side by side where JAX
    shows several devices (each stage on its own: the same bits); their seconds go into ``timings``."""
    c, d = s.calibration, s.dynamics

    def calibration():
        return (kgon.calibration_sweep(c, seed=s.seed),
                kgon.point_estimate(c.label, c.n, sampler=s.sampler, seed=s.seed))

    def sgd_dynamics():
        run = dynamics.sgd_run(d.n, d.batch, d.lr, d.epochs, seed=s.seed)
        return run, dynamics.snapshot_llcs(run, dynamics.snapshot_epochs(d.epochs, d.snapshots), seed=s.seed,
                                           sampler=d.sampler(s.sampler.step_scale))

    stages = {"k-gon table": lambda: kgon.kgon_llc_table(s.kgon.labels, s.kgon.sizes, sampler=s.sampler, seed=s.seed),
              "calibration sweep": calibration,
              "posterior across n": lambda: bayes.posterior_phases(s.posterior, seed=s.seed),
              "SGD dynamics and snapshot LLCs": sgd_dynamics}
    names = list(stages)

    def one(i: int):  # a stage's computation (on its own device when side by side: the same bits)
        t0 = time.perf_counter()
        result = stages[names[i]]()
        return result, round(time.perf_counter() - t0, 2)

    got = {}
    _say(f"{len(names)} stages" + (" side by side" if jax.local_device_count() > 1 else "") + " ...", progress)
    for i, (result, seconds) in each(one, range(len(names))):
        got[names[i]], timings[names[i]] = result, seconds
        _say(f"{names[i]}: {seconds:.1f} s", progress)
    return tuple(got[n] for n in names)


def run_slt(settings: SLTSettings, out, fmt: str = "png", progress: bool = True):
    """Run every part of the testbed; write tables (CSV) to ``out/slt/`` and figures to ``out``.
    Returns ``(figure paths, numbers, timings)``."""
    out = Path(out)
    data_dir = out / "slt"
    data_dir.mkdir(parents=True, exist_ok=True)
    s, files, timings = settings, [], {}
    c = s.calibration
    table, (calib, est), post, (run, snaps) = _compute(s, progress, timings)
    table.to_csv(data_dir / "kgon_llc.csv", index=False)
    files.append(save_figure(kgon_llc_figure(table), out / f"slt_kgon.{fmt}"))
    calib.to_csv(data_dir / "calibration.csv", index=False)
    files.append(save_figure(calibration_figure(calib), out / f"slt_calibration.{fmt}"))
    files.append(save_figure(trace_figure(est, s.sampler.burn_in, f"Loss traces at the {c.label}-gon, n={c.n}: "
                                          f"λ̂ = {est.llc:.2f} ± {est.llc_se:.2f}, acceptance {est.accept:.3f}"),
                             out / f"slt_traces.{fmt}"))
    post.to_csv(data_dir / "posterior.csv", index=False)
    crit = critical_sizes(table, s.posterior.prior_precision)
    full = "all (+ orbit, multiplicity)"
    files.append(save_figure(posterior_figure(post, {"n_cr 5→6 (all terms)": crit["n_cr_5_6"][full],
                                                     "n_cr 5+→6 (all terms)": crit["n_cr_5p_6"][full],
                                                     "n_cr 5→6 (prior term only)": crit["n_cr_5_6"]["prior"]}),
                             out / f"slt_posterior.{fmt}"))
    files.append(save_figure(llc_dynamics_figure(run, snaps), out / f"slt_dynamics.{fmt}"))
    numbers = {"kgon": {f"{r.label} n={r.n}": {"llc": _f(r.llc), "llc_se": _f(r.llc_se),
                                                "frac_below": _f(r.frac_below), "frac_discarded": _f(r.frac_discarded),
                                                "accept": _f(r.accept), "trusted": bool(r.trusted),
                                                "theory": _f(r.theory_llc)}
                        for r in table.itertuples()},
               "critical": crit,
               "posterior": {f"n={n}": {r.label: _f(r.fraction) for r in g.itertuples()} for n, g in post.groupby("n")},
               "calibration_usable": int(calib.usable.sum()),
               "diverged_chains": {"kgon": int(table.diverged.sum()), "dynamics": int(snaps["diverged"].sum()),
                                   "posterior": int(post["count"][post.label == bayes.DIVERGED].sum())},
               "dynamics": {"final_loss": _f(run.loss[-1]), "final_label": str(snaps["label"][-1]),
                            "final_llc": _f(snaps["llc"][-1]),
                            "labels": [str(x) for x in dict.fromkeys(snaps["label"])]}}
    write_json(data_dir / "numbers.json", {"settings": s.to_dict(), "numbers": numbers})
    return files, numbers, timings


@register("slt", (), "SLT testbed: k-gon LLCs vs n, calibration, free-energy n_cr, posterior phases, LLC dynamics",
          seconds=62)
def slt(ctx: Context):
    settings = load_settings(QUICK_PRESET if ctx.quick else None)
    files, numbers, _ = run_slt(settings, ctx.out, ctx.fmt, ctx.progress)
    return files, numbers
