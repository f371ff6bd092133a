"""The ``tms`` command: a thin shell over importable functions.

    tms train ...            train one grid and write a results folder
    tms sweep run|show ...   sweep files (TOML) with chunks, resume and progress
    tms plot DIR             figures that fit a results folder
    tms reproduce NAME|all   run a shipped sweep and draw its figures into figures/
    tms challenge ...        the challenge #2 transformer
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def _add_train(sub):
    p = sub.add_parser("train", help="train a sparsity x importance x lr x seed grid and save the results",
                       description="Train toy models ReLU(W^T W x + b) on a grid and write a results folder "
                                   "(config.json, arrays.npz, table.csv). Example: tms train --n-features 5 "
                                   "--n-hidden 2 --sparsity 0 0.7 0.9 --importance-decay 0.9 --out runs/intro")
    p.add_argument("--n-features", "-n", type=int, default=5, help="number of features n (default 5)")
    p.add_argument("--n-hidden", "-m", type=int, default=2, help="hidden dimensions m (default 2)")
    p.add_argument("--kind", choices=["relu", "linear"], default="relu", help="model: ReLU(W^T W x + b) or linear")
    p.add_argument("--no-bias", action="store_true", help="train without the output bias b")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sparsity", type=float, nargs="+", help="sparsity values S in [0, 1): P(feature = 0)")
    g.add_argument("--density", type=float, nargs="+", help="density values 1 - S in (0, 1]")
    gi = p.add_mutually_exclusive_group()
    gi.add_argument("--importance-decay", type=float, nargs="+",
                    help="geometric importance I_i = r^i, one setting per value (default: all 1)")
    gi.add_argument("--extra-importance", type=float, nargs="+",
                    help="all features importance 1 except the last, with this relative importance")
    gi.add_argument("--importance", type=float, nargs="+", help="an explicit importance vector (n values)")
    p.add_argument("--lr", type=float, nargs="+", default=[1e-3], help="learning rate(s) (default 1e-3)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (default 0)")
    p.add_argument("--steps", type=int, default=10_000, help="training steps (default 10000)")
    p.add_argument("--batch-size", type=int, default=1024, help="batch size (default 1024)")
    p.add_argument("--restarts", type=int, default=1, help="restarts per cell, best kept (default 1)")
    p.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (default 0.01, as PyTorch)")
    p.add_argument("--schedule", choices=["constant", "linear", "cosine", "step"], default="constant")
    p.add_argument("--log-every", type=int, default=0, help="record the loss every k steps (0: off)")
    p.add_argument("--snapshots", type=int, default=0, help="record W, b at this many log-spaced steps (0: off)")
    p.add_argument("--chunk-size", type=int, default=None, help="cells per compiled chunk (default: all)")
    p.add_argument("--out", required=True, help="results folder to write")
    p.set_defaults(func=cmd_train)


def cmd_train(a) -> int:
    from .results import train_grid
    from .train import StaticConfig
    from . import data as tdata

    static = StaticConfig(n_features=a.n_features, n_hidden=a.n_hidden, kind=a.kind, bias=not a.no_bias,
                          batch_size=a.batch_size, steps=a.steps, optimizer=a.optimizer, schedule=a.schedule,
                          restarts=a.restarts, log_every=a.log_every, n_snapshots=a.snapshots)
    n = a.n_features
    params = None
    if a.importance_decay:
        importance = np.stack([tdata.importance_geometric(n, r) for r in a.importance_decay])
        params = {"importance_decay": a.importance_decay}
    elif a.extra_importance:
        importance = np.stack([tdata.importance_extra(n, r) for r in a.extra_importance])
        params = {"extra_importance": a.extra_importance}
    elif a.importance:
        importance = np.asarray(a.importance)
    else:
        importance = np.ones(n)
    sparsity = a.sparsity if a.sparsity is not None else (None if a.density is not None else [0.0])
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
    sub = p.add_subparsers(dest="command", required=True)
    _add_train(sub)
    import importlib
    import importlib.util

    for module in ("tms.sweep_cli", "tms.challenge.cli"):
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module).register(sub)
    return p


def main(argv=None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    try:
        return a.func(a) or 0
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"tms {a.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
