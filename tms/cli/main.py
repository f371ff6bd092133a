"""The ``tms`` command: a thin shell over importable functions.

    tms train ...            train one grid and write a results folder
    tms sweep run|show ...   sweep files (TOML) with chunks, resume and progress
    tms plot DIR             figures that fit a results folder
    tms reproduce NAME|all   run a shipped sweep and draw its figures into figures/
    tms challenge ...        the challenge #2 transformer
    tms llc ...              local learning coefficients by SGLD (the SLT testbed)
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

import numpy as np

from ..engine.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, StaticConfig
from ..engine.data import IMPORTANCE_KINDS
from ..engine.kinds import get_kind, kind_names
from ..engine.optim import OPTIMIZERS, SCHEDULES
from ..errors import TmsError
from ..runs.backends import CHUNK_THREAD, use_cpu_cores
from . import args, challenge, llc, sweep


def _add_train(sub):
    d = StaticConfig()
    p = sub.add_parser("train", help="train a sparsity x importance x lr x seed grid and save the results",
                       description="Train toy models ReLU(W^T W x + b) on a grid and write a results folder "
                                   "(config.json, arrays.npz, table.csv). Example: tms train --n-features 5 "
                                   "--n-hidden 2 --sparsity 0 0.7 0.9 --importance-decay 0.9 --out runs/intro")
    p.add_argument("--n-features", "-n", type=int, default=d.n_features,
                   help=f"number of features n (default {d.n_features})")
    p.add_argument("--n-hidden", "-m", type=int, default=d.n_hidden, help=f"hidden dimensions m (default {d.n_hidden})")
    p.add_argument("--kind", choices=kind_names(), default=d.kind,
                   help="model kind: " + "; ".join(f"{k}: {get_kind(k).summary}" for k in kind_names()))
    p.add_argument("--no-bias", action="store_true", help="train without the output bias b")
    p.add_argument("--init-scale", type=float, default=d.init_scale,
                   help="multiply the initial weights (default 1: Xavier for one model; docs/sweeps.md)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sparsity", type=float, nargs="+", help="sparsity values S in [0, 1): P(feature = 0)")
    g.add_argument("--density", type=float, nargs="+", help="density values 1 - S in (0, 1]")
    gi = p.add_mutually_exclusive_group()
    for kind, entry in IMPORTANCE_KINDS.items():
        gi.add_argument(entry.flag, dest=f"importance_{kind}", type=float, nargs="+", metavar="VALUE",
                        help=entry.help)
    gi.add_argument("--importance", type=float, nargs="+", help="an explicit importance vector (n values)")
    p.add_argument("--lr", type=float, nargs="+", default=[DEFAULT_LR], help=f"learning rate(s) (default {DEFAULT_LR})")
    p.add_argument("--seeds", type=args.seed, nargs="+", default=[0], help="seeds (default 0)")
    p.add_argument("--steps", type=int, default=d.steps, help=f"training steps (default {d.steps})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"batch size (default {d.batch_size})")
    p.add_argument("--restarts", type=int, default=d.restarts, help=f"restarts per cell, best kept (default {d.restarts})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    p.add_argument("--weight-decay", type=float, default=DEFAULT_WEIGHT_DECAY,
                   help=f"AdamW weight decay (default {DEFAULT_WEIGHT_DECAY}, as PyTorch)")
    p.add_argument("--schedule", choices=tuple(SCHEDULES), default=d.schedule)
    p.add_argument("--log-every", type=int, default=d.log_every, help="record the loss every k steps (0: off)")
    p.add_argument("--snapshots", type=int, default=d.n_snapshots,
                   help="record W, b at this many log-spaced steps (0: off)")
    p.add_argument("--chunk-size", type=int, default=None, help="cells per compiled chunk (default: all)")
    p.add_argument("--out", required=True, help="results folder to write (new, empty, or tms results with "
                                                "--overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the tms results already in --out (only the files tms wrote are removed)")
    p.set_defaults(func=cmd_train)


def cmd_train(a) -> int:
    from ..engine.data import importance_settings
    from ..runs.ownership import claim
    from ..runs.pipeline import train_grid

    static = StaticConfig(n_features=a.n_features, n_hidden=a.n_hidden, kind=a.kind, bias=not a.no_bias,
                          batch_size=a.batch_size, steps=a.steps, optimizer=a.optimizer, schedule=a.schedule,
                          restarts=a.restarts, log_every=a.log_every, n_snapshots=a.snapshots,
                          init_scale=a.init_scale)
    importance, params = np.ones(a.n_features), None
    for kind in IMPORTANCE_KINDS:
        values = getattr(a, f"importance_{kind}")
        if values:
            importance, params = importance_settings(kind, values, a.n_features)
    if a.importance:
        importance = np.asarray(a.importance)
    sparsity = a.sparsity if a.sparsity is not None else (None if a.density is not None else [0.0])
    claim(a.out, "results", overwrite=a.overwrite)  # refused before anything trains
    res = train_grid(static, sparsity=sparsity, density=a.density, importance=importance, lr=a.lr,
                     seeds=a.seeds, weight_decay=a.weight_decay, importance_params=params,
                     chunk_size=a.chunk_size)
    res.save(a.out)
    for line in res.summary_lines():
        print(line)
    print(f"wrote {a.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tms", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of every error (by default a bad input or file is one line: "
                        "docs/errors.md lists them)")
    sub = p.add_subparsers(dest="command", required=True)
    _add_train(sub)
    sweep.register(sub)
    challenge.register(sub)
    llc.register(sub)
    return p


def user_error(e: BaseException) -> bool:
    """Whether ``e`` is the user's to fix (one line, exit 2) rather than a bug (a traceback): every
    :class:`~tms.errors.TmsError`, and an operating-system error about a named path (no such file, not a
    folder, permission denied, disk full)."""
    return isinstance(e, TmsError) or (isinstance(e, OSError) and e.filename is not None)


def main(argv=None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    use_cpu_cores()  # a JAX CPU device per core, so sweeps train chunks side by side (tms.runs.backends)
    try:
        return a.func(a) or 0
    except BrokenPipeError:  # e.g. `tms sweep list | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:  # Ctrl-C: finished chunks are on disk already (each written when it finished)
        print(f"tms {a.command}: interrupted; what had finished is kept (the same command resumes)", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        if any(t.name == CHUNK_THREAD and t.is_alive() for t in threading.enumerate()):
            os._exit(130)  # a chunk training beside it cannot be stopped: leave now rather than wait for it
        return 130
    except Exception as e:
        if a.debug or not user_error(e):
            raise  # a bug: the traceback is what to report
        print(f"tms {a.command}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
