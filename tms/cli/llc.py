"""``tms llc ...``: local learning coefficients by SGLD (see docs/slt.md).

    tms llc kgon        λ̂ at the k-gon critical points against sample size (table)
    tms llc calibrate   the ε × γ calibration sweep (table + figure)
    tms llc ncr         critical sample sizes from the free energy n L + λ log n + c
    tms llc posterior   posterior phases across n (SGLD at β = 1, k-gon labels)
    tms llc challenge   λ̂ of the challenge #2 transformer at its trained weights
    tms llc run         every stage, figures and tables (a preset: slt_quick, slt_full, or a .toml file)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

from ..errors import TmsError
from ..slt import settings as st
from . import args


def _add_record(p, cls) -> None:
    """One option per field of the record ``cls`` (its name, type and help; default None: the record's own)."""
    for name, want, default, help_ in st.record_fields(cls):
        kw = {"dest": f"{cls.__name__}.{name}", "default": None, "help": f"{help_} (default {default})"}
        if typing.get_origin(want) is tuple:
            kw.update(nargs="+", type=typing.get_args(want)[0])
        else:
            kw["type"] = want
        p.add_argument(f"--{name.replace('_', '-')}", **kw)


def _record(a, cls):
    """The record ``cls`` with the fields given on the command line (the rest keep its defaults)."""
    given = {n: getattr(a, f"{cls.__name__}.{n}") for n, *_ in st.record_fields(cls)}
    return st.record_from_dict(cls, {k: v for k, v in given.items() if v is not None}, "command line")


def _seed_arg(p) -> None:
    seed = next(f for f in dataclasses.fields(st.SLTSettings) if f.name == "seed")
    p.add_argument("--seed", type=args.seed, default=seed.default, help=f"{seed.metadata['help']} (default %(default)s)")


def _report_diverged(count: int, total: int | None, what: str, option: str) -> None:
    """Print the DIVERGED line (nothing when no chain diverged), as ``tms train`` does for its models."""
    from ..slt.llc import diverged_note

    note = diverged_note(count, total, what, f"lower {option}")
    if note:
        print(note)


def cmd_kgon(a) -> int:
    from ..slt.kgon import kgon_llc_table

    k = _record(a, st.KgonSettings)
    df = kgon_llc_table(k.labels, k.sizes, sampler=_record(a, st.SamplerSettings), seed=a.seed,
                        progress=lambda i, n: print(f"n {i}/{n} done", file=sys.stderr))
    cols = ["n", "label", "loss", "llc", "llc_se", "theory_llc", "frac_below", "frac_discarded", "accept", "diverged"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    _report_diverged(int((df.diverged > 0).sum()), len(df), "rows", "--step-scale")
    if a.csv:
        df.to_csv(a.csv, index=False)
        print(f"wrote {a.csv}")
    return 0


def cmd_calibrate(a) -> int:
    from ..io import save_figure
    from ..plots.slt import calibration_figure
    from ..slt.kgon import calibration_sweep

    df = calibration_sweep(_record(a, st.CalibrationSettings), seed=a.seed)
    cols = ["step_scale", "localization", "llc", "llc_se", "accept", "frac_below", "diverged", "drift", "usable"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    _report_diverged(int((df.diverged > 0).sum()), len(df), "cells", "the --step-scales (they are marked unusable)")
    print(f"wrote {save_figure(calibration_figure(df), Path(a.out))}")
    return 0


def cmd_ncr(a) -> int:
    from ..slt import laplace
    from ..slt.toy import THEORY_LLC

    lo, hi = a.phases
    llc = None
    if a.delta_llc is not None:
        llc = {lo: 0.0, hi: a.delta_llc}
    elif lo not in THEORY_LLC or hi not in THEORY_LLC:
        raise TmsError(f"no theoretical λ for {lo} or {hi}; pass --delta-llc")
    terms = laplace.terms_table((lo, hi))
    cols = ["label", "loss", "llc", "rank", "negative_eigs", "half_logdet", "log2pi_term", "prior_term",
            "orbit_term", "multiplicity_term"]
    print("Terms of F_n = n L + λ log n + ½ log det′H − (r/2) log 2π − log φ(w*) − log ℓ − log M "
          "(prior N(0, σ² I), σ² = 1 here):")
    print(terms[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    table = laplace.ncr_table(lo, hi, llc=llc)
    print(f"\nn_cr ({lo} -> {hi}) under each choice of terms and prior variance σ²:")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if (lo, hi) == ("5", "6"):
        print("\nThe published n_cr ≈ 601 is the row 'prior', σ² = 1: the prior term alone, the other O(1) terms "
              "left out. n_cr = 1: the second phase is preferred at every n.")
    return 0


def cmd_posterior(a) -> int:
    from ..slt.bayes import DIVERGED, posterior_phases

    df = posterior_phases(_record(a, st.PosteriorSettings), seed=a.seed)
    print(df.pivot_table(index="n", columns="label", values="fraction", fill_value=0.0).to_string(
        float_format=lambda v: f"{v:.2f}"))
    bad = df[df.label == DIVERGED]
    _report_diverged(int(bad["count"].sum()), int(df.groupby("n").chains.first().sum()), "chains", "--step-scale")
    return 0


def cmd_challenge(a) -> int:
    import jax

    from ..challenge import train as ctrain
    from ..challenge import weights
    from ..slt.llc import estimate_llc

    params, _ = weights.load(weights.shipped_weights_path())
    params = jax.tree.map(jax.numpy.asarray, params)
    batch, _ = ctrain.challenge_batches()
    c = _record(a, st.ChallengeLLCSettings)
    est = estimate_llc(ctrain.loss_fn, params, batch, step_size=c.step_size, localization=c.localization,
                       config=c.config, key=jax.random.PRNGKey(c.seed))
    for k, v in est.summary().items():
        print(f"{k:15s} {v}")
    _report_diverged(int(est.diverged.sum()), len(est.diverged), "chains", "--step-size")
    return 0


def cmd_run(a) -> int:
    from ..experiments.slt import run_slt
    files, numbers, timings = run_slt(st.load_settings(a.preset), a.out, progress=True)
    for f in files:
        print(f"wrote {f}")
    for stage, count in numbers["diverged_chains"].items():  # the calibration grid's own are marked unusable
        _report_diverged(count, None, f"{stage} chains", "the step size (step_scale in the settings)")
    print(f"tables and numbers in {Path(a.out) / 'slt'}; seconds per stage: {timings}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("llc", help="local learning coefficients by SGLD (k-gons, calibration, n_cr, posterior)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_subparsers(dest="llc_command", required=True)
    k = s.add_parser("kgon", help="λ̂ at the k-gon critical points against sample size")
    _add_record(k, st.KgonSettings)
    _add_record(k, st.SamplerSettings)
    _seed_arg(k)
    k.add_argument("--csv", help="also write the table to this CSV file")
    k.set_defaults(func=cmd_kgon)
    c = s.add_parser("calibrate", help="λ̂ over an ε x γ grid with a figure of the usable region")
    _add_record(c, st.CalibrationSettings)
    _seed_arg(c)
    c.add_argument("--out", default="calibration.png", help="figure file (default %(default)s)")
    c.set_defaults(func=cmd_calibrate)
    n = s.add_parser("ncr", help="free-energy terms and critical sample sizes between two k-gon phases")
    n.add_argument("--phases", nargs=2, default=["5", "6"], metavar=("FROM", "TO"), help="default 5 6")
    n.add_argument("--delta-llc", type=float, help="Δλ (default: the theoretical values)")
    n.set_defaults(func=cmd_ncr)
    q = s.add_parser("posterior", help="posterior phases across n (SGLD at β = 1 from W = 0)")
    _add_record(q, st.PosteriorSettings)
    _seed_arg(q)
    q.set_defaults(func=cmd_posterior)
    t = s.add_parser("challenge", help="λ̂ of the challenge #2 transformer at its shipped trained weights")
    _add_record(t, st.ChallengeLLCSettings)
    t.set_defaults(func=cmd_challenge)
    r = s.add_parser("run", help="every stage: tables, numbers.json and figures")
    r.add_argument("--preset", default=None, help=f"shipped preset ({', '.join(st.presets())}) or a .toml file; "
                                                  "default: the size `tms reproduce slt` runs")
    r.add_argument("--out", default="slt-out", help="output folder (default %(default)s)")
    r.set_defaults(func=cmd_run)
