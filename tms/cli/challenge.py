"""`tms challenge ...`: train, import, evaluate, diagnose and benchmark the challenge transformer.

A thin shell: every command calls an importable function of :mod:`tms.challenge` (or :mod:`tms.bench`).
"""

from __future__ import annotations

from pathlib import Path

from . import args


def register(sub) -> None:
    p = sub.add_parser("challenge", help="the mechanistic interpretability challenge #2 transformer",
                       description="Train, import, evaluate, diagnose and benchmark the JAX port of the "
                                   "challenge #2 transformer.")
    cs = p.add_subparsers(dest="challenge_command", required=True)

    t = cs.add_parser("train", help="train on the challenge split (progress bar); write weights + history CSV",
                      description="Full-batch AdamW on the 6,384 training pairs. Example: tms challenge train "
                                  "--epochs 1000 --out runs/challenge/model.npz")
    t.add_argument("--epochs", type=int, default=None, help="epochs (default: TrainConfig's)")
    t.add_argument("--lr", type=float, default=None, help="peak learning rate (default 1e-3)")
    t.add_argument("--weight-decay", type=float, default=None, help="AdamW weight decay (default 1.0)")
    t.add_argument("--warmup", type=int, default=None, help="linear warm-up epochs (default 10)")
    t.add_argument("--log-every", type=int, default=None, help="record metrics every k epochs (default 10)")
    t.add_argument("--checkpoint", default=None,
                   help="save the training state here after every compiled call; resume from it if it exists")
    t.add_argument("--seed", type=args.seed, default=0, help="initialisation seed (default 0)")
    t.add_argument("--out", default="runs/challenge/model.npz", help="weights file to write (.npz)")
    t.add_argument("--history", default=None, help="history CSV (default: next to --out, *_history.csv)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--overwrite", action="store_true", help="replace an existing weights file and history CSV")
    t.set_defaults(func=cmd_train)

    i = cs.add_parser("import", help="convert an original transformer_model.pt to our .npz (torch not needed)")
    i.add_argument("checkpoint", help="PyTorch zip checkpoint in the challenge's original layout")
    i.add_argument("out", help="weights file to write (.npz)")
    i.add_argument("--overwrite", action="store_true", help="replace an existing weights file")
    i.set_defaults(func=cmd_import)

    e = cs.add_parser("eval", help="accuracy on train/test/all and agreement with the original model's labels")
    e.add_argument("weights", nargs="?", default=None, help="weights .npz (default: the shipped model)")
    e.set_defaults(func=cmd_eval)

    d = cs.add_parser("diagnose", help="run every diagnostic on a weights file and write figures + summary")
    d.add_argument("weights", nargs="?", default=None,
                   help="weights .npz, or an original .pt checkpoint (default: the shipped model)")
    d.add_argument("--out-dir", default="figures/challenge", help="output folder (default figures/challenge)")
    d.add_argument("--alternative", default=None,
                   help="a second weights file diagnosed beside the first (its numbers become a column; default: "
                        "the shipped alternative model when the shipped model is diagnosed)")
    d.add_argument("--no-alternative", action="store_true", help="diagnose one model only")
    d.set_defaults(func=cmd_diagnose)

    tb = cs.add_parser("table", help="the comparison with the published numbers, from a summary.json",
                       description="Print the tables of a diagnosis (summary.json) beside the published numbers, "
                                   "or regenerate the marked blocks of markdown files from it. Example: tms "
                                   "challenge table figures/challenge/summary.json --write README.md "
                                   "docs/challenge.md")
    tb.add_argument("summary", nargs="?", default="figures/challenge/summary.json",
                    help="summary.json written by diagnose (default figures/challenge/summary.json)")
    tb.add_argument("--write", nargs="+", default=None, metavar="FILE",
                    help="markdown files whose generated blocks to rewrite")
    tb.set_defaults(func=cmd_table)

    b = cs.add_parser("bench", help="epochs/s of our JAX training vs PyTorch CPU, in one invocation")
    b.add_argument("--epochs", type=int, default=20, help="epochs per timed repeat (default 20)")
    b.add_argument("--repeats", type=int, default=3, help="timed rounds, interleaved; medians reported (default 3, at least 3)")
    b.add_argument("--no-torch", action="store_true", help="time only JAX")
    b.set_defaults(func=cmd_bench)


def _weights_or_shipped(path):
    from tms.challenge import weights as challenge_weights
    if path is not None:
        return Path(path)
    shipped = challenge_weights.shipped_weights_path()
    if shipped is None:
        raise SystemExit("no weights given and no shipped model found (train one: tms challenge train)")
    return shipped


def _refuse_existing(*paths, overwrite: bool) -> None:
    """Refuse (before any work) to replace an existing file unless ``--overwrite`` was given."""
    from ..errors import RefusedOverwriteError

    for path in paths:
        if Path(path).exists() and not overwrite:
            raise RefusedOverwriteError(f"{path} exists; choose another path or pass --overwrite to replace it")


def cmd_train(a) -> int:
    import jax

    from tms.challenge import model as challenge_model
    from tms.challenge import train as challenge_train
    from tms.challenge import weights as challenge_weights

    over = {k: v for k, v in dict(epochs=a.epochs, lr=a.lr, weight_decay=a.weight_decay, warmup=a.warmup,
                                  log_every=a.log_every).items() if v is not None}
    tcfg = challenge_train.TrainConfig(**over)
    out = Path(a.out)
    hist_path = Path(a.history) if a.history else out.with_name(out.stem + "_history.csv")
    _refuse_existing(out, hist_path, overwrite=a.overwrite)
    params, hist = challenge_train.train(challenge_model.Config(), tcfg, jax.random.key(a.seed),
                                         progress=not a.no_progress, checkpoint=a.checkpoint)
    last = hist.iloc[-1]
    meta = {"train_config": hist.attrs["train_config"], "seed": a.seed, "epochs": int(last.epoch),
            "train_acc": float(last.train_acc), "test_acc": float(last.test_acc), "wall_s": float(last.wall_s),
            "diverged": bool(hist.attrs["diverged"])}
    challenge_weights.save(out, params, challenge_model.Config(), meta=meta)
    hist_path.parent.mkdir(parents=True, exist_ok=True)
    hist.to_csv(hist_path, index=False)
    print(f"epoch {int(last.epoch)}: train loss {last.train_loss:.5f} acc {last.train_acc:.4f}; "
          f"test loss {last.test_loss:.5f} acc {last.test_acc:.4f}; {last.wall_s:.0f} s")
    if challenge_train.divergence_note(hist):
        print(challenge_train.divergence_note(hist))
    print(f"wrote {out} and {hist_path}")
    return 0


def cmd_import(a) -> int:
    from tms.challenge import weights as challenge_weights

    _refuse_existing(a.out, overwrite=a.overwrite)
    params = challenge_weights.import_original(a.checkpoint)
    challenge_weights.save(a.out, params, meta={"imported_from": Path(a.checkpoint).name})
    print(f"wrote {a.out}")
    return 0


def cmd_eval(a) -> int:
    from tms.challenge import train as challenge_train
    from tms.challenge import weights as challenge_weights
    path = _weights_or_shipped(a.weights)
    print(f"{path}:")
    for k, v in challenge_train.evaluate(challenge_weights.load_any(path)).items():
        print(f"  {k:>26}: {v:.4f}" if isinstance(v, float) else f"  {k:>26}: {v}")
    return 0


def cmd_diagnose(a) -> int:
    from tms.challenge import reproduce
    from tms.challenge import weights as challenge_weights
    from tms.challenge.diagnostics import report

    path = _weights_or_shipped(a.weights)
    alt = None if a.no_alternative else a.alternative
    if alt is None and a.weights is None and not a.no_alternative:
        alt = challenge_weights.shipped_weights_path(challenge_weights.ALTERNATIVE)
    if alt is not None and not Path(alt).is_file():
        raise SystemExit(f"--alternative: no such file {alt}")
    summary = reproduce.diagnose(path, a.out_dir, alternative=alt)
    print(f"wrote diagnostics of {path}" + (f" and of the alternative model {alt}" if alt else "")
          + f" to {a.out_dir} (summary.json, summary.md: beside the published numbers)")
    print(report.comparison_markdown(summary), end="")
    print()
    print(report.resampling_markdown(summary), end="")
    return 0


def cmd_table(a) -> int:
    import json

    from tms.challenge.diagnostics import report

    path = Path(a.summary)
    if not path.is_file():
        raise SystemExit(f"summary: no such file {path} (write one with tms challenge diagnose)")
    res = json.loads(path.read_text())
    if not a.write:
        print(report.summary_markdown(res), end="")
        return 0
    for f in a.write:
        found = report.update_markdown(f, res)
        if not found:
            raise SystemExit(f"--write: {f} has no generated-table markers ({report.markers('summary')[0]})")
        print(f"{f}: regenerated {', '.join(found)}")
    return 0


def cmd_bench(a) -> int:
    from tms.bench import challenge as bench

    argv = ["--epochs", str(a.epochs), "--repeats", str(a.repeats)] + (["--no-torch"] if a.no_torch else [])
    bench.main(argv)
    return 0
