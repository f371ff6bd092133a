"""CLI commands for sweeps, plots and reproduction (registered by :mod:`tms.cli.main`)."""

from __future__ import annotations

import time

from ..io import FIGURE_FORMATS
from ..runs.backends import BACKENDS


def register(sub):
    p = sub.add_parser("sweep", help="run or inspect a sweep file (TOML)")
    ss = p.add_subparsers(dest="sweep_command", required=True)
    _add_run(ss)
    i = ss.add_parser("init", help="copy a shipped sweep file out for editing",
                      description="Copy a shipped sweep (tms sweep list) to DEST (default ./NAME.toml).")
    i.add_argument("name", help="shipped sweep name (tms sweep list)")
    i.add_argument("dest", nargs="?", default=None, help="file or folder to write (default ./NAME.toml)")
    i.add_argument("--overwrite", action="store_true", help="replace an existing file")
    i.set_defaults(func=cmd_sweep_init)
    ls = ss.add_parser("list", help="list the shipped sweep files")
    ls.set_defaults(func=cmd_sweep_list)
    s = ss.add_parser("show", help="print a summary table of a results folder")
    s.add_argument("dir")
    s.set_defaults(func=cmd_sweep_show)

    p = sub.add_parser("plot", help="draw the figures that fit a results folder")
    p.add_argument("dir")
    p.add_argument("--out", default=None, help="folder for the figures (default: DIR/figures)")
    p.add_argument("--format", default=FIGURE_FORMATS[0], choices=FIGURE_FORMATS)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("reproduce", help="run shipped sweeps and draw the paper's figures into figures/",
                       description="tms reproduce NAME | all | list: run the shipped sweeps of a named experiment "
                                   "and draw its figures (OUT/figures) from its results (OUT/runs).")
    p.add_argument("name", help="which experiment (or 'all'; 'list' prints them)")
    p.add_argument("--out", default=".", help="folder for figures/ and runs/ (default: the current folder)")
    p.add_argument("--figures", default=None, help="output folder for figures (default OUT/figures)")
    p.add_argument("--runs", default=None, help="folder for the sweep results (default OUT/runs)")
    p.add_argument("--format", default=FIGURE_FORMATS[0], choices=FIGURE_FORMATS)
    p.add_argument("--quick", action="store_true", help="reduced cost (fewer steps/cells), for smoke tests")
    p.add_argument("--shipped", action="store_true",
                   help="challenge: diagnose the shipped trained model instead of training afresh "
                        "('all' always uses the shipped model)")
    p.set_defaults(func=cmd_reproduce)


def _add_run(ss):
    r = ss.add_parser("run", help="run a sweep (resumes if interrupted)",
                      description="Expand a sweep file into its grid and train it in compiled chunks, with a "
                                  "progress bar. Launched again with the same command, it skips finished chunks.")
    r.add_argument("spec", help="sweep file (e.g. my_sweep.toml) or the name of a shipped sweep (e.g. intro)")
    r.add_argument("--out", required=True, help="results folder")
    r.add_argument("--dry-run", action="store_true", help="print cells, chunks and an estimated time; train nothing")
    r.add_argument("--overwrite", action="store_true", help="discard a different sweep already in --out")
    r.add_argument("--devices", type=int, default=1,
                   help="shard each chunk's cells over this many local JAX devices (default 1; local backend)")
    r.add_argument("--concurrent", type=int, default=None,
                   help="local: chunks trained at once, each on its own JAX device (default: one per device; the "
                        "tms command makes a CPU device per core, up to 8; 1: one chunk after another). The "
                        "arrays are the same either way")
    r.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0],
                   help="who trains the chunks: local (this process) or ray (a Ray cluster; pip install "
                        "'tms[ray]'); the results folder is the same either way (default local)")
    r.add_argument("--address", default=None,
                   help="ray: the cluster: 'auto' (the one this machine joined with ray start), HOST:PORT or "
                        "ray://HOST:PORT of its head (default: $RAY_ADDRESS if set, else a new local cluster with this "
                        "machine's cores)")
    r.add_argument("--workers", type=int, default=None,
                   help="ray: worker processes, each compiling once and training one chunk at a time "
                        "(default: as many as the cluster's CPUs (or GPUs) allow)")
    r.add_argument("--cpus-per-worker", type=float, default=1.0, help="ray: CPUs each worker requests (default 1)")
    r.add_argument("--gpus-per-worker", type=float, default=0.0,
                   help="ray: GPUs each worker requests (default 0; fractions share a GPU)")
    r.set_defaults(func=cmd_sweep_run)


def _spec(name_or_path):
    from pathlib import Path

    from ..experiments.registry import shipped_spec, shipped_sweeps
    from ..runs.spec import load_spec

    if not Path(name_or_path).exists() and name_or_path in shipped_sweeps():
        return shipped_spec(name_or_path)
    return load_spec(name_or_path)


def cmd_sweep_run(a) -> int:
    from ..runs.backends import make_backend
    from ..runs.store import run_sweep

    spec = _spec(a.spec)
    backend = make_backend(a.backend, devices=a.devices, address=a.address, workers=a.workers,
                           cpus_per_worker=a.cpus_per_worker, gpus_per_worker=a.gpus_per_worker,
                           concurrent=a.concurrent)
    if a.dry_run:
        print(f"{spec.name}: {spec.summary()}; estimated {spec.estimate_seconds():.0f} s on a 2-core CPU")
        return 0
    t0 = time.perf_counter()
    with backend:  # connects first: an unreachable cluster fails before anything is written
        res = run_sweep(spec, a.out, overwrite=a.overwrite, backend=backend)
    for line in res.summary_lines()[:50]:
        print(line)
    print(f"wrote {a.out} in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_sweep_init(a) -> int:
    from ..experiments.registry import init_sweep

    print(f"wrote {init_sweep(a.name, a.dest, overwrite=a.overwrite)}")
    return 0


def cmd_sweep_list(a) -> int:
    from ..experiments.registry import shipped_spec, shipped_sweeps

    for name in shipped_sweeps():
        print(f"{name:26s} {shipped_spec(name).description}")
    return 0


def cmd_sweep_show(a) -> int:
    from ..runs.store import show

    print(show(a.dir))
    return 0


def cmd_plot(a) -> int:
    from ..experiments.reproduce import plot_folder

    for path in plot_folder(a.dir, a.out, fmt=a.format):
        print(f"wrote {path}")
    return 0


def cmd_reproduce(a) -> int:
    from ..experiments.reproduce import reproduce

    reproduce(a.name, out=a.out, figures=a.figures, runs=a.runs, fmt=a.format, quick=a.quick, shipped=a.shipped)
    return 0
