"""The SLT testbed as an experiment (``tms reproduce slt``, ``tms llc run``): the k-gon λ̂ table against n, the
ε × γ calibration map, critical sample sizes from the free energy, posterior phases across n, and the training
dynamics with an LLC panel. Sizes come from :class:`tms.slt.settings.SLTSettings` (the defaults are the
reduced size ``reproduce all`` runs; ``tms llc run --preset slt_full`` runs the full one).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..plots.slt import calibration_figure, kgon_llc_figure, llc_dynamics_figure, posterior_figure, trace_figure
from ..runs.atomic import write_json
from ..slt import bayes, dynamics, kgon
from ..slt.settings import SLTSettings, load_settings
from ..slt.toy import THEORY_LLC, kgon_loss
from .registry import Context, register
from .save import save_figure

QUICK_PRESET = "slt_quick"


def _f(v):
    v = float("nan") if v is None else float(v)
    return round(v, 6) if np.isfinite(v) else None


def _say(msg: str, progress: bool) -> None:
    if progress:
        print(f"[slt] {msg}", flush=True)


def _stage(name, progress, timings):
    """Context-free timer: returns a function that records the stage's seconds when called."""
    t0 = time.perf_counter()
    _say(f"{name} ...", progress)

    def done():
        timings[name] = round(time.perf_counter() - t0, 2)
        _say(f"{name}: {timings[name]:.1f} s", progress)

    return done


def critical_sizes(table, delta_c_56: float = 0.0) -> dict:
    """Critical sample sizes from the lab's constants: ΔL from the exact k-gon losses; Δλ from theory (5 → 6:
    7 → 8.5) and from λ̂ at the largest n of ``table`` (the 5-gon's λ̂ is not measurable, so its theoretical 7
    is used; 4+ → 5 and 4++ → 5 need λ̂ of the 4-gon in the table); Δc from the standard normal prior and, if
    given, fitted from the posterior."""
    big = table[table.n == table.n.max()].set_index("label")
    out = {"delta_loss_5_6": _f(kgon_loss("6") - kgon_loss("5")), "delta_llc_5_6_theory": 1.5}
    out["n_cr_5_6_theory_no_c"] = _f(bayes.critical_n(kgon_loss("6") - kgon_loss("5"), 1.5))
    if "6" in big.index and _f(big.llc["6"]) is not None:
        d = float(big.llc["6"]) - THEORY_LLC["5"]
        out["delta_llc_5_6_measured"] = _f(d)
        out["n_cr_5_6_measured_no_c"] = _f(bayes.critical_n(kgon_loss("6") - kgon_loss("5"), d))
    dc_prior = bayes.prior_constant("6") - bayes.prior_constant("5")
    out["delta_c_5_6_prior"] = _f(dc_prior)
    out["n_cr_5_6_prior_c"] = _f(bayes.critical_n(kgon_loss("6") - kgon_loss("5"), 1.5, dc_prior))
    if np.isfinite(delta_c_56):
        out["delta_c_5_6_fitted"] = _f(delta_c_56)
        out["n_cr_5_6_with_c"] = _f(bayes.critical_n(kgon_loss("6") - kgon_loss("5"), 1.5, delta_c_56))
    for four in ("4+", "4++"):  # the 4+-gon is not a local minimum (λ̂ from the discard protocol, if any)
        if four in big.index and _f(big.llc[four]) is not None:
            key = four.replace("+", "p")
            d = THEORY_LLC["5"] - float(big.llc[four])
            dc = bayes.prior_constant("5") - bayes.prior_constant(four)
            out[f"delta_llc_{key}_5_measured"] = _f(d)
            out[f"delta_c_{key}_5_prior"] = _f(dc)
            out[f"n_cr_{key}_5_measured_prior_c"] = _f(bayes.critical_n(kgon_loss("5") - kgon_loss(four), d, dc))
    return out


def run_slt(settings: SLTSettings, out, fmt: str = "png", progress: bool = True):
    """Run every part of the testbed; write tables (CSV) to ``out/slt/`` and figures to ``out``.
    Returns ``(figure paths, numbers, timings)``."""
    out = Path(out)
    data_dir = out / "slt"
    data_dir.mkdir(parents=True, exist_ok=True)
    s, files, timings = settings, [], {}
    done = _stage("k-gon table", progress, timings)
    table = kgon.kgon_llc_table(s.kgon_labels, s.kgon_sizes, step_scale=s.step_scale, localization=s.localization,
                                config=s.kgon_config, seed=s.seed)
    table.to_csv(data_dir / "kgon_llc.csv", index=False)
    files.append(save_figure(kgon_llc_figure(table), out / f"slt_kgon.{fmt}"))
    done()
    done = _stage("calibration sweep", progress, timings)
    calib = kgon.calibration_sweep(s.calib_label, s.calib_n, s.calib_step_scales, s.calib_localizations,
                                   s.calib_config, seed=s.seed)
    calib.to_csv(data_dir / "calibration.csv", index=False)
    files.append(save_figure(calibration_figure(calib), out / f"slt_calibration.{fmt}"))
    est = kgon.point_estimate(s.calib_label, s.calib_n, step_scale=s.step_scale, localization=s.localization,
                              config=s.kgon_config, seed=s.seed)
    files.append(save_figure(trace_figure(est, s.burn_in, f"Loss traces at the {s.calib_label}-gon, n={s.calib_n}: "
                                          f"λ̂ = {est.llc:.2f} ± {est.llc_se:.2f}, acceptance {est.accept:.3f}"),
                             out / f"slt_traces.{fmt}"))
    done()
    done = _stage("posterior across n", progress, timings)
    post = bayes.posterior_phases(s.posterior_sizes, chains=s.posterior_chains, steps=s.posterior_steps,
                                  step_scale=s.posterior_step_scale, prior_precision=s.prior_precision, seed=s.seed)
    post.to_csv(data_dir / "posterior.csv", index=False)
    dc = bayes.fit_delta_c(post, "5", "6", kgon_loss("6") - kgon_loss("5"), 1.5)
    crit = critical_sizes(table, dc)
    files.append(save_figure(posterior_figure(post, {"n_cr 5→6 (prior Δc)": crit["n_cr_5_6_prior_c"],
                                                     "n_cr 5→6 (fitted Δc)": crit.get("n_cr_5_6_with_c")}),
                             out / f"slt_posterior.{fmt}"))
    done()
    done = _stage("SGD dynamics and snapshot LLCs", progress, timings)
    run = dynamics.sgd_run(s.sgd_n, s.sgd_batch, s.sgd_lr, s.sgd_epochs, seed=s.seed)
    snaps = dynamics.snapshot_llcs(run, dynamics.snapshot_epochs(s.sgd_epochs, s.sgd_snapshots), seed=s.seed,
                                   step_scale=s.step_scale, localization=s.sgd_localization, config=s.sgd_config)
    files.append(save_figure(llc_dynamics_figure(run, snaps), out / f"slt_dynamics.{fmt}"))
    done()
    numbers = {"kgon": {f"{r.label} n={r.n}": {"llc": _f(r.llc), "llc_se": _f(r.llc_se),
                                                "frac_discarded": _f(r.frac_discarded), "theory": _f(r.theory_llc)}
                        for r in table.itertuples()},
               "critical": crit,
               "posterior": {f"n={n}": {r.label: _f(r.fraction) for r in g.itertuples()} for n, g in post.groupby("n")},
               "calibration_usable": int(calib.usable.sum()),
               "dynamics": {"final_loss": _f(run.loss[-1]), "final_label": str(snaps["label"][-1]),
                            "final_llc": _f(snaps["llc"][-1]),
                            "labels": [str(x) for x in dict.fromkeys(snaps["label"])]}}
    write_json(data_dir / "numbers.json", {"settings": s.to_dict(), "numbers": numbers})
    return files, numbers, timings


@register("slt", (), "SLT testbed: k-gon LLCs vs n, calibration, free-energy n_cr, posterior phases, LLC dynamics")
def slt(ctx: Context):
    settings = load_settings(QUICK_PRESET if ctx.quick else None)
    files, numbers, _ = run_slt(settings, ctx.out, ctx.fmt, ctx.progress)
    return files, numbers
