"""``tms llc ...``: local learning coefficients by SGLD (see docs/slt.md).

    tms llc kgon        λ̂ at the k-gon critical points against sample size (table)
    tms llc calibrate   the ε × γ calibration sweep (table + figure)
    tms llc ncr         critical sample sizes from the free energy n L + λ log n + c
    tms llc posterior   posterior phases across n (SGLD at β = 1, k-gon labels)
    tms llc challenge   λ̂ of the challenge #2 transformer at its trained weights
    tms llc run         every stage, figures and tables (a preset: slt_quick, slt_full, or a .toml file)
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import TmsError
from ..slt.settings import SLTSettings, presets
from . import args

D = SLTSettings()


def _sgld_args(p, draws=D.draws, chains=D.chains):
    p.add_argument("--chains", type=int, default=chains, help=f"SGLD chains per point (default {chains})")
    p.add_argument("--draws", type=int, default=draws, help=f"draws kept per chain (default {draws})")
    p.add_argument("--burn-in", type=int, default=None, help="burn-in steps (default: half the draws)")
    p.add_argument("--step-scale", type=float, default=D.step_scale,
                   help=f"step size as ε·nβ (default {D.step_scale})")
    p.add_argument("--localization", type=float, default=D.localization, help=f"γ (default {D.localization})")
    p.add_argument("--seed", type=args.seed, default=D.seed, help=f"root seed (default {D.seed})")


def _config(a):
    from ..slt.sampler import SGLDConfig

    return SGLDConfig(chains=a.chains, draws=a.draws, burn_in=a.draws // 2 if a.burn_in is None else a.burn_in)


def cmd_kgon(a) -> int:
    from ..slt.kgon import kgon_llc_table

    df = kgon_llc_table(a.labels, a.sizes, step_scale=a.step_scale, localization=a.localization,
                        config=_config(a), seed=a.seed, progress=lambda i, k: print(f"n {i}/{k} done", file=sys.stderr))
    cols = ["n", "label", "loss", "llc", "llc_se", "theory_llc", "frac_below", "frac_discarded", "accept"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if a.csv:
        df.to_csv(a.csv, index=False)
        print(f"wrote {a.csv}")
    return 0


def cmd_calibrate(a) -> int:
    from ..io import save_figure
    from ..plots.slt import calibration_figure
    from ..slt.kgon import calibration_sweep

    df = calibration_sweep(a.label, a.n, a.step_scales, a.localizations, _config(a), seed=a.seed)
    cols = ["step_scale", "localization", "llc", "llc_se", "accept", "frac_below", "drift", "usable"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
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
    from ..slt.bayes import posterior_phases

    df = posterior_phases(a.sizes, chains=a.chains, steps=a.steps, step_scale=a.step_scale,
                          prior_precision=a.prior_precision, seed=a.seed)
    print(df.pivot_table(index="n", columns="label", values="fraction", fill_value=0.0).to_string(
        float_format=lambda v: f"{v:.2f}"))
    return 0


def cmd_challenge(a) -> int:
    import jax

    from ..challenge import train as ctrain
    from ..challenge import weights
    from ..slt.llc import estimate_llc
    from ..slt.sampler import SGLDConfig

    params, _ = weights.load(weights.shipped_weights_path())
    params = jax.tree.map(jax.numpy.asarray, params)
    batch, _ = ctrain.challenge_batches()
    cfg = SGLDConfig(chains=a.chains, draws=a.draws, burn_in=a.draws // 2 if a.burn_in is None else a.burn_in,
                     batch_size=a.batch_size or None)
    est = estimate_llc(ctrain.loss_fn, params, batch, step_size=a.step_size, localization=a.localization,
                       config=cfg, key=jax.random.PRNGKey(a.seed))
    for k, v in est.summary().items():
        print(f"{k:15s} {v}")
    return 0


def cmd_run(a) -> int:
    from ..experiments.slt import run_slt
    from ..slt.settings import load_settings

    files, _, timings = run_slt(load_settings(a.preset), a.out, progress=True)
    for f in files:
        print(f"wrote {f}")
    print(f"tables and numbers in {Path(a.out) / 'slt'}; seconds per stage: {timings}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("llc", help="local learning coefficients by SGLD (k-gons, calibration, n_cr, posterior)",
                       description=__doc__, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    s = p.add_subparsers(dest="llc_command", required=True)
    k = s.add_parser("kgon", help="λ̂ at the k-gon critical points against sample size")
    k.add_argument("--labels", nargs="+", default=list(D.kgon_labels), help="critical points (default %(default)s)")
    k.add_argument("--sizes", type=int, nargs="+", default=list(D.kgon_sizes), help="sample sizes n")
    k.add_argument("--csv", help="also write the table to this CSV file")
    _sgld_args(k)
    k.set_defaults(func=cmd_kgon)
    c = s.add_parser("calibrate", help="λ̂ over an ε x γ grid with a figure of the usable region")
    c.add_argument("--label", default=D.calib_label, help=f"critical point (default {D.calib_label})")
    c.add_argument("--n", type=int, default=D.calib_n, help=f"sample size (default {D.calib_n})")
    c.add_argument("--step-scales", type=float, nargs="+", default=list(D.calib_step_scales), help="ε·nβ values")
    c.add_argument("--localizations", type=float, nargs="+", default=list(D.calib_localizations), help="γ values")
    c.add_argument("--out", default="calibration.png", help="figure file (default %(default)s)")
    _sgld_args(c, draws=D.calib_draws, chains=max(2, D.chains // 2))
    c.set_defaults(func=cmd_calibrate)
    n = s.add_parser("ncr", help="free-energy terms and critical sample sizes between two k-gon phases")
    n.add_argument("--phases", nargs=2, default=["5", "6"], metavar=("FROM", "TO"), help="default 5 6")
    n.add_argument("--delta-llc", type=float, help="Δλ (default: the theoretical values)")
    n.set_defaults(func=cmd_ncr)
    q = s.add_parser("posterior", help="posterior phases across n (SGLD at β = 1 from W = 0)")
    q.add_argument("--sizes", type=int, nargs="+", default=list(D.posterior_sizes), help="sample sizes n")
    q.add_argument("--chains", type=int, default=D.posterior_chains)
    q.add_argument("--steps", type=int, default=D.posterior_steps)
    q.add_argument("--step-scale", type=float, default=D.posterior_step_scale, help="ε·n")
    q.add_argument("--prior-precision", type=float, default=D.prior_precision)
    q.add_argument("--seed", type=args.seed, default=D.seed)
    q.set_defaults(func=cmd_posterior)
    t = s.add_parser("challenge", help="λ̂ of the challenge #2 transformer at its shipped trained weights")
    _sgld_args(t, draws=500, chains=4)
    t.add_argument("--step-size", type=float, default=1e-5, help="ε (default %(default)s)")
    t.add_argument("--batch-size", type=int, default=0, help="minibatch size (default 0: full batch, exact MALA)")
    t.set_defaults(func=cmd_challenge, localization=100.0)
    r = s.add_parser("run", help="every stage: tables, numbers.json and figures")
    r.add_argument("--preset", default=None, help=f"shipped preset ({', '.join(presets())}) or a .toml file; "
                                                  "default: the size `tms reproduce slt` runs")
    r.add_argument("--out", default="slt-out", help="output folder (default %(default)s)")
    r.set_defaults(func=cmd_run)
